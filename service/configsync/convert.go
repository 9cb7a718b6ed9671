package configsync

import (
	"fmt"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/type/money"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/service/configfile"
)

// The conversions between the file's types and the API's messages. Keys
// are named "team/name" in both directions: the desired messages carry
// that name where the API carries a key id (budgets, rate limits, key
// guardrail attachments, the key's own id), and the current state is
// rewritten the same way, so that the two compare without knowing ids.

// enumValue returns the value of an enum named prefix + upper(name).
func enumValue(d protoreflect.EnumDescriptor, prefix, name string) protoreflect.EnumNumber {
	if name == "" {
		return 0
	}
	if v := d.Values().ByName(protoreflect.Name(prefix + strings.ToUpper(name))); v != nil {
		return v.Number()
	}
	return 0
}

// enumName is the reverse of enumValue ("" for the zero value).
func enumName(d protoreflect.EnumDescriptor, prefix string, n protoreflect.EnumNumber) string {
	if n == 0 {
		return ""
	}
	v := d.Values().ByNumber(n)
	if v == nil {
		return fmt.Sprint(n)
	}
	return strings.ToLower(strings.TrimPrefix(string(v.Name()), prefix))
}

func usd(a configfile.USD) *money.Money {
	n, _ := a.Nanos()
	if n == 0 {
		return nil
	}
	return &money.Money{CurrencyCode: "USD", Units: n / 1_000_000_000, Nanos: int32(n % 1_000_000_000)}
}

func fromMoney(m *money.Money) configfile.USD {
	if m == nil {
		return ""
	}
	return configfile.USDFromNanos(m.GetUnits()*1_000_000_000 + int64(m.GetNanos()))
}

func dur(d configfile.Duration) *durationpb.Duration {
	v, _ := d.Value()
	if v == 0 {
		return nil
	}
	return durationpb.New(v)
}

func fromDur(d *durationpb.Duration) configfile.Duration {
	if d == nil {
		return ""
	}
	return configfile.DurationOf(d.AsDuration())
}

var (
	providerTypes = tollgatev1.ProviderType(0).Descriptor()
	strategies    = tollgatev1.RouteStrategy(0).Descriptor()
	cacheModes    = tollgatev1.CacheMode(0).Descriptor()
	periods       = tollgatev1.BudgetPeriod(0).Descriptor()
	stages        = tollgatev1.GuardrailStage(0).Descriptor()
	modes         = tollgatev1.GuardrailMode(0).Descriptor()
	onMatches     = tollgatev1.GuardrailOnMatch(0).Descriptor()
	alertKinds    = tollgatev1.AlertKind(0).Descriptor()
)

func providerProto(p *configfile.Provider) *tollgatev1.Provider {
	return &tollgatev1.Provider{
		Id: p.ID, Type: tollgatev1.ProviderType(enumValue(providerTypes, "PROVIDER_TYPE_", p.Type)),
		BaseUrl: p.BaseURL, Settings: p.Settings, CredentialRef: p.Credential,
	}
}

func providerFile(p *tollgatev1.Provider) configfile.Provider {
	return configfile.Provider{
		ID: p.GetId(), Type: enumName(providerTypes, "PROVIDER_TYPE_", protoreflect.EnumNumber(p.GetType())),
		BaseURL: p.GetBaseUrl(), Settings: p.GetSettings(), Credential: p.GetCredentialRef(),
	}
}

func modelProto(m *configfile.Model) *tollgatev1.Model {
	out := &tollgatev1.Model{
		Name: m.Name, ProviderId: m.Provider, UpstreamModel: m.UpstreamModel, ContextWindow: m.ContextWindow,
		MaxOutputTokens: m.MaxOutputTokens, Embedding: m.Embedding, Pricing: &tollgatev1.ModelPricing{},
	}
	if m.UpstreamModel == "" {
		out.UpstreamModel = m.Name
	}
	if p := m.Pricing; p != nil {
		out.Pricing = &tollgatev1.ModelPricing{
			InputPerMillion: usd(p.InputPerMillion), OutputPerMillion: usd(p.OutputPerMillion),
			CachedInputPerMillion: usd(p.CachedInputPerMillion), PerRequest: usd(p.PerRequest),
		}
	}
	return out
}

