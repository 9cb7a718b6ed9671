package rpc

import (
	"context"
	"encoding/json"
	"fmt"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/guardrails"
	"github.com/tollgate-dev/tollgate/service/secrets"
	"github.com/tollgate-dev/tollgate/service/store"
)

// redactedSecret replaces webhook secrets in responses; sent back in an
// update, it keeps the stored secret.
const redactedSecret = "********"

var guardrailAttachKinds = map[tollgatev1.GuardrailAttachKind]guardrails.AttachKind{
	tollgatev1.GuardrailAttachKind_GUARDRAIL_ATTACH_KIND_TEAM:    guardrails.AttachTeam,
	tollgatev1.GuardrailAttachKind_GUARDRAIL_ATTACH_KIND_SERVICE: guardrails.AttachService,
	tollgatev1.GuardrailAttachKind_GUARDRAIL_ATTACH_KIND_KEY:     guardrails.AttachKey,
	tollgatev1.GuardrailAttachKind_GUARDRAIL_ATTACH_KIND_ROUTE:   guardrails.AttachRoute,
}

var guardrailStages = map[tollgatev1.GuardrailStage]guardrails.Stage{
	tollgatev1.GuardrailStage_GUARDRAIL_STAGE_UNSPECIFIED: "",
	tollgatev1.GuardrailStage_GUARDRAIL_STAGE_INPUT:       guardrails.StageInput,
	tollgatev1.GuardrailStage_GUARDRAIL_STAGE_OUTPUT:      guardrails.StageOutput,
	tollgatev1.GuardrailStage_GUARDRAIL_STAGE_BOTH:        guardrails.StageBoth,
}

var guardrailModes = map[tollgatev1.GuardrailMode]guardrails.Mode{
	tollgatev1.GuardrailMode_GUARDRAIL_MODE_UNSPECIFIED: "",
	tollgatev1.GuardrailMode_GUARDRAIL_MODE_VALIDATE:    guardrails.ModeValidate,
	tollgatev1.GuardrailMode_GUARDRAIL_MODE_MUTATE:      guardrails.ModeMutate,
}

var guardrailOnMatch = map[tollgatev1.GuardrailOnMatch]guardrails.Action{
	tollgatev1.GuardrailOnMatch_GUARDRAIL_ON_MATCH_UNSPECIFIED: "",
	tollgatev1.GuardrailOnMatch_GUARDRAIL_ON_MATCH_FLAG:        guardrails.ActionFlag,
	tollgatev1.GuardrailOnMatch_GUARDRAIL_ON_MATCH_BLOCK:       guardrails.ActionBlock,
}

// enumOf finds the enum value of v in m.
func enumOf[K comparable, V comparable](m map[K]V, v V) K {
	for k, x := range m {
		if x == v {
			return k
		}
	}
	var zero K
	return zero
}

// guardrailPolicyFromProto converts and validates a policy and seals its
// webhook secrets under sealer (see guardrails.SealSecret); prev, when
// set, is the stored version whose webhook secrets redacted values keep.
func guardrailPolicyFromProto(in *tollgatev1.GuardrailPolicy, prev *store.GuardrailPolicy, sealer *secrets.Sealer) (*store.GuardrailPolicy, error) {
	if in == nil {
		return nil, badParam("policy", "is required")
	}
	if err := checkSlug("policy.id", in.GetId()); err != nil {
		return nil, err
	}
	kind, ok := guardrailAttachKinds[in.GetAttachKind()]
	if !ok {
		return nil, badParam("policy.attach_kind", "must be set to a known GUARDRAIL_ATTACH_KIND_*")
	}
	if in.GetAttachTo() == "" {
		return nil, badParam("policy.attach_to", "is required")
	}
	var prevSecrets map[string]string
	kept := map[string]bool{} // webhooks whose stored secret is kept
	if prev != nil {
		prevSecrets = webhookSecrets(prev.Spec)
	}
	spec := guardrails.Spec{Guardrails: make([]guardrails.Guardrail, 0, len(in.GetGuardrails()))}
	for i, g := range in.GetGuardrails() {
		param := fmt.Sprintf("policy.guardrails[%d]", i)
		stage, ok1 := guardrailStages[g.GetStage()]
		mode, ok2 := guardrailModes[g.GetMode()]
		onMatch, ok3 := guardrailOnMatch[g.GetOnMatch()]
		if !ok1 || !ok2 || !ok3 {
			return nil, badParam(param, "has an unknown stage, mode or on_match")
		}
		out := guardrails.Guardrail{
			Name: g.GetName(), Kind: guardrails.Kind(g.GetKind()), Stage: stage, Mode: mode, OnMatch: onMatch,
			FailOpen: g.GetFailOpen(),
		}
		for _, r := range g.GetScope() {
			out.Scope = append(out.Scope, providers.Role(r))
		}
		if cfg := g.GetConfig(); cfg != nil {
			if s, ok := cfg.GetFields()["secret"]; ok && s.GetStringValue() == redactedSecret && out.Kind == guardrails.KindWebhook {
				old, ok := prevSecrets[out.Name]
				if !ok {
					return nil, badParam(param+".config.secret", "is required")
				}
				cfg = cloneStruct(cfg)
				cfg.Fields["secret"] = structpb.NewStringValue(old)
				kept[out.Name] = true
			}
			b, err := protojson.Marshal(cfg)
			if err != nil {
				return nil, badParam(param+".config", "is not valid JSON")
			}
			out.Config = b
		}
		spec.Guardrails = append(spec.Guardrails, out)
	}
	p := guardrails.Policy{ID: in.GetId(), Attachment: guardrails.Attachment{Kind: kind, ID: in.GetAttachTo()}, Guardrails: spec.Guardrails}
	if err := guardrails.Validate(p); err != nil {
		return nil, badParam("policy.guardrails", err.Error())
	}
	if err := sealWebhookSecrets(&spec, p.ID, kept, sealer); err != nil {
		return nil, err
	}
	b, err := spec.Marshal()
	if err != nil {
		return nil, err
	}
	return &store.GuardrailPolicy{ID: p.ID, Description: in.GetDescription(), AttachKind: string(kind), AttachTo: in.GetAttachTo(), Spec: b}, nil
}

