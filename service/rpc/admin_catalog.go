package rpc

import (
	"context"
	"slices"
	"strings"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/type/money"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/providers/factory"
	"github.com/tollgate-dev/tollgate/service/credref"
	"github.com/tollgate-dev/tollgate/service/store"
)

// This file serves CatalogService's providers and models; routes are in
// admin_routes.go.

// providerTypeFromProto returns the stored name of a provider type ("" for
// none this build supports): PROVIDER_TYPE_AZURE_OPENAI is "azure_openai".
// The names come from the one table of types, factory.Types.
func providerTypeFromProto(t tollgatev1.ProviderType) string {
	if t == tollgatev1.ProviderType_PROVIDER_TYPE_UNSPECIFIED {
		return ""
	}
	name := strings.ToLower(strings.TrimPrefix(t.String(), "PROVIDER_TYPE_"))
	if !factory.Supported(name) {
		return ""
	}
	return name
}

// providerTypeToProto is providerTypeFromProto's inverse.
func providerTypeToProto(name string) tollgatev1.ProviderType {
	return tollgatev1.ProviderType(tollgatev1.ProviderType_value["PROVIDER_TYPE_"+strings.ToUpper(name)])
}

func providerToProto(p *store.Provider) *tollgatev1.Provider {
	return &tollgatev1.Provider{
		Id: p.ID, Type: providerTypeToProto(p.Type), BaseUrl: p.BaseURL, Settings: p.Settings,
		HasCredential: len(p.SealedCredential) > 0 || p.CredentialRef != "", CreateTime: timeToProto(p.CreatedAt), UpdateTime: timeToProto(p.UpdatedAt),
		Etag: etag(p.Version), CredentialRef: p.CredentialRef,
	}
}