func modelFile(m *tollgatev1.Model) configfile.Model {
	out := configfile.Model{
		Name: m.GetName(), Provider: m.GetProviderId(), UpstreamModel: m.GetUpstreamModel(), ContextWindow: m.GetContextWindow(),
		MaxOutputTokens: m.GetMaxOutputTokens(), Embedding: m.GetEmbedding(),
	}
	if out.UpstreamModel == out.Name {
		out.UpstreamModel = ""
	}
	if p := m.GetPricing(); p != nil {
		pr := configfile.Pricing{
			InputPerMillion: fromMoney(p.GetInputPerMillion()), OutputPerMillion: fromMoney(p.GetOutputPerMillion()),
			CachedInputPerMillion: fromMoney(p.GetCachedInputPerMillion()), PerRequest: fromMoney(p.GetPerRequest()),
		}
		if pr != (configfile.Pricing{}) {
			out.Pricing = &pr
		}
	}
	return out
}

func cacheProto(c *configfile.CachePolicy) *tollgatev1.CachePolicy {
	if c == nil {
		return nil
	}
	return &tollgatev1.CachePolicy{
		Mode: tollgatev1.CacheMode(enumValue(cacheModes, "CACHE_MODE_", c.Mode)), Threshold: c.Threshold,
		Ttl: dur(c.TTL), Namespace: c.Namespace,
	}
}

func cacheFile(c *tollgatev1.CachePolicy) *configfile.CachePolicy {
	if c == nil {
		return nil
	}
	out := configfile.CachePolicy{
		Mode: enumName(cacheModes, "CACHE_MODE_", protoreflect.EnumNumber(c.GetMode())), Threshold: c.GetThreshold(),
		TTL: fromDur(c.GetTtl()), Namespace: c.GetNamespace(),
	}
	if out == (configfile.CachePolicy{}) {
		return nil
	}
	return &out
}

func routeProto(r *configfile.Route) *tollgatev1.Route {
	out := &tollgatev1.Route{
		Name: r.Name, Strategy: tollgatev1.RouteStrategy(enumValue(strategies, "ROUTE_STRATEGY_", r.Strategy)),
		Timeout: dur(r.Timeout), FirstChunkTimeout: dur(r.FirstChunkTimeout), ChunkTimeout: dur(r.ChunkTimeout),
		Sticky: r.Sticky, DropParams: r.DropParams, Cache: cacheProto(r.Cache),
	}
	for _, t := range r.Targets {
		out.Targets = append(out.Targets, &tollgatev1.RouteTarget{
			ProviderId: t.Provider, Model: t.Model, Weight: t.Weight, InputPerMillion: usd(t.InputPerMillion),
			OutputPerMillion: usd(t.OutputPerMillion), ContextWindow: t.ContextWindow, Timeout: dur(t.Timeout),
		})
	}
	for _, c := range r.Conditions {
		out.Conditions = append(out.Conditions, &tollgatev1.RouteCondition{
			TeamId: c.Team, ServiceId: c.Service, Tag: c.Tag, EndUser: c.EndUser, Targets: c.Targets,
		})
	}
	if r.Retry != nil {
		out.Retry = &tollgatev1.RetryPolicy{MaxAttempts: r.Retry.MaxAttempts, BackoffBase: dur(r.Retry.BackoffBase), BackoffMax: dur(r.Retry.BackoffMax)}
	}
	if r.Breaker != nil {
		out.Breaker = &tollgatev1.CircuitBreaker{Failures: r.Breaker.Failures, Cooldown: dur(r.Breaker.Cooldown)}
	}
	return out
}

