package rpc

import (
	"context"
	"errors"
	"strings"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/service/routing"
	"github.com/tollgate-dev/tollgate/service/store"
)

var routeStrategies = map[tollgatev1.RouteStrategy]routing.Strategy{
	tollgatev1.RouteStrategy_ROUTE_STRATEGY_FALLBACK:   routing.StrategyFallback,
	tollgatev1.RouteStrategy_ROUTE_STRATEGY_WEIGHTED:   routing.StrategyWeighted,
	tollgatev1.RouteStrategy_ROUTE_STRATEGY_LATENCY:    routing.StrategyLatency,
	tollgatev1.RouteStrategy_ROUTE_STRATEGY_COST:       routing.StrategyCost,
	tollgatev1.RouteStrategy_ROUTE_STRATEGY_LEAST_BUSY: routing.StrategyLeastBusy,
}

func strategyToProto(s string) tollgatev1.RouteStrategy {
	for k, v := range routeStrategies {
		if string(v) == s {
			return k
		}
	}
	return tollgatev1.RouteStrategy_ROUTE_STRATEGY_UNSPECIFIED
}

func routeDurFromProto(d *durationpb.Duration) routing.Duration {
	if d == nil {
		return 0
	}
	return routing.Duration(d.AsDuration())
}

func routeDurToProto(d routing.Duration) *durationpb.Duration {
	if d == 0 {
		return nil
	}
	return durationpb.New(time.Duration(d))
}

// routeFromProto converts and validates what can be validated alone.
func routeFromProto(in *tollgatev1.Route) (*routing.Route, error) {
	if in == nil {
		return nil, badParam("route", "is required")
	}
	if err := checkModelName(in.GetName()); err != nil {
		return nil, badParam("route.name", "must be 1-200 characters")
	}
	strategy, ok := routeStrategies[in.GetStrategy()]
	if !ok {
		return nil, badParam("route.strategy", "must be set to a known ROUTE_STRATEGY_*")
	}
	r := &routing.Route{
		Name: in.GetName(), Strategy: strategy, Targets: make([]routing.Target, len(in.GetTargets())),
		Retry: routing.Retry{
			MaxAttempts: int(in.GetRetry().GetMaxAttempts()),
			BackoffBase: routeDurFromProto(in.GetRetry().GetBackoffBase()),
			BackoffMax:  routeDurFromProto(in.GetRetry().GetBackoffMax()),
		},
		Breaker: routing.Breaker{
			Failures: int(in.GetBreaker().GetFailures()),
			Cooldown: routeDurFromProto(in.GetBreaker().GetCooldown()),
		},
		Timeout: routeDurFromProto(in.GetTimeout()), FirstChunkTimeout: routeDurFromProto(in.GetFirstChunkTimeout()),
		ChunkTimeout: routeDurFromProto(in.GetChunkTimeout()),
		Sticky:       in.GetSticky(), Cache: routeCacheFromProto(in.GetCache()), DropParams: in.GetDropParams(),
	}
	for i, t := range in.GetTargets() {
		out := routing.Target{
			Provider: t.GetProviderId(), Model: t.GetModel(), Weight: int(t.GetWeight()),
			ContextWindow: int(t.GetContextWindow()), Timeout: routeDurFromProto(t.GetTimeout()),
		}
		if t.GetInputPerMillion() != nil || t.GetOutputPerMillion() != nil {
			in, err := moneyFromProto("route.targets.input_per_million", t.GetInputPerMillion())
			if err != nil {
				return nil, err
			}
			outp, err := moneyFromProto("route.targets.output_per_million", t.GetOutputPerMillion())
			if err != nil {
				return nil, err
			}
			out.Price = &routing.Price{InputPerMillion: in, OutputPerMillion: outp}
		}
		r.Targets[i] = out
	}
	for _, c := range in.GetConditions() {
		cond := routing.Condition{Team: c.GetTeamId(), Service: c.GetServiceId(), Tag: c.GetTag(), EndUser: c.GetEndUser()}
		for _, ix := range c.GetTargets() {
			cond.Targets = append(cond.Targets, int(ix))
		}
		r.Conditions = append(r.Conditions, cond)
	}
	if err := r.Validate(); err != nil {
		return nil, routeError(err)
	}
	return r, nil
}

