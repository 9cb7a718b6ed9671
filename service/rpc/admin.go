package rpc

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"slices"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/gen/tollgate/v1/tollgatev1connect"
	"github.com/tollgate-dev/tollgate/service/keys"
	"github.com/tollgate-dev/tollgate/service/secrets"
	"github.com/tollgate-dev/tollgate/service/store"
)

// Applier makes a change visible on this replica before the admin call
// returns (other replicas learn of it from the store's notifications).
type Applier interface {
	Apply(ctx context.Context, c store.Change) error
}

// Admin serves tollgate.v1.AdminService.
type Admin struct {
	store   store.Store
	sealer  *secrets.Sealer
	applier Applier
	log     *slog.Logger
	now     func() time.Time
	alerts  store.Alerts // nil: alert webhooks are unavailable
	cache   *adminCache  // nil: the cache RPCs are unavailable (admin_cache.go)
}

var _ tollgatev1connect.AdminServiceHandler = (*Admin)(nil)

// AdminOption configures an Admin.
type AdminOption func(*Admin)

// WithAlertStore enables the alert-webhook RPCs, stored in as.
func WithAlertStore(as store.Alerts) AdminOption { return func(a *Admin) { a.alerts = as } }

// NewAdmin returns the admin handler.
func NewAdmin(st store.Store, sealer *secrets.Sealer, applier Applier, log *slog.Logger, opts ...AdminOption) *Admin {
	a := &Admin{store: st, sealer: sealer, applier: applier, log: log, now: time.Now}
	for _, o := range opts {
		o(a)
	}
	return a
}

var slugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

func checkSlug(param, v string) error {
	if !slugRE.MatchString(v) {
		return badParam(param, "must be 1-63 characters of lower-case letters, digits and '-', starting with a letter or digit")
	}
	return nil
}

var providerTypes = map[tollgatev1.ProviderType]string{
	tollgatev1.ProviderType_PROVIDER_TYPE_OPENAI:            "openai",
	tollgatev1.ProviderType_PROVIDER_TYPE_OPENAI_COMPATIBLE: "openai_compatible",
	tollgatev1.ProviderType_PROVIDER_TYPE_ANTHROPIC:         "anthropic",
	tollgatev1.ProviderType_PROVIDER_TYPE_AZURE_OPENAI:      "azure_openai",
	tollgatev1.ProviderType_PROVIDER_TYPE_GEMINI:            "gemini",
}

func providerTypeToProto(t string) tollgatev1.ProviderType {
	for k, v := range providerTypes {
		if v == t {
			return k
		}
	}
	return tollgatev1.ProviderType_PROVIDER_TYPE_UNSPECIFIED
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
	return nil
}

func (a *Admin) apply(ctx context.Context, kind store.ChangeKind, id string) {
	if err := a.applier.Apply(ctx, store.Change{Kind: kind, ID: id}); err != nil {
		a.log.WarnContext(ctx, "admin: change stored but not yet applied locally; it will arrive by notification", "kind", kind, "id", id, "err", err)
	}
}

func (a *Admin) fail(ctx context.Context, err error) error { return toConnectError(ctx, a.log, err) }

func providerToProto(p *store.Provider) *tollgatev1.Provider {
	return &tollgatev1.Provider{
		Id: p.ID, Type: providerTypeToProto(p.Type), BaseUrl: p.BaseURL, Settings: p.Settings,
		HasCredential: len(p.SealedCredential) > 0, CreateTime: timeToProto(p.CreatedAt), UpdateTime: timeToProto(p.UpdatedAt),
	}
}