func routeFile(r *tollgatev1.Route) configfile.Route {
	out := configfile.Route{
		Name: r.GetName(), Strategy: enumName(strategies, "ROUTE_STRATEGY_", protoreflect.EnumNumber(r.GetStrategy())),
		Timeout: fromDur(r.GetTimeout()), FirstChunkTimeout: fromDur(r.GetFirstChunkTimeout()), ChunkTimeout: fromDur(r.GetChunkTimeout()),
		Sticky: r.GetSticky(), DropParams: r.GetDropParams(), Cache: cacheFile(r.GetCache()),
	}
	for _, t := range r.GetTargets() {
		out.Targets = append(out.Targets, configfile.RouteTarget{
			Provider: t.GetProviderId(), Model: t.GetModel(), Weight: t.GetWeight(), InputPerMillion: fromMoney(t.GetInputPerMillion()),
			OutputPerMillion: fromMoney(t.GetOutputPerMillion()), ContextWindow: t.GetContextWindow(), Timeout: fromDur(t.GetTimeout()),
		})
	}
	for _, c := range r.GetConditions() {
		out.Conditions = append(out.Conditions, configfile.RouteCondition{
			Team: c.GetTeamId(), Service: c.GetServiceId(), Tag: c.GetTag(), EndUser: c.GetEndUser(), Targets: c.GetTargets(),
		})
	}
	if rp := r.GetRetry(); rp != nil {
		out.Retry = &configfile.RetryPolicy{MaxAttempts: rp.GetMaxAttempts(), BackoffBase: fromDur(rp.GetBackoffBase()), BackoffMax: fromDur(rp.GetBackoffMax())}
	}
	if b := r.GetBreaker(); b != nil {
		out.Breaker = &configfile.CircuitBreaker{Failures: b.GetFailures(), Cooldown: fromDur(b.GetCooldown())}
	}
	return out
}

// Teams are stored without their services: the API has no service
// resource (services are names keys, budgets and policies carry), so the
// file's services only check references, and export derives them.

func teamProto(t *configfile.Team) *tollgatev1.Team {
	return &tollgatev1.Team{Id: t.ID, DisplayName: t.DisplayName, Labels: t.Labels}
}

func teamFile(t *tollgatev1.Team) configfile.Team {
	return configfile.Team{ID: t.GetId(), DisplayName: t.GetDisplayName(), Labels: t.GetLabels()}
}

// keyName is a key's name in the file: "team/name".
func keyName(team, name string) string { return team + "/" + name }

func keyProto(k *configfile.Key) *tollgatev1.VirtualKey {
	out := &tollgatev1.VirtualKey{
		Id: keyName(k.Team, k.Name), Name: k.Name, TeamId: k.Team, ServiceId: k.Service, AllowedModels: k.AllowedModels,
		Tags: k.Tags, Cache: cacheProto(k.Cache), DropParams: k.DropParams,
	}
	if k.ExpireTime != "" {
		t, _ := time.Parse(time.RFC3339, k.ExpireTime)
		out.ExpireTime = timestamppb.New(t)
	}
	return out
}

func keyFile(k *tollgatev1.VirtualKey) configfile.Key {
	out := configfile.Key{
		Name: k.GetName(), Team: k.GetTeamId(), Service: k.GetServiceId(), AllowedModels: k.GetAllowedModels(),
		Tags: k.GetTags(), Cache: cacheFile(k.GetCache()), DropParams: k.GetDropParams(),
	}
	if k.GetExpireTime() != nil {
		out.ExpireTime = k.GetExpireTime().AsTime().UTC().Format(time.RFC3339)
	}
	return out
}