// routeError turns a routing validation error into an invalid-argument error.
func routeError(err error) error {
	if errors.Is(err, routing.ErrInvalidRoute) {
		return badParam("route", strings.TrimPrefix(err.Error(), routing.ErrInvalidRoute.Error()+": "))
	}
	return err
}

func routeToProto(sr *store.Route) (*tollgatev1.Route, error) {
	r, err := routing.ParseRoute(sr.Name, routing.Strategy(sr.Strategy), sr.Spec)
	if err != nil {
		return nil, err
	}
	out := &tollgatev1.Route{
		Name: r.Name, Strategy: strategyToProto(sr.Strategy), Timeout: routeDurToProto(r.Timeout),
		FirstChunkTimeout: routeDurToProto(r.FirstChunkTimeout), ChunkTimeout: routeDurToProto(r.ChunkTimeout), Sticky: r.Sticky,
		CreateTime: timeToProto(sr.CreatedAt), UpdateTime: timeToProto(sr.UpdatedAt), Cache: routeCacheToProto(r.Cache),
		DropParams: r.DropParams,
		Etag:       etag(sr.Version),
	}
	if r.Retry != (routing.Retry{}) {
		out.Retry = &tollgatev1.RetryPolicy{MaxAttempts: int32(r.Retry.MaxAttempts),
			BackoffBase: routeDurToProto(r.Retry.BackoffBase), BackoffMax: routeDurToProto(r.Retry.BackoffMax)}
	}
	if r.Breaker != (routing.Breaker{}) {
		out.Breaker = &tollgatev1.CircuitBreaker{Failures: int32(r.Breaker.Failures), Cooldown: routeDurToProto(r.Breaker.Cooldown)}
	}
	for _, t := range r.Targets {
		pt := &tollgatev1.RouteTarget{ProviderId: t.Provider, Model: t.Model, Weight: int32(t.Weight),
			ContextWindow: int32(t.ContextWindow), Timeout: routeDurToProto(t.Timeout)}
		if t.Price != nil {
			pt.InputPerMillion, pt.OutputPerMillion = moneyToProto(t.Price.InputPerMillion), moneyToProto(t.Price.OutputPerMillion)
		}
		out.Targets = append(out.Targets, pt)
	}
	for _, c := range r.Conditions {
		pc := &tollgatev1.RouteCondition{TeamId: c.Team, ServiceId: c.Service, Tag: c.Tag, EndUser: c.EndUser}
		for _, ix := range c.Targets {
			pc.Targets = append(pc.Targets, int32(ix))
		}
		out.Conditions = append(out.Conditions, pc)
	}
	return out, nil
}

// catalog answers routing.Catalog from the store, for validating a route.
type catalog struct{ providers, models, routes map[string]bool }

func (c *catalog) HasProvider(id string) bool { return c.providers[id] }
func (c *catalog) HasModel(name string) bool  { return c.models[name] }
func (c *catalog) HasRoute(name string) bool  { return c.routes[name] }

func (a *Admin) catalog(ctx context.Context) (*catalog, error) {
	ps, err := a.store.ListProviders(ctx)
	if err != nil {
		return nil, err
	}
	ms, err := a.store.ListModels(ctx)
	if err != nil {
		return nil, err
	}
	rs, err := a.store.ListRoutes(ctx)
	if err != nil {
		return nil, err
	}
	c := &catalog{providers: map[string]bool{}, models: map[string]bool{}, routes: map[string]bool{}}
	for _, p := range ps {
		c.providers[p.ID] = true
	}
	for _, m := range ms {
		c.models[m.Name] = true
	}
	for _, r := range rs {
		c.routes[r.Name] = true
	}
	return c, nil
}

// checkedRoute converts, validates and encodes a route for the store.
func (a *Admin) checkedRoute(ctx context.Context, in *tollgatev1.Route) (*store.Route, error) {
	r, err := routeFromProto(in)
	if err != nil {
		return nil, err
	}
	cat, err := a.catalog(ctx)
	if err != nil {
		return nil, err
	}
	if err := r.CheckRefs(cat); err != nil {
		return nil, routeError(err)
	}
	spec, err := r.Spec()
	if err != nil {
		return nil, err
	}
	return &store.Route{Name: r.Name, Strategy: string(r.Strategy), Spec: spec}, nil
}