// CreateProvider implements AdminService.CreateProvider.
func (a *Admin) CreateProvider(ctx context.Context, req *connect.Request[tollgatev1.CreateProviderRequest]) (*connect.Response[tollgatev1.CreateProviderResponse], error) {
	in := req.Msg.GetProvider()
	if in == nil {
		return nil, a.fail(ctx, badParam("provider", "is required"))
	}
	if err := checkSlug("provider.id", in.GetId()); err != nil {
		return nil, a.fail(ctx, err)
	}
	typ, ok := providerTypes[in.GetType()]
	if !ok {
		return nil, a.fail(ctx, badParam("provider.type", "must be set to a known PROVIDER_TYPE_*"))
	}
	if err := checkBaseURL(in.GetBaseUrl()); err != nil {
		return nil, a.fail(ctx, err)
	}
	p := &store.Provider{ID: in.GetId(), Type: typ, BaseURL: in.GetBaseUrl(), Settings: in.GetSettings()}
	if c := req.Msg.GetCredential(); c != "" {
		sealed, err := a.sealer.Seal([]byte(c), p.ID)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		p.SealedCredential = sealed
	}
	if err := a.store.CreateProvider(ctx, p); err != nil {
		return nil, a.fail(ctx, err)
	}
	a.apply(ctx, store.ChangeProvider, p.ID)
	return connect.NewResponse(&tollgatev1.CreateProviderResponse{Provider: providerToProto(p)}), nil
}

// GetProvider implements AdminService.GetProvider.
func (a *Admin) GetProvider(ctx context.Context, req *connect.Request[tollgatev1.GetProviderRequest]) (*connect.Response[tollgatev1.GetProviderResponse], error) {
	p, err := a.store.GetProvider(ctx, req.Msg.GetId())
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	return connect.NewResponse(&tollgatev1.GetProviderResponse{Provider: providerToProto(p)}), nil
}

// ListProviders implements AdminService.ListProviders.
func (a *Admin) ListProviders(ctx context.Context, _ *connect.Request[tollgatev1.ListProvidersRequest]) (*connect.Response[tollgatev1.ListProvidersResponse], error) {
	ps, err := a.store.ListProviders(ctx)
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	out := &tollgatev1.ListProvidersResponse{Providers: make([]*tollgatev1.Provider, len(ps))}
	for i := range ps {
		out.Providers[i] = providerToProto(&ps[i])
	}
	return connect.NewResponse(out), nil
}

func maskPaths(m *fieldmaskpb.FieldMask, allowed ...string) ([]string, error) {
	if m == nil || len(m.GetPaths()) == 0 {
		return nil, badParam("update_mask", "is required; allowed paths: "+fmt.Sprint(allowed))
	}
	for _, p := range m.GetPaths() {
		if !slices.Contains(allowed, p) {
			return nil, badParam("update_mask", fmt.Sprintf("path %q cannot be updated; allowed: %v", p, allowed))
		}
	}
	return m.GetPaths(), nil
}

// UpdateProvider implements AdminService.UpdateProvider.
func (a *Admin) UpdateProvider(ctx context.Context, req *connect.Request[tollgatev1.UpdateProviderRequest]) (*connect.Response[tollgatev1.UpdateProviderResponse], error) {
	in := req.Msg.GetProvider()
	paths, err := maskPaths(req.Msg.GetUpdateMask(), "base_url", "settings", "credential")
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	p, err := a.store.GetProvider(ctx, in.GetId())
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	for _, path := range paths {
		switch path {
		case "base_url":
			if err := checkBaseURL(in.GetBaseUrl()); err != nil {
				return nil, a.fail(ctx, err)
			}
			p.BaseURL = in.GetBaseUrl()
		case "settings":
			p.Settings = in.GetSettings()
		case "credential":
			p.SealedCredential = nil
			if c := req.Msg.GetCredential(); c != "" {
				if p.SealedCredential, err = a.sealer.Seal([]byte(c), p.ID); err != nil {
					return nil, a.fail(ctx, err)
				}
			}
		}
	}
	if err := a.store.UpdateProvider(ctx, p); err != nil {
		return nil, a.fail(ctx, err)
	}
	a.apply(ctx, store.ChangeProvider, p.ID)
	return connect.NewResponse(&tollgatev1.UpdateProviderResponse{Provider: providerToProto(p)}), nil
}