// CreateProvider implements CatalogService.CreateProvider.
func (a *Admin) CreateProvider(ctx context.Context, req *connect.Request[tollgatev1.CreateProviderRequest]) (*connect.Response[tollgatev1.CreateProviderResponse], error) {
	in := req.Msg.GetProvider()
	if in == nil {
		return nil, a.fail(ctx, badParam("provider", "is required"))
	}
	if err := checkSlug("provider.id", in.GetId()); err != nil {
		return nil, a.fail(ctx, err)
	}
	typ := providerTypeFromProto(in.GetType())
	if typ == "" {
		return nil, a.fail(ctx, badParam("provider.type", "must be set to a known PROVIDER_TYPE_*"))
	}
	if err := checkBaseURL(in.GetBaseUrl()); err != nil {
		return nil, a.fail(ctx, err)
	}
	p := &store.Provider{ID: in.GetId(), Type: typ, BaseURL: in.GetBaseUrl(), Settings: in.GetSettings(), CredentialRef: in.GetCredentialRef()}
	if err := checkCredentialRef(p.CredentialRef, req.Msg.GetCredential()); err != nil {
		return nil, a.fail(ctx, err)
	}
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

// GetProvider implements CatalogService.GetProvider.
func (a *Admin) GetProvider(ctx context.Context, req *connect.Request[tollgatev1.GetProviderRequest]) (*connect.Response[tollgatev1.GetProviderResponse], error) {
	p, err := a.store.GetProvider(ctx, req.Msg.GetId())
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	out := providerToProto(p)
	a.withTargetHealth(out)
	return connect.NewResponse(&tollgatev1.GetProviderResponse{Provider: out}), nil
}

// ListProviders implements CatalogService.ListProviders.
func (a *Admin) ListProviders(ctx context.Context, req *connect.Request[tollgatev1.ListProvidersRequest]) (*connect.Response[tollgatev1.ListProvidersResponse], error) {
	page, err := readPage(req.Msg)
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	ps, next, err := a.store.PageProviders(ctx, page)
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	out := &tollgatev1.ListProvidersResponse{Providers: make([]*tollgatev1.Provider, len(ps)), NextPageToken: nextPageToken(req.Msg, next)}
	for i := range ps {
		out.Providers[i] = providerToProto(&ps[i])
	}
	a.withTargetHealth(out.Providers...)
	return connect.NewResponse(out), nil
}

// fullReplace reports whether an update mask asks for a full replacement.
func fullReplace(m *fieldmaskpb.FieldMask) bool {
	return len(m.GetPaths()) == 0 || (len(m.GetPaths()) == 1 && m.GetPaths()[0] == "*")
}

// UpdateProvider implements CatalogService.UpdateProvider. The mask path
// "credential" names the request's credential field, not a field of the
// provider.
func (a *Admin) UpdateProvider(ctx context.Context, req *connect.Request[tollgatev1.UpdateProviderRequest]) (*connect.Response[tollgatev1.UpdateProviderResponse], error) {
	in := req.Msg.GetProvider()
	if in == nil {
		return nil, a.fail(ctx, badParam("provider", "is required"))
	}
	want, err := ifVersion("provider.etag", in.GetEtag())
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	mask := req.Msg.GetUpdateMask()
	setCredential := fullReplace(mask) && req.Msg.GetCredential() != ""
	var paths []string
	if rest := slices.DeleteFunc(slices.Clone(mask.GetPaths()), func(p string) bool { return p == "credential" }); len(rest) < len(mask.GetPaths()) {
		setCredential = true
		if len(rest) > 0 {
			if paths, err = updateMask(&fieldmaskpb.FieldMask{Paths: rest}, in.ProtoReflect().Descriptor(), providerFixed...); err != nil {
				return nil, a.fail(ctx, err)
			}
		}
	} else if paths, err = updateMask(mask, in.ProtoReflect().Descriptor(), providerFixed...); err != nil {
		return nil, a.fail(ctx, err)
	}
	var p store.Provider
	err = readModifyWrite(want, func() error {
		cur, err := a.store.GetProvider(ctx, in.GetId())
		if err != nil {
			return err
		}
		if err := checkVersion("provider "+quote(cur.ID), want, cur.Version); err != nil {
			return err
		}
		if t := in.GetType(); t != tollgatev1.ProviderType_PROVIDER_TYPE_UNSPECIFIED && providerTypeFromProto(t) != cur.Type {
			return badParam("provider.type", "cannot be changed; create a provider of the other type")
		}
		merged := providerToProto(cur)
		applyMask(merged, in, paths)
		if err := checkBaseURL(merged.GetBaseUrl()); err != nil {
			return err
		}
		p = *cur
		p.BaseURL, p.Settings = merged.GetBaseUrl(), merged.GetSettings()
		if merged.GetCredentialRef() != cur.CredentialRef {
			// A new reference replaces a stored credential.
			p.CredentialRef, p.SealedCredential = merged.GetCredentialRef(), nil
		}
		if setCredential {
			p.SealedCredential = nil
			if c := req.Msg.GetCredential(); c != "" {
				if p.SealedCredential, err = a.sealer.Seal([]byte(c), p.ID); err != nil {
					return err
				}
				p.CredentialRef = "" // a stored credential replaces a reference
			}
		}
		if err := checkCredentialRef(p.CredentialRef, ""); err != nil {
			return err
		}
		if p.CredentialRef != "" && len(p.SealedCredential) > 0 {
			return badParam("provider.credential_ref", "a provider has a credential or a credential reference, not both")
		}
		return a.store.UpdateProvider(ctx, &p)
	})
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	a.apply(ctx, store.ChangeProvider, p.ID)
	return connect.NewResponse(&tollgatev1.UpdateProviderResponse{Provider: providerToProto(&p)}), nil
}

// checkCredentialRef validates a credential reference; it excludes a
// literal credential.
func checkCredentialRef(ref, credential string) error {
	if ref == "" {
		return nil
	}
	if credential != "" {
		return badParam("provider.credential_ref", "give a credential or a credential reference, not both")
	}
	if err := credref.Validate(ref); err != nil {
		return badParam("provider.credential_ref", err.Error())
	}
	return nil
}

// providerFixed are the Provider fields no update may set.
var providerFixed = []string{"id", "type", "has_credential", "create_time", "update_time", "etag"}

// DeleteProvider implements CatalogService.DeleteProvider.
func (a *Admin) DeleteProvider(ctx context.Context, req *connect.Request[tollgatev1.DeleteProviderRequest]) (*connect.Response[tollgatev1.DeleteProviderResponse], error) {
	v, err := ifVersion("etag", req.Msg.GetEtag())
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	if err := a.store.DeleteProvider(ctx, req.Msg.GetId(), v); err != nil {
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
		CreateTime: timeToProto(m.CreatedAt), UpdateTime: timeToProto(m.UpdatedAt), Etag: etag(m.Version),
	}
}

func pricingFromProto(p *tollgatev1.ModelPricing) (store.Pricing, error) {
	var out store.Pricing
	var err error
	for _, f := range []struct {
		name string
		in   *money.Money
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

// modelFromProto converts and validates a model, as created or as an
// update leaves it.
func modelFromProto(in *tollgatev1.Model) (*store.Model, error) {
	if in == nil {
		return nil, badParam("model", "is required")
	}
	if err := checkModelName(in.GetName()); err != nil {
		return nil, err
	}
	if in.GetProviderId() == "" {
		return nil, badParam("model.provider_id", "is required")
	}
	if in.GetContextWindow() < 0 {
		return nil, badParam("model.context_window", "must not be negative")
	}
	if in.GetMaxOutputTokens() < 0 {
		return nil, badParam("model.max_output_tokens", "must not be negative")
	}
	price, err := pricingFromProto(in.GetPricing())
	if err != nil {
		return nil, err
	}
	return &store.Model{
		Name: in.GetName(), ProviderID: in.GetProviderId(), UpstreamModel: in.GetUpstreamModel(),
		ContextWindow: int(in.GetContextWindow()), MaxOutputTokens: int(in.GetMaxOutputTokens()), Embedding: in.GetEmbedding(), Pricing: price,
	}, nil
}

// CreateModel implements CatalogService.CreateModel.
func (a *Admin) CreateModel(ctx context.Context, req *connect.Request[tollgatev1.CreateModelRequest]) (*connect.Response[tollgatev1.CreateModelResponse], error) {
	in := req.Msg.GetModel()
	m, err := modelFromProto(in)
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	if in.GetPricing() == nil {
		// No price given: the list price of the upstream model, if known.
		m.Pricing = defaultPricing(in.GetUpstreamModel(), in.GetName())
	}
	if err := a.store.CreateModel(ctx, m); err != nil {
		return nil, a.fail(ctx, err)
	}
	a.apply(ctx, store.ChangeModel, m.Name)
	return connect.NewResponse(&tollgatev1.CreateModelResponse{Model: modelToProto(m)}), nil
}

// GetModel implements CatalogService.GetModel.
func (a *Admin) GetModel(ctx context.Context, req *connect.Request[tollgatev1.GetModelRequest]) (*connect.Response[tollgatev1.GetModelResponse], error) {
	m, err := a.store.GetModel(ctx, req.Msg.GetName())
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	return connect.NewResponse(&tollgatev1.GetModelResponse{Model: modelToProto(m)}), nil
}

// ListAllModels implements CatalogService.ListAllModels.
func (a *Admin) ListAllModels(ctx context.Context, req *connect.Request[tollgatev1.ListAllModelsRequest]) (*connect.Response[tollgatev1.ListAllModelsResponse], error) {
	page, err := readPage(req.Msg)
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	ms, next, err := a.store.PageModels(ctx, page)
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	out := &tollgatev1.ListAllModelsResponse{Models: make([]*tollgatev1.Model, len(ms)), NextPageToken: nextPageToken(req.Msg, next)}
	for i := range ms {
		out.Models[i] = modelToProto(&ms[i])
	}
	return connect.NewResponse(out), nil
}

// modelFixed are the Model fields no update may set.
var modelFixed = []string{"name", "create_time", "update_time", "etag"}

// UpdateModel implements CatalogService.UpdateModel.
func (a *Admin) UpdateModel(ctx context.Context, req *connect.Request[tollgatev1.UpdateModelRequest]) (*connect.Response[tollgatev1.UpdateModelResponse], error) {
	in := req.Msg.GetModel()
	if in == nil {
		return nil, a.fail(ctx, badParam("model", "is required"))
	}
	want, err := ifVersion("model.etag", in.GetEtag())
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	paths, err := updateMask(req.Msg.GetUpdateMask(), in.ProtoReflect().Descriptor(), modelFixed...)
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	var m *store.Model
	err = readModifyWrite(want, func() error {
		cur, err := a.store.GetModel(ctx, in.GetName())
		if err != nil {
			return err
		}
		if err := checkVersion("model "+quote(cur.Name), want, cur.Version); err != nil {
			return err
		}
		merged := modelToProto(cur)
		applyMask(merged, in, paths)
		if m, err = modelFromProto(merged); err != nil {
			return err
		}
		m.Version = cur.Version
		return a.store.UpdateModel(ctx, m)
	})
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	a.apply(ctx, store.ChangeModel, m.Name)
	return connect.NewResponse(&tollgatev1.UpdateModelResponse{Model: modelToProto(m)}), nil
}

// DeleteModel implements CatalogService.DeleteModel.
func (a *Admin) DeleteModel(ctx context.Context, req *connect.Request[tollgatev1.DeleteModelRequest]) (*connect.Response[tollgatev1.DeleteModelResponse], error) {
	v, err := ifVersion("etag", req.Msg.GetEtag())
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	if err := a.store.DeleteModel(ctx, req.Msg.GetName(), v); err != nil {
		return nil, a.fail(ctx, err)
	}
	a.apply(ctx, store.ChangeModel, req.Msg.GetName())
	return connect.NewResponse(&tollgatev1.DeleteModelResponse{}), nil
}