// sealWebhookSecrets replaces every webhook secret of spec by its sealed
// form, so the store never holds one in plain text. A sealed secret kept
// from the stored version (a redacted value sent back) is sealed under the
// same policy and guardrail and stays as is; any other secret, even one
// that looks sealed, is the caller's plaintext and is sealed.
func sealWebhookSecrets(spec *guardrails.Spec, policyID string, kept map[string]bool, sealer *secrets.Sealer) error {
	for i := range spec.Guardrails {
		g := &spec.Guardrails[i]
		if g.Kind != guardrails.KindWebhook {
			continue
		}
		secret := guardrails.WebhookSecret(g.Config)
		if secret == "" || (guardrails.IsSealed(secret) && kept[g.Name]) {
			continue
		}
		sealed, err := guardrails.SealSecret(sealer, policyID, g.Name, secret)
		if err != nil {
			return fmt.Errorf("seal webhook secret of %q: %w", g.Name, err)
		}
		if g.Config, err = guardrails.SetWebhookSecret(g.Config, sealed); err != nil {
			return err
		}
	}
	return nil
}

func cloneStruct(s *structpb.Struct) *structpb.Struct {
	out := &structpb.Struct{Fields: make(map[string]*structpb.Value, len(s.GetFields()))}
	for k, v := range s.GetFields() {
		out.Fields[k] = v
	}
	return out
}

// webhookSecrets returns the secrets of a stored spec's webhooks by name.
func webhookSecrets(spec []byte) map[string]string {
	s, err := guardrails.ParseSpec(spec)
	if err != nil {
		return nil
	}
	out := map[string]string{}
	for _, g := range s.Guardrails {
		if g.Kind != guardrails.KindWebhook {
			continue
		}
		var c struct {
			Secret string `json:"secret"`
		}
		if json.Unmarshal(g.Config, &c) == nil && c.Secret != "" {
			out[g.Name] = c.Secret
		}
	}
	return out
}

// guardrailPolicyToProto converts a stored policy, redacting webhook secrets.
func guardrailPolicyToProto(p *store.GuardrailPolicy) (*tollgatev1.GuardrailPolicy, error) {
	spec, err := guardrails.ParseSpec(p.Spec)
	if err != nil {
		return nil, fmt.Errorf("guardrail policy %q: %w", p.ID, err)
	}
	out := &tollgatev1.GuardrailPolicy{
		Id: p.ID, Description: p.Description, AttachTo: p.AttachTo,
		AttachKind: enumOf(guardrailAttachKinds, guardrails.AttachKind(p.AttachKind)),
		CreateTime: timeToProto(p.CreatedAt), UpdateTime: timeToProto(p.UpdatedAt), Etag: etag(p.Version),
	}
	for _, g := range spec.Guardrails {
		pg := &tollgatev1.Guardrail{
			Name: g.Name, Kind: string(g.Kind), FailOpen: g.FailOpen,
			Stage: enumOf(guardrailStages, g.Stage), Mode: enumOf(guardrailModes, g.Mode), OnMatch: enumOf(guardrailOnMatch, g.OnMatch),
		}
		for _, r := range g.Scope {
			pg.Scope = append(pg.Scope, string(r))
		}
		if len(g.Config) > 0 {
			cfg := &structpb.Struct{}
			if err := protojson.Unmarshal(g.Config, cfg); err != nil {
				return nil, fmt.Errorf("guardrail policy %q: config of %q: %w", p.ID, g.Name, err)
			}
			if _, ok := cfg.GetFields()["secret"]; ok && g.Kind == guardrails.KindWebhook {
				cfg.Fields["secret"] = structpb.NewStringValue(redactedSecret)
			}
			pg.Config = cfg
		}
		out.Guardrails = append(out.Guardrails, pg)
	}
	return out, nil
}