// DeleteProvider implements AdminService.DeleteProvider.
func (a *Admin) DeleteProvider(ctx context.Context, req *connect.Request[tollgatev1.DeleteProviderRequest]) (*connect.Response[tollgatev1.DeleteProviderResponse], error) {
	if err := a.store.DeleteProvider(ctx, req.Msg.GetId()); err != nil {
		return nil, a.fail(ctx, err)
	}
	a.apply(ctx, store.ChangeProvider, req.Msg.GetId())
	return connect.NewResponse(&tollgatev1.DeleteProviderResponse{}), nil
}

func modelToProto(m *store.Model) *tollgatev1.Model {
	return &tollgatev1.Model{
		Name: m.Name, ProviderId: m.ProviderID, UpstreamModel: m.UpstreamModel, ContextWindow: int32(m.ContextWindow),
		MaxOutputTokens: int32(m.MaxOutputTokens), Embedding: m.Embedding,
		Pricing: &tollgatev1.ModelPricing{
			InputPerMillion: moneyToProto(m.Pricing.InputPerMillion), OutputPerMillion: moneyToProto(m.Pricing.OutputPerMillion),
			CachedInputPerMillion: moneyToProto(m.Pricing.CachedInputPerMillion), PerRequest: moneyToProto(m.Pricing.PerRequest),
		},
		CreateTime: timeToProto(m.CreatedAt), UpdateTime: timeToProto(m.UpdatedAt),
	}
}

func pricingFromProto(p *tollgatev1.ModelPricing) (store.Pricing, error) {
	var out store.Pricing
	var err error
	for _, f := range []struct {
		name string
		in   *tollgatev1.Money
		dst  *int64
	}{
		{"model.pricing.input_per_million", p.GetInputPerMillion(), &out.InputPerMillion},
		{"model.pricing.output_per_million", p.GetOutputPerMillion(), &out.OutputPerMillion},
		{"model.pricing.cached_input_per_million", p.GetCachedInputPerMillion(), &out.CachedInputPerMillion},
		{"model.pricing.per_request", p.GetPerRequest(), &out.PerRequest},
	} {
		if *f.dst, err = moneyFromProto(f.name, f.in); err != nil {
			return out, err
		}
	}
	return out, nil
}

func checkModelName(v string) error {
	if v == "" || len(v) > 200 {
		return badParam("model.name", "must be 1-200 characters")
	}
	for _, c := range v {
		if c <= ' ' || c == 0x7f {
			return badParam("model.name", "must not contain spaces or control characters")
		}
	}
	return nil
}

// CreateModel implements AdminService.CreateModel.
func (a *Admin) CreateModel(ctx context.Context, req *connect.Request[tollgatev1.CreateModelRequest]) (*connect.Response[tollgatev1.CreateModelResponse], error) {
	in := req.Msg.GetModel()
	if in == nil {
		return nil, a.fail(ctx, badParam("model", "is required"))
	}
	if err := checkModelName(in.GetName()); err != nil {
		return nil, a.fail(ctx, err)
	}
	if in.GetProviderId() == "" {
		return nil, a.fail(ctx, badParam("model.provider_id", "is required"))
	}
	if in.GetContextWindow() < 0 || in.GetMaxOutputTokens() < 0 {
		return nil, a.fail(ctx, badParam("model.context_window", "must not be negative"))
	}
	price, err := pricingFromProto(in.GetPricing())
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	if in.GetPricing() == nil {
		// No price given: the list price of the upstream model, if known.
		price = defaultPricing(in.GetUpstreamModel(), in.GetName())
	}
	m := &store.Model{
		Name: in.GetName(), ProviderID: in.GetProviderId(), UpstreamModel: in.GetUpstreamModel(),
		ContextWindow: int(in.GetContextWindow()), MaxOutputTokens: int(in.GetMaxOutputTokens()), Embedding: in.GetEmbedding(), Pricing: price,
	}
	if err := a.store.CreateModel(ctx, m); err != nil {
		return nil, a.fail(ctx, err)
	}
	a.apply(ctx, store.ChangeModel, m.Name)
	return connect.NewResponse(&tollgatev1.CreateModelResponse{Model: modelToProto(m)}), nil
}

