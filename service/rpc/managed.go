package rpc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"connectrpc.com/connect"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/gen/tollgate/v1/tollgatev1connect"
	"github.com/tollgate-dev/tollgate/service/store"
)

// ManagedByHeader marks an admin write as made by configuration as code
// (its value names the manager, "config"): the written resource is marked
// as managed, a deletion removes the mark.
const ManagedByHeader = "Tollgate-Managed-By"

// How the admin API treats a write to a managed resource made without
// ManagedByHeader (the server's -managed-changes).
const (
	// ManagedChangesWarn lets the write through, logs it and answers with
	// a Warning header.
	ManagedChangesWarn = "warn"
	// ManagedChangesRefuse refuses it with FAILED_PRECONDITION.
	ManagedChangesRefuse = "refuse"
)

// managedTarget names the resource an admin write changes: its kind, its
// name ("" when only the response knows it: a created key's id) and
// whether the write deletes it.
func managedTarget(req any) (kind, name string, del, ok bool) {
	switch r := req.(type) {
	case *tollgatev1.CreateProviderRequest:
		return "provider", r.GetProvider().GetId(), false, true
	case *tollgatev1.UpdateProviderRequest:
		return "provider", r.GetProvider().GetId(), false, true
	case *tollgatev1.DeleteProviderRequest:
		return "provider", r.GetId(), true, true
	case *tollgatev1.CreateModelRequest:
		return "model", r.GetModel().GetName(), false, true
	case *tollgatev1.UpdateModelRequest:
		return "model", r.GetModel().GetName(), false, true
	case *tollgatev1.DeleteModelRequest:
		return "model", r.GetName(), true, true
	case *tollgatev1.CreateRouteRequest:
		return "route", r.GetRoute().GetName(), false, true
	case *tollgatev1.UpdateRouteRequest:
		return "route", r.GetRoute().GetName(), false, true
	case *tollgatev1.DeleteRouteRequest:
		return "route", r.GetName(), true, true
	case *tollgatev1.CreateTeamRequest:
		return "team", r.GetTeam().GetId(), false, true
	case *tollgatev1.DeleteTeamRequest:
		return "team", r.GetId(), true, true
	case *tollgatev1.CreateKeyRequest:
		return "key", "", false, true
	case *tollgatev1.RotateKeyRequest:
		return "key", r.GetId(), false, true
	case *tollgatev1.RevokeKeyRequest:
		return "key", r.GetId(), true, true
	case *tollgatev1.SetBudgetRequest:
		return "budget", r.GetBudget().GetId(), false, true
	case *tollgatev1.DeleteBudgetRequest:
		return "budget", r.GetId(), true, true
	case *tollgatev1.SetRateLimitRequest:
		return "rate_limit", r.GetRateLimit().GetId(), false, true
	case *tollgatev1.DeleteRateLimitRequest:
		return "rate_limit", r.GetId(), true, true
	case *tollgatev1.CreateGuardrailPolicyRequest:
		return "guardrail_policy", r.GetPolicy().GetId(), false, true
	case *tollgatev1.UpdateGuardrailPolicyRequest:
		return "guardrail_policy", r.GetPolicy().GetId(), false, true
	case *tollgatev1.DeleteGuardrailPolicyRequest:
		return "guardrail_policy", r.GetId(), true, true
	case *tollgatev1.CreateAlertWebhookRequest:
		return "alert_webhook", r.GetWebhook().GetId(), false, true
	case *tollgatev1.DeleteAlertWebhookRequest:
		return "alert_webhook", r.GetId(), true, true
	}
	return "", "", false, false
}