func budgetProto(b *configfile.Budget) *tollgatev1.Budget {
	out := &tollgatev1.Budget{
		Id: b.ID, Scope: tollgatev1.GovernanceScope_GOVERNANCE_SCOPE_TEAM, TeamId: b.Team,
		Period:   tollgatev1.BudgetPeriod(enumValue(periods, "BUDGET_PERIOD_", b.Period)),
		TimeZone: b.TimeZone, Limit: usd(b.Limit), LimitTokens: b.LimitTokens, AlertThresholds: b.AlertThresholds,
	}
	switch {
	case b.Key != "":
		out.Scope, out.KeyId = tollgatev1.GovernanceScope_GOVERNANCE_SCOPE_KEY, keyName(b.Team, b.Key)
	case b.Service != "":
		out.Scope, out.ServiceId = tollgatev1.GovernanceScope_GOVERNANCE_SCOPE_SERVICE, b.Service
	}
	return out
}

func budgetFile(b *tollgatev1.Budget) configfile.Budget {
	out := configfile.Budget{
		ID: b.GetId(), Team: b.GetTeamId(), Service: b.GetServiceId(),
		Period:   enumName(periods, "BUDGET_PERIOD_", protoreflect.EnumNumber(b.GetPeriod())),
		TimeZone: b.GetTimeZone(), Limit: fromMoney(b.GetLimit()), LimitTokens: b.GetLimitTokens(), AlertThresholds: b.GetAlertThresholds(),
	}
	if k := b.GetKeyId(); k != "" {
		_, out.Key, _ = strings.Cut(k, "/")
	}
	return out
}

func rateLimitProto(r *configfile.RateLimit) *tollgatev1.RateLimit {
	out := &tollgatev1.RateLimit{
		Id: r.ID, Scope: tollgatev1.GovernanceScope_GOVERNANCE_SCOPE_TEAM, TeamId: r.Team,
		RequestsPerMinute: r.RequestsPerMinute, TokensPerMinute: r.TokensPerMinute, MaxConcurrent: r.MaxConcurrent,
	}
	if r.Key != "" {
		out.Scope, out.KeyId = tollgatev1.GovernanceScope_GOVERNANCE_SCOPE_KEY, keyName(r.Team, r.Key)
	}
	return out
}

func rateLimitFile(r *tollgatev1.RateLimit) configfile.RateLimit {
	out := configfile.RateLimit{
		ID: r.GetId(), Team: r.GetTeamId(), RequestsPerMinute: r.GetRequestsPerMinute(),
		TokensPerMinute: r.GetTokensPerMinute(), MaxConcurrent: r.GetMaxConcurrent(),
	}
	if k := r.GetKeyId(); k != "" {
		_, out.Key, _ = strings.Cut(k, "/")
	}
	return out
}

func guardrailProto(p *configfile.GuardrailPolicy) (*tollgatev1.GuardrailPolicy, error) {
	out := &tollgatev1.GuardrailPolicy{Id: p.ID, Description: p.Description}
	switch a := p.Attach; {
	case a.Team != "":
		out.AttachKind, out.AttachTo = tollgatev1.GuardrailAttachKind_GUARDRAIL_ATTACH_KIND_TEAM, a.Team
	case a.Service != "":
		_, svc, _ := strings.Cut(a.Service, "/")
		out.AttachKind, out.AttachTo = tollgatev1.GuardrailAttachKind_GUARDRAIL_ATTACH_KIND_SERVICE, svc
	case a.Key != "":
		out.AttachKind, out.AttachTo = tollgatev1.GuardrailAttachKind_GUARDRAIL_ATTACH_KIND_KEY, a.Key
	case a.Route != "":
		out.AttachKind, out.AttachTo = tollgatev1.GuardrailAttachKind_GUARDRAIL_ATTACH_KIND_ROUTE, a.Route
	}
	for i := range p.Guardrails {
		g := &p.Guardrails[i]
		kind, cfg, err := g.KindConfig()
		if err != nil {
			return nil, fmt.Errorf("guardrail policy %q: %w", p.ID, err)
		}
		st, err := structpb.NewStruct(cfg)
		if err != nil {
			return nil, fmt.Errorf("guardrail policy %q: %w", p.ID, err)
		}
		out.Guardrails = append(out.Guardrails, &tollgatev1.Guardrail{
			Name: g.Name, Kind: kind, Stage: tollgatev1.GuardrailStage(enumValue(stages, "GUARDRAIL_STAGE_", g.Stage)),
			Mode:     tollgatev1.GuardrailMode(enumValue(modes, "GUARDRAIL_MODE_", g.Mode)),
			OnMatch:  tollgatev1.GuardrailOnMatch(enumValue(onMatches, "GUARDRAIL_ON_MATCH_", g.OnMatch)),
			FailOpen: g.FailOpen, Scope: g.Scope, Config: st,
		})
	}
	return out, nil
}