// GetModel implements AdminService.GetModel.
func (a *Admin) GetModel(ctx context.Context, req *connect.Request[tollgatev1.GetModelRequest]) (*connect.Response[tollgatev1.GetModelResponse], error) {
	m, err := a.store.GetModel(ctx, req.Msg.GetName())
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	return connect.NewResponse(&tollgatev1.GetModelResponse{Model: modelToProto(m)}), nil
}

// ListAllModels implements AdminService.ListAllModels.
func (a *Admin) ListAllModels(ctx context.Context, _ *connect.Request[tollgatev1.ListAllModelsRequest]) (*connect.Response[tollgatev1.ListAllModelsResponse], error) {
	ms, err := a.store.ListModels(ctx)
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	out := &tollgatev1.ListAllModelsResponse{Models: make([]*tollgatev1.Model, len(ms))}
	for i := range ms {
		out.Models[i] = modelToProto(&ms[i])
	}
	return connect.NewResponse(out), nil
}

// UpdateModel implements AdminService.UpdateModel.
func (a *Admin) UpdateModel(ctx context.Context, req *connect.Request[tollgatev1.UpdateModelRequest]) (*connect.Response[tollgatev1.UpdateModelResponse], error) {
	in := req.Msg.GetModel()
	paths, err := maskPaths(req.Msg.GetUpdateMask(), "provider_id", "upstream_model", "context_window", "max_output_tokens", "embedding", "pricing")
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	m, err := a.store.GetModel(ctx, in.GetName())
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	for _, path := range paths {
		switch path {
		case "provider_id":
			m.ProviderID = in.GetProviderId()
		case "upstream_model":
			m.UpstreamModel = in.GetUpstreamModel()
		case "context_window":
			m.ContextWindow = int(in.GetContextWindow())
		case "max_output_tokens":
			m.MaxOutputTokens = int(in.GetMaxOutputTokens())
		case "embedding":
			m.Embedding = in.GetEmbedding()
		case "pricing":
			if m.Pricing, err = pricingFromProto(in.GetPricing()); err != nil {
				return nil, a.fail(ctx, err)
			}
		}
	}
	if err := a.store.UpdateModel(ctx, m); err != nil {
		return nil, a.fail(ctx, err)
	}
	a.apply(ctx, store.ChangeModel, m.Name)
	return connect.NewResponse(&tollgatev1.UpdateModelResponse{Model: modelToProto(m)}), nil
}

// DeleteModel implements AdminService.DeleteModel.
func (a *Admin) DeleteModel(ctx context.Context, req *connect.Request[tollgatev1.DeleteModelRequest]) (*connect.Response[tollgatev1.DeleteModelResponse], error) {
	if err := a.store.DeleteModel(ctx, req.Msg.GetName()); err != nil {
		return nil, a.fail(ctx, err)
	}
	a.apply(ctx, store.ChangeModel, req.Msg.GetName())
	return connect.NewResponse(&tollgatev1.DeleteModelResponse{}), nil
}

func teamToProto(t *store.Team) *tollgatev1.Team {
	return &tollgatev1.Team{Id: t.ID, DisplayName: t.DisplayName, Labels: t.Labels, CreateTime: timeToProto(t.CreatedAt)}
}

// CreateTeam implements AdminService.CreateTeam.
func (a *Admin) CreateTeam(ctx context.Context, req *connect.Request[tollgatev1.CreateTeamRequest]) (*connect.Response[tollgatev1.CreateTeamResponse], error) {
	in := req.Msg.GetTeam()
	if err := checkSlug("team.id", in.GetId()); err != nil {
		return nil, a.fail(ctx, err)
	}
	t := &store.Team{ID: in.GetId(), DisplayName: in.GetDisplayName(), Labels: in.GetLabels()}
	if err := a.store.CreateTeam(ctx, t); err != nil {
		return nil, a.fail(ctx, err)
	}
	a.apply(ctx, store.ChangeTeam, t.ID)
	return connect.NewResponse(&tollgatev1.CreateTeamResponse{Team: teamToProto(t)}), nil
}