// CreateGuardrailPolicy implements PolicyService.CreateGuardrailPolicy.
func (a *Admin) CreateGuardrailPolicy(ctx context.Context, req *connect.Request[tollgatev1.CreateGuardrailPolicyRequest]) (*connect.Response[tollgatev1.CreateGuardrailPolicyResponse], error) {
	p, err := guardrailPolicyFromProto(req.Msg.GetPolicy(), nil, a.sealer)
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	if err := a.store.CreateGuardrailPolicy(ctx, p); err != nil {
		return nil, a.fail(ctx, err)
	}
	a.apply(ctx, store.ChangeGuardrailPolicy, p.ID)
	out, err := guardrailPolicyToProto(p)
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	return connect.NewResponse(&tollgatev1.CreateGuardrailPolicyResponse{Policy: out}), nil
}

// GetGuardrailPolicy implements PolicyService.GetGuardrailPolicy.
func (a *Admin) GetGuardrailPolicy(ctx context.Context, req *connect.Request[tollgatev1.GetGuardrailPolicyRequest]) (*connect.Response[tollgatev1.GetGuardrailPolicyResponse], error) {
	p, err := a.store.GetGuardrailPolicy(ctx, req.Msg.GetId())
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	out, err := guardrailPolicyToProto(p)
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	return connect.NewResponse(&tollgatev1.GetGuardrailPolicyResponse{Policy: out}), nil
}

// ListGuardrailPolicies implements PolicyService.ListGuardrailPolicies.
func (a *Admin) ListGuardrailPolicies(ctx context.Context, req *connect.Request[tollgatev1.ListGuardrailPoliciesRequest]) (*connect.Response[tollgatev1.ListGuardrailPoliciesResponse], error) {
	page, err := readPage(req.Msg)
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	ps, next, err := a.store.PageGuardrailPolicies(ctx, page)
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	resp := &tollgatev1.ListGuardrailPoliciesResponse{Policies: make([]*tollgatev1.GuardrailPolicy, 0, len(ps)), NextPageToken: nextPageToken(req.Msg, next)}
	for i := range ps {
		out, err := guardrailPolicyToProto(&ps[i])
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		resp.Policies = append(resp.Policies, out)
	}
	return connect.NewResponse(resp), nil
}

// guardrailPolicyFixed are the GuardrailPolicy fields no update may set.
var guardrailPolicyFixed = []string{"id", "create_time", "update_time", "etag"}

// UpdateGuardrailPolicy implements PolicyService.UpdateGuardrailPolicy. A
// webhook guardrail sent back with its secret redacted keeps its secret.
func (a *Admin) UpdateGuardrailPolicy(ctx context.Context, req *connect.Request[tollgatev1.UpdateGuardrailPolicyRequest]) (*connect.Response[tollgatev1.UpdateGuardrailPolicyResponse], error) {
	in := req.Msg.GetPolicy()
	if in == nil {
		return nil, a.fail(ctx, badParam("policy", "is required"))
	}
	want, err := ifVersion("policy.etag", in.GetEtag())
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	paths, err := updateMask(req.Msg.GetUpdateMask(), in.ProtoReflect().Descriptor(), guardrailPolicyFixed...)
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	var p *store.GuardrailPolicy
	err = readModifyWrite(want, func() error {
		prev, err := a.store.GetGuardrailPolicy(ctx, in.GetId())
		if err != nil {
			return err
		}
		if err := checkVersion("guardrail policy "+quote(prev.ID), want, prev.Version); err != nil {
			return err
		}
		merged, err := guardrailPolicyToProto(prev)
		if err != nil {
			return err
		}
		applyMask(merged, in, paths)
		if p, err = guardrailPolicyFromProto(merged, prev, a.sealer); err != nil {
			return err
		}
		p.Version = prev.Version
		return a.store.UpdateGuardrailPolicy(ctx, p)
	})
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	a.apply(ctx, store.ChangeGuardrailPolicy, p.ID)
	out, err := guardrailPolicyToProto(p)
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	return connect.NewResponse(&tollgatev1.UpdateGuardrailPolicyResponse{Policy: out}), nil
}

// DeleteGuardrailPolicy implements PolicyService.DeleteGuardrailPolicy.
func (a *Admin) DeleteGuardrailPolicy(ctx context.Context, req *connect.Request[tollgatev1.DeleteGuardrailPolicyRequest]) (*connect.Response[tollgatev1.DeleteGuardrailPolicyResponse], error) {
	v, err := ifVersion("etag", req.Msg.GetEtag())
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	if err := a.store.DeleteGuardrailPolicy(ctx, req.Msg.GetId(), v); err != nil {
		return nil, a.fail(ctx, err)
	}
	a.apply(ctx, store.ChangeGuardrailPolicy, req.Msg.GetId())
	return connect.NewResponse(&tollgatev1.DeleteGuardrailPolicyResponse{}), nil
}