// guardrailFile converts a policy; services are attached by id only, so
// the team of a service attachment is found among the teams declaring it.
func guardrailFile(p *tollgatev1.GuardrailPolicy, teams []configfile.Team) (configfile.GuardrailPolicy, error) {
	out := configfile.GuardrailPolicy{ID: p.GetId(), Description: p.GetDescription()}
	switch p.GetAttachKind() {
	case tollgatev1.GuardrailAttachKind_GUARDRAIL_ATTACH_KIND_TEAM:
		out.Attach.Team = p.GetAttachTo()
	case tollgatev1.GuardrailAttachKind_GUARDRAIL_ATTACH_KIND_SERVICE:
		team := ""
		for _, t := range teams {
			for _, s := range t.Services {
				if s == p.GetAttachTo() && team == "" {
					team = t.ID
				}
			}
		}
		out.Attach.Service = team + "/" + p.GetAttachTo()
	case tollgatev1.GuardrailAttachKind_GUARDRAIL_ATTACH_KIND_KEY:
		out.Attach.Key = p.GetAttachTo()
	case tollgatev1.GuardrailAttachKind_GUARDRAIL_ATTACH_KIND_ROUTE:
		out.Attach.Route = p.GetAttachTo()
	}
	for _, g := range p.GetGuardrails() {
		fg := configfile.Guardrail{
			Name: g.GetName(), Stage: enumName(stages, "GUARDRAIL_STAGE_", protoreflect.EnumNumber(g.GetStage())),
			Mode:     enumName(modes, "GUARDRAIL_MODE_", protoreflect.EnumNumber(g.GetMode())),
			OnMatch:  enumName(onMatches, "GUARDRAIL_ON_MATCH_", protoreflect.EnumNumber(g.GetOnMatch())),
			FailOpen: g.GetFailOpen(), Scope: g.GetScope(),
		}
		if err := fg.SetKindConfig(g.GetKind(), g.GetConfig().AsMap()); err != nil {
			return out, fmt.Errorf("guardrail policy %q, guardrail %q: %w", p.GetId(), g.GetName(), err)
		}
		out.Guardrails = append(out.Guardrails, fg)
	}
	return out, nil
}

func alertProto(a *configfile.AlertWebhook, urlHint string) *tollgatev1.AlertWebhook {
	out := &tollgatev1.AlertWebhook{Id: a.ID, UrlHint: urlHint, TeamId: a.Team}
	for _, k := range a.Kinds {
		out.Kinds = append(out.Kinds, tollgatev1.AlertKind(enumValue(alertKinds, "ALERT_KIND_", k)))
	}
	return out
}

func alertFile(a *tollgatev1.AlertWebhook) configfile.AlertWebhook {
	out := configfile.AlertWebhook{ID: a.GetId(), Team: a.GetTeamId(), URL: "env:ALERT_URL_" + strings.ToUpper(strings.ReplaceAll(a.GetId(), "-", "_"))}
	for _, k := range a.GetKinds() {
		out.Kinds = append(out.Kinds, enumName(alertKinds, "ALERT_KIND_", protoreflect.EnumNumber(k)))
	}
	return out
}