// GetTeam implements AdminService.GetTeam.
func (a *Admin) GetTeam(ctx context.Context, req *connect.Request[tollgatev1.GetTeamRequest]) (*connect.Response[tollgatev1.GetTeamResponse], error) {
	t, err := a.store.GetTeam(ctx, req.Msg.GetId())
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	return connect.NewResponse(&tollgatev1.GetTeamResponse{Team: teamToProto(t)}), nil
}

// ListTeams implements AdminService.ListTeams.
func (a *Admin) ListTeams(ctx context.Context, _ *connect.Request[tollgatev1.ListTeamsRequest]) (*connect.Response[tollgatev1.ListTeamsResponse], error) {
	ts, err := a.store.ListTeams(ctx)
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	out := &tollgatev1.ListTeamsResponse{Teams: make([]*tollgatev1.Team, len(ts))}
	for i := range ts {
		out.Teams[i] = teamToProto(&ts[i])
	}
	return connect.NewResponse(out), nil
}

// DeleteTeam implements AdminService.DeleteTeam.
func (a *Admin) DeleteTeam(ctx context.Context, req *connect.Request[tollgatev1.DeleteTeamRequest]) (*connect.Response[tollgatev1.DeleteTeamResponse], error) {
	if err := a.store.DeleteTeam(ctx, req.Msg.GetId()); err != nil {
		return nil, a.fail(ctx, err)
	}
	a.apply(ctx, store.ChangeTeam, req.Msg.GetId())
	return connect.NewResponse(&tollgatev1.DeleteTeamResponse{}), nil
}

func (a *Admin) keyToProto(k *store.Key) *tollgatev1.VirtualKey {
	state := tollgatev1.KeyState_KEY_STATE_ACTIVE
	switch {
	case !k.RevokedAt.IsZero():
		state = tollgatev1.KeyState_KEY_STATE_REVOKED
	case !k.ExpiresAt.IsZero() && !a.now().Before(k.ExpiresAt):
		state = tollgatev1.KeyState_KEY_STATE_EXPIRED
	}
	return &tollgatev1.VirtualKey{
		Id: k.ID, Name: k.Name, TeamId: k.TeamID, ServiceId: k.ServiceID, AllowedModels: k.AllowedModels,
		ExpireTime: timeToProto(k.ExpiresAt), Tags: k.Tags, SecretPrefix: k.SecretPrefix, State: state,
		CreateTime: timeToProto(k.CreatedAt), RevokeTime: timeToProto(k.RevokedAt), RotateTime: timeToProto(k.RotatedAt),
		Cache: keyCacheToProto(k.CachePolicy), DropParams: k.DropParams,
	}
}

// CreateKey implements AdminService.CreateKey.
func (a *Admin) CreateKey(ctx context.Context, req *connect.Request[tollgatev1.CreateKeyRequest]) (*connect.Response[tollgatev1.CreateKeyResponse], error) {
	in := req.Msg.GetKey()
	if in.GetTeamId() == "" {
		return nil, a.fail(ctx, badParam("key.team_id", "is required"))
	}
	if s := in.GetServiceId(); s != "" {
		if err := checkSlug("key.service_id", s); err != nil {
			return nil, a.fail(ctx, err)
		}
	}
	var expires time.Time
	if in.GetExpireTime() != nil {
		if err := in.GetExpireTime().CheckValid(); err != nil {
			return nil, a.fail(ctx, badParam("key.expire_time", err.Error()))
		}
		expires = in.GetExpireTime().AsTime()
		if !expires.After(a.now()) {
			return nil, a.fail(ctx, badParam("key.expire_time", "must be in the future"))
		}
	}
	cachePolicy, err := keyCacheFromProto(in.GetCache())
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	secret, err := keys.Generate()
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	id, err := keys.NewID()
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	k := &store.Key{
		ID: id, Name: in.GetName(), TeamID: in.GetTeamId(), ServiceID: in.GetServiceId(),
		AllowedModels: in.GetAllowedModels(), Tags: in.GetTags(), ExpiresAt: expires,
		SecretHash: secret.Hash[:], SecretPrefix: secret.Display, CachePolicy: cachePolicy,
		DropParams: in.GetDropParams(),
	}
	if err := a.store.CreateKey(ctx, k); err != nil {
		return nil, a.fail(ctx, err)
	}
	a.apply(ctx, store.ChangeKey, k.ID)
	return connect.NewResponse(&tollgatev1.CreateKeyResponse{Key: a.keyToProto(k), Secret: secret.Plain}), nil
}

