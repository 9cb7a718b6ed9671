package rpc

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"time"

	"connectrpc.com/connect"

	"github.com/tollgate-dev/tollgate/gen/tollgate/v1/tollgatev1connect"
	"github.com/tollgate-dev/tollgate/service/secrets"
	"github.com/tollgate-dev/tollgate/service/store"
)

// Applier makes a change visible on this replica before the admin call
// returns (other replicas learn of it from the store's notifications).
type Applier interface {
	Apply(ctx context.Context, c store.Change) error
}

// Admin serves the admin API: tollgate.v1.CatalogService (providers,
// models, routes), TeamService (teams, keys) and PolicyService (budgets,
// rate limits, guardrails, alerts, cache).
type Admin struct {
	store   store.Store
	sealer  *secrets.Sealer
	applier Applier
	log     *slog.Logger
	now     func() time.Time
	alerts  store.AlertWebhooks // nil: alert webhooks are unavailable
	cache   *adminCache         // nil: the cache RPCs are unavailable (admin_cache.go)
	targets TargetStates        // nil: providers report no target health (admin_health.go)
}

var (
	_ tollgatev1connect.CatalogServiceHandler = (*Admin)(nil)
	_ tollgatev1connect.TeamServiceHandler    = (*Admin)(nil)
	_ tollgatev1connect.PolicyServiceHandler  = (*Admin)(nil)
)

// AdminServiceNames are the full names of the admin services Admin serves.
var AdminServiceNames = []string{
	tollgatev1connect.CatalogServiceName,
	tollgatev1connect.TeamServiceName,
	tollgatev1connect.PolicyServiceName,
}

// AdminOption configures an Admin.
type AdminOption func(*Admin)

// WithAlertStore enables the alert-webhook RPCs, stored in as.
func WithAlertStore(as store.AlertWebhooks) AdminOption { return func(a *Admin) { a.alerts = as } }

// NewAdmin returns the admin handler.
func NewAdmin(st store.Store, sealer *secrets.Sealer, applier Applier, log *slog.Logger, opts ...AdminOption) *Admin {
	a := &Admin{store: st, sealer: sealer, applier: applier, log: log, now: time.Now}
	for _, o := range opts {
		o(a)
	}
	return a
}

// Mount registers the admin services on mux with opts (which should
// include the admin-token and audit interceptors).
func (a *Admin) Mount(mux *http.ServeMux, opts ...connect.HandlerOption) {
	mux.Handle(tollgatev1connect.NewCatalogServiceHandler(a, opts...))
	mux.Handle(tollgatev1connect.NewTeamServiceHandler(a, opts...))
	mux.Handle(tollgatev1connect.NewPolicyServiceHandler(a, opts...))
	mountLegacyAdmin(mux)
}

var slugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

func checkSlug(param, v string) error {
	if !slugRE.MatchString(v) {
		return badParam(param, "must be 1-63 characters of lower-case letters, digits and '-', starting with a letter or digit")
	}
	return nil
}

func checkBaseURL(v string) error {
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return badParam("provider.base_url", "must be an absolute http or https URL")
	}
	if u.User != nil {
		return badParam("provider.base_url", "must not contain credentials; use the credential field")
	}
	for k := range u.Query() {
		if isSecretKey(k) || k == "sig" {
			return badParam("provider.base_url", "must not carry a secret in its query ("+k+"); use the credential field")
		}
	}
	return nil
}

func (a *Admin) apply(ctx context.Context, kind store.ChangeKind, id string) {
	if err := a.applier.Apply(ctx, store.Change{Kind: kind, ID: id}); err != nil {
		a.log.WarnContext(ctx, "admin: change stored but not yet applied locally; it will arrive by notification", "kind", kind, "id", id, "err", err)
	}
}

func (a *Admin) fail(ctx context.Context, err error) error { return toConnectError(ctx, a.log, err) }