// CreateRoute implements CatalogService.CreateRoute.
func (a *Admin) CreateRoute(ctx context.Context, req *connect.Request[tollgatev1.CreateRouteRequest]) (*connect.Response[tollgatev1.CreateRouteResponse], error) {
	sr, err := a.checkedRoute(ctx, req.Msg.GetRoute())
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	if err := a.store.CreateRoute(ctx, sr); err != nil {
		return nil, a.fail(ctx, err)
	}
	a.apply(ctx, store.ChangeRoute, sr.Name)
	out, err := routeToProto(sr)
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	return connect.NewResponse(&tollgatev1.CreateRouteResponse{Route: out}), nil
}

// GetRoute implements CatalogService.GetRoute.
func (a *Admin) GetRoute(ctx context.Context, req *connect.Request[tollgatev1.GetRouteRequest]) (*connect.Response[tollgatev1.GetRouteResponse], error) {
	sr, err := a.store.GetRoute(ctx, req.Msg.GetName())
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	out, err := routeToProto(sr)
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	return connect.NewResponse(&tollgatev1.GetRouteResponse{Route: out}), nil
}

// ListRoutes implements CatalogService.ListRoutes.
func (a *Admin) ListRoutes(ctx context.Context, req *connect.Request[tollgatev1.ListRoutesRequest]) (*connect.Response[tollgatev1.ListRoutesResponse], error) {
	page, err := readPage(req.Msg)
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	rs, next, err := a.store.PageRoutes(ctx, page)
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	out := &tollgatev1.ListRoutesResponse{Routes: make([]*tollgatev1.Route, 0, len(rs)), NextPageToken: nextPageToken(req.Msg, next)}
	for i := range rs {
		r, err := routeToProto(&rs[i])
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		out.Routes = append(out.Routes, r)
	}
	return connect.NewResponse(out), nil
}

// routeFixed are the Route fields no update may set.
var routeFixed = []string{"name", "create_time", "update_time", "etag"}

// UpdateRoute implements CatalogService.UpdateRoute.
func (a *Admin) UpdateRoute(ctx context.Context, req *connect.Request[tollgatev1.UpdateRouteRequest]) (*connect.Response[tollgatev1.UpdateRouteResponse], error) {
	in := req.Msg.GetRoute()
	if in == nil {
		return nil, a.fail(ctx, badParam("route", "is required"))
	}
	want, err := ifVersion("route.etag", in.GetEtag())
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	paths, err := updateMask(req.Msg.GetUpdateMask(), in.ProtoReflect().Descriptor(), routeFixed...)
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	var sr *store.Route
	err = readModifyWrite(want, func() error {
		cur, err := a.store.GetRoute(ctx, in.GetName())
		if err != nil {
			return err
		}
		if err := checkVersion("route "+quote(cur.Name), want, cur.Version); err != nil {
			return err
		}
		merged, err := routeToProto(cur)
		if err != nil {
			return err
		}
		applyMask(merged, in, paths)
		if sr, err = a.checkedRoute(ctx, merged); err != nil {
			return err
		}
		sr.Version = cur.Version
		return a.store.UpdateRoute(ctx, sr)
	})
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	a.apply(ctx, store.ChangeRoute, sr.Name)
	out, err := routeToProto(sr)
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	return connect.NewResponse(&tollgatev1.UpdateRouteResponse{Route: out}), nil
}

// DeleteRoute implements CatalogService.DeleteRoute.
func (a *Admin) DeleteRoute(ctx context.Context, req *connect.Request[tollgatev1.DeleteRouteRequest]) (*connect.Response[tollgatev1.DeleteRouteResponse], error) {
	name := req.Msg.GetName()
	v, err := ifVersion("etag", req.Msg.GetEtag())
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	if err := a.store.DeleteRoute(ctx, name, v); err != nil {
		return nil, a.fail(ctx, err)
	}
	a.apply(ctx, store.ChangeRoute, name)
	return connect.NewResponse(&tollgatev1.DeleteRouteResponse{}), nil
}
