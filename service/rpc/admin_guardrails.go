package rpc

import (
	"context"
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

// redactedSecret replaces webhook secrets and URLs in responses (the URL's
// "scheme://host" shows as config.url_hint); sent back in an update, it
// keeps the stored value.
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
// webhook secrets and URLs under sealer (see guardrails.SealWebhookFields);
// prev, when set, is the stored version whose values redacted ones keep.
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
	var prevFields map[string]map[string]string
	if prev != nil {
		prevFields = webhookFields(prev.Spec)
	}
	kept := make([]map[string]keptField, len(in.GetGuardrails()))
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
			if out.Kind == guardrails.KindWebhook {
				var err error
				if cfg, kept[i], err = keepWebhookFields(cfg, param, in.GetId(), out.Name, prevFields[out.Name], sealer); err != nil {
					return nil, err
				}
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
	for i := range spec.Guardrails {
		if err := sealWebhook(&spec.Guardrails[i], p.ID, kept[i], sealer); err != nil {
			return nil, err
		}
	}
	b, err := spec.Marshal()
	if err != nil {
		return nil, err
	}
	return &store.GuardrailPolicy{ID: p.ID, Description: in.GetDescription(), AttachKind: string(kind), AttachTo: in.GetAttachTo(), Spec: b}, nil
}

// keptField is a sealed webhook field an update sent back redacted: its
// stored (sealed) value and its plaintext.
type keptField struct{ stored, plain string }

// keepWebhookFields returns a webhook's config as the caller means it:
// the output-only URL hint dropped, and every sealed field sent back
// redacted ("********", as reads show it) replaced by the stored value,
// opened, so that the policy validates; kept lists those fields, whose
// stored values restoreKept puts back once it has.
func keepWebhookFields(cfg *structpb.Struct, param, policyID, name string, prev map[string]string,
	sealer *secrets.Sealer) (*structpb.Struct, map[string]keptField, error) {
	cfg = cloneStruct(cfg)
	delete(cfg.Fields, guardrails.URLHintField)
	var kept map[string]keptField
	for _, field := range guardrails.SealedFields {
		if v, ok := cfg.Fields[field]; !ok || v.GetStringValue() != redactedSecret {
			continue
		}
		stored, ok := prev[field]
		if !ok {
			return nil, nil, badParam(param+".config."+field, "is required")
		}
		pt, err := guardrails.OpenField(sealer, policyID, name, field, stored)
		if err != nil {
			return nil, nil, fmt.Errorf("open the stored webhook %s of %q: %w", field, name, err)
		}
		cfg.Fields[field] = structpb.NewStringValue(pt)
		if kept == nil {
			kept = map[string]keptField{}
		}
		kept[field] = keptField{stored: stored, plain: pt}
	}
	return cfg, kept, nil
}

// sealWebhook puts the kept fields' stored values back into a validated
// webhook guardrail and seals the others.
func sealWebhook(g *guardrails.Guardrail, policyID string, kept map[string]keptField, sealer *secrets.Sealer) error {
	keep := map[string]bool{}
	for field, k := range kept {
		if !guardrails.IsSealed(k.stored) {
			continue // stored before sealing existed: seal it now
		}
		cfg, err := guardrails.SetWebhookField(g.Config, field, k.stored)
		if err == nil && field == "url" {
			cfg, err = guardrails.SetWebhookField(cfg, guardrails.URLHintField, guardrails.URLHint(k.plain))
		}
		if err != nil {
			return err
		}
		g.Config, keep[field] = cfg, true
	}
	return guardrails.SealWebhookFields(sealer, policyID, g, keep)
}

func cloneStruct(s *structpb.Struct) *structpb.Struct {
	out := &structpb.Struct{Fields: make(map[string]*structpb.Value, len(s.GetFields()))}
	for k, v := range s.GetFields() {
		out.Fields[k] = v
	}
	return out
}

// webhookFields returns the sealed fields of a stored spec's webhooks, as
// stored, by guardrail name and field.
func webhookFields(spec []byte) map[string]map[string]string {
	s, err := guardrails.ParseSpec(spec)
	if err != nil {
		return nil
	}
	out := map[string]map[string]string{}
	for _, g := range s.Guardrails {
		if g.Kind != guardrails.KindWebhook {
			continue
		}
		for _, field := range guardrails.SealedFields {
			if v := guardrails.WebhookField(g.Config, field); v != "" {
				if out[g.Name] == nil {
					out[g.Name] = map[string]string{}
				}
				out[g.Name][field] = v
			}
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
			if g.Kind == guardrails.KindWebhook {
				for _, field := range guardrails.SealedFields {
					if _, ok := cfg.GetFields()[field]; ok {
						cfg.Fields[field] = structpb.NewStringValue(redactedSecret)
					}
				}
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