// ManagedInterceptor keeps the managed-by marks of the admin API's
// writes: a write with ManagedByHeader marks (or, deleting, unmarks) its
// resource; a write without it to a marked resource is refused or warned
// about, as mode says (ManagedChangesRefuse, ManagedChangesWarn). Put it
// after the access guard, so refused callers learn nothing about marks.
func ManagedInterceptor(st store.ManagedResources, mode string, log *slog.Logger) connect.Interceptor {
	return connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			kind, name, del, ok := managedTarget(req.Any())
			if !ok {
				return next(ctx, req)
			}
			manager := strings.TrimSpace(req.Header().Get(ManagedByHeader))
			if manager != "" {
				resp, err := next(ctx, req)
				if err != nil {
					return resp, err
				}
				if name == "" {
					if r, ok := resp.Any().(*tollgatev1.CreateKeyResponse); ok {
						name = r.GetKey().GetId()
					}
				}
				if del {
					err = st.UnmarkManaged(ctx, kind, name)
				} else {
					err = st.MarkManaged(ctx, kind, name, manager)
				}
				if err != nil {
					log.ErrorContext(ctx, "managed-by mark not written", "kind", kind, "name", name, "error", err)
					return nil, connect.NewError(connect.CodeInternal, fmt.Errorf("the %s was written but its managed-by mark was not: apply again", kind))
				}
				return resp, nil
			}
			if name == "" {
				return next(ctx, req)
			}
			by, err := st.ManagedBy(ctx, kind, name)
			if err != nil {
				return nil, connect.NewError(connect.CodeUnavailable, errors.New("cannot read the managed-by marks"))
			}
			if by == "" {
				return next(ctx, req)
			}
			what := fmt.Sprintf("%s %q is managed by %s", strings.ReplaceAll(kind, "_", " "), name, by)
			if mode == ManagedChangesRefuse {
				return nil, connect.NewError(connect.CodeFailedPrecondition,
					errors.New(what+": change its configuration file and apply it (the server refuses out-of-band changes: -managed-changes=refuse)"))
			}
			resp, err := next(ctx, req)
			if err != nil {
				return resp, err
			}
			log.WarnContext(ctx, "out-of-band change of a managed resource", "procedure", req.Spec().Procedure, "kind", kind, "name", name, "manager", by)
			resp.Header().Set("Warning", `299 tollgate "`+what+`: this change will be undone by the next apply"`)
			if del {
				if err := st.UnmarkManaged(ctx, kind, name); err != nil {
					log.ErrorContext(ctx, "managed-by mark not removed", "kind", kind, "name", name, "error", err)
				}
			}
			return resp, nil
		}
	})
}

// Config implements ConfigService.
type Config struct {
	st  store.ManagedResources
	log *slog.Logger
}

var _ tollgatev1connect.ConfigServiceHandler = (*Config)(nil)

// NewConfig returns the ConfigService handler.
func NewConfig(st store.ManagedResources, log *slog.Logger) *Config {
	return &Config{st: st, log: log}
}

// Mount registers the service on mux.
func (c *Config) Mount(mux *http.ServeMux, opts ...connect.HandlerOption) {
	mux.Handle(tollgatev1connect.NewConfigServiceHandler(c, opts...))
}

// ListManagedResources implements ConfigService.ListManagedResources.
func (c *Config) ListManagedResources(ctx context.Context, req *connect.Request[tollgatev1.ListManagedResourcesRequest]) (*connect.Response[tollgatev1.ListManagedResourcesResponse], error) {
	page, err := readPage(req.Msg)
	if err != nil {
		return nil, toConnectError(ctx, c.log, err)
	}
	all, err := c.st.ListManaged(ctx)
	if err != nil {
		c.log.ErrorContext(ctx, "list managed resources", "error", err)
		return nil, connect.NewError(connect.CodeUnavailable, errors.New("cannot read the managed-by marks"))
	}
	out := &tollgatev1.ListManagedResourcesResponse{}
	next := ""
	for _, m := range all {
		cursor := m.Kind + "\x00" + m.Name
		if page.After != "" && cursor <= page.After {
			continue
		}
		if len(out.Resources) == page.Size {
			next = out.Resources[len(out.Resources)-1].GetKind() + "\x00" + out.Resources[len(out.Resources)-1].GetName()
			break
		}
		out.Resources = append(out.Resources, &tollgatev1.ManagedResource{
			Kind: m.Kind, Name: m.Name, Manager: m.Manager, UpdateTime: timeToProto(m.UpdatedAt),
		})
	}
	out.NextPageToken = nextPageToken(req.Msg, next)
	return connect.NewResponse(out), nil
}
