package registry

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/routing"
	"github.com/tollgate-dev/tollgate/service/store"
)

// Route is what a requested model name resolves to: a configured route
// (an alias over several targets) or a plain model, which serves as a
// route with a single target.
type Route struct {
	*routing.Route
	// Serving holds what the request path needs per target, aligned with
	// Route.Targets.
	Serving []Serving
	// Alias is true for a configured route, false for a plain model.
	Alias bool
	// Embedding is true when the name serves embeddings: a plain embedding
	// model, or a route whose targets name embedding models.
	Embedding bool
}

// Serving is one target of a Route, resolved against the configuration.
type Serving struct {
	ProviderID    string
	UpstreamModel string
	// Provider is the adapter; nil when the provider is unknown or could
	// not be built (the target is then skipped).
	Provider providers.Provider
	// Pricing is the target's price: the route's override, else that of
	// the configured model it names or that serves the same upstream model.
	Pricing store.Pricing
}

// Route resolves a requested model name: routes first, then plain models.
func (r *Registry) Route(name string) (*Route, bool) {
	s := r.snap.Load()
	if rt, ok := s.aliases[name]; ok {
		return rt, true
	}
	rt, ok := s.plain[name]
	return rt, ok
}

// Routes returns the configured routes (not plain models), in no particular order.
func (r *Registry) Routes() []*Route {
	s := r.snap.Load()
	out := make([]*Route, 0, len(s.aliases))
	for _, rt := range s.aliases {
		out = append(out, rt)
	}
	return out
}

// compile rebuilds the resolved routes of every model and route. It runs
// after changes to models, providers or routes, never on the request path.
func (s *snapshot) compile() {
	s.plain = make(map[string]*Route, len(s.models))
	for name, m := range s.models {
		price := &routing.Price{InputPerMillion: m.Pricing.InputPerMillion, OutputPerMillion: m.Pricing.OutputPerMillion}
		t := routing.Target{Provider: m.ProviderID, Model: m.UpstreamModel, ContextWindow: m.ContextWindow, Price: price}
		setCaps(&t, m.Provider)
		s.plain[name] = &Route{
			Route:     routing.Single(name, t),
			Serving:   []Serving{{ProviderID: m.ProviderID, UpstreamModel: m.UpstreamModel, Provider: m.Provider, Pricing: m.Pricing}},
			Embedding: m.Embedding,
		}
	}
	s.aliases = make(map[string]*Route, len(s.routes))
	for name, def := range s.routes {
		s.aliases[name] = s.compileRoute(def)
	}
}

// compileRoute resolves a route's targets against models and providers.
func (s *snapshot) compileRoute(def *routing.Route) *Route {
	rt := &routing.Route{
		Name: def.Name, Strategy: def.Strategy, Targets: make([]routing.Target, len(def.Targets)),
		Conditions: def.Conditions, Retry: def.Retry, Breaker: def.Breaker,
		Timeout: def.Timeout, FirstChunkTimeout: def.FirstChunkTimeout, ChunkTimeout: def.ChunkTimeout, Sticky: def.Sticky, Cache: def.Cache,
		DropParams: def.DropParams,
	}
	out := &Route{Route: rt, Serving: make([]Serving, len(def.Targets)), Alias: true}
	for i, t := range def.Targets {
		var m *Model
		if t.Provider == "" {
			m = s.models[t.Model]
			if m != nil {
				t.Provider, t.Model = m.ProviderID, m.UpstreamModel
				out.Embedding = out.Embedding || m.Embedding
			}
		} else {
			m = s.modelServing(t.Provider, t.Model)
		}
		sv := Serving{ProviderID: t.Provider, UpstreamModel: t.Model}
		if p := s.providers[t.Provider]; p != nil {
			sv.Provider = p.provider
		}
		if m != nil {
			sv.Pricing = m.Pricing
			if t.ContextWindow == 0 {
				t.ContextWindow = m.ContextWindow
			}
		}
		if t.Price != nil {
			sv.Pricing.InputPerMillion, sv.Pricing.OutputPerMillion = t.Price.InputPerMillion, t.Price.OutputPerMillion
			sv.Pricing.CachedInputPerMillion = 0
		} else if m != nil {
			t.Price = &routing.Price{InputPerMillion: m.Pricing.InputPerMillion, OutputPerMillion: m.Pricing.OutputPerMillion}
		}
		setCaps(&t, sv.Provider)
		rt.Targets[i], out.Serving[i] = t, sv
	}
	return out
}

// modelServing finds a configured model served by provider as upstream.
func (s *snapshot) modelServing(provider, upstream string) *Model {
	for _, m := range s.models {
		if m.ProviderID == provider && m.UpstreamModel == upstream {
			return m
		}
	}
	return nil
}

func setCaps(t *routing.Target, p providers.Provider) {
	if p == nil {
		return
	}
	c := p.Capabilities()
	t.NoTools, t.NoImages = !c.Tools, !c.Images
}

// parseRoute decodes a stored route; a route this binary cannot read is
// logged and left out rather than failing the whole registry.
func (r *Registry) parseRoute(sr *store.Route) *routing.Route {
	rt, err := routing.ParseRoute(sr.Name, routing.Strategy(sr.Strategy), sr.Spec)
	if err != nil {
		r.log.Error("registry: cannot use route; it is ignored", "route", sr.Name, "err", err)
		return nil
	}
	return rt
}

func (r *Registry) loadRoutes(ctx context.Context) (map[string]*routing.Route, error) {
	rs, err := r.src.ListRoutes(ctx)
	if err != nil {
		return nil, fmt.Errorf("load routes: %w", err)
	}
	out := make(map[string]*routing.Route, len(rs))
	for i := range rs {
		if rt := r.parseRoute(&rs[i]); rt != nil {
			out[rt.Name] = rt
		}
	}
	return out, nil
}

// applyRouteLocked brings the route name up to date; r.mu is held.
func (r *Registry) applyRouteLocked(ctx context.Context, name string) error {
	sr, err := r.src.GetRoute(ctx, name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("load route %s: %w", name, err)
	}
	var rt *routing.Route
	if sr != nil {
		rt = r.parseRoute(sr)
	}
	r.updateLocked(func(s *snapshot) {
		s.routes = maps.Clone(s.routes)
		if s.routes == nil {
			s.routes = map[string]*routing.Route{}
		}
		if rt == nil {
			delete(s.routes, name)
		} else {
			s.routes[name] = rt
		}
		s.compile()
	})
	return nil
}