// GetKey implements AdminService.GetKey.
func (a *Admin) GetKey(ctx context.Context, req *connect.Request[tollgatev1.GetKeyRequest]) (*connect.Response[tollgatev1.GetKeyResponse], error) {
	k, err := a.store.GetKey(ctx, req.Msg.GetId())
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	return connect.NewResponse(&tollgatev1.GetKeyResponse{Key: a.keyToProto(k)}), nil
}

func pageSize(n int32) (int, error) {
	switch {
	case n < 0:
		return 0, badParam("page_size", "must not be negative")
	case n == 0:
		return 100, nil
	case n > 1000:
		return 1000, nil
	}
	return int(n), nil
}

// ListKeys implements AdminService.ListKeys.
func (a *Admin) ListKeys(ctx context.Context, req *connect.Request[tollgatev1.ListKeysRequest]) (*connect.Response[tollgatev1.ListKeysResponse], error) {
	limit, err := pageSize(req.Msg.GetPageSize())
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	ks, next, err := a.store.ListKeys(ctx, store.KeyFilter{
		TeamID: req.Msg.GetTeamId(), IncludeRevoked: req.Msg.GetIncludeRevoked(), Limit: limit, After: req.Msg.GetPageToken(),
	})
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	out := &tollgatev1.ListKeysResponse{Keys: make([]*tollgatev1.VirtualKey, len(ks)), NextPageToken: next}
	for i := range ks {
		out.Keys[i] = a.keyToProto(&ks[i])
	}
	return connect.NewResponse(out), nil
}

// RevokeKey implements AdminService.RevokeKey.
func (a *Admin) RevokeKey(ctx context.Context, req *connect.Request[tollgatev1.RevokeKeyRequest]) (*connect.Response[tollgatev1.RevokeKeyResponse], error) {
	k, err := a.store.RevokeKey(ctx, req.Msg.GetId(), a.now())
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	a.apply(ctx, store.ChangeKey, k.ID)
	return connect.NewResponse(&tollgatev1.RevokeKeyResponse{Key: a.keyToProto(k)}), nil
}

// RotateKey implements AdminService.RotateKey.
func (a *Admin) RotateKey(ctx context.Context, req *connect.Request[tollgatev1.RotateKeyRequest]) (*connect.Response[tollgatev1.RotateKeyResponse], error) {
	var grace time.Duration
	if g := req.Msg.GetGracePeriod(); g != nil {
		if err := g.CheckValid(); err != nil || g.AsDuration() < 0 {
			return nil, a.fail(ctx, badParam("grace_period", "must be a non-negative duration"))
		}
		grace = g.AsDuration()
		if grace > 30*24*time.Hour {
			return nil, a.fail(ctx, badParam("grace_period", "must be at most 30 days"))
		}
	}
	secret, err := keys.Generate()
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	now := a.now()
	k, err := a.store.RotateKey(ctx, req.Msg.GetId(), secret.Hash[:], secret.Display, now, now.Add(grace))
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	a.apply(ctx, store.ChangeKey, k.ID)
	return connect.NewResponse(&tollgatev1.RotateKeyResponse{Key: a.keyToProto(k), Secret: secret.Plain}), nil
}
