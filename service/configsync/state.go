package configsync

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/type/money"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	tollgate "github.com/tollgate-dev/tollgate/clients/go"
	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/service/configfile"
)

// Kind is a kind of resource a configuration declares.
type Kind string

// The kinds, in the order they are created (and deleted in reverse).
const (
	KindProvider  Kind = "provider"
	KindModel     Kind = "model"
	KindRoute     Kind = "route"
	KindTeam      Kind = "team"
	KindKey       Kind = "key"
	KindBudget    Kind = "budget"
	KindRateLimit Kind = "rate_limit"
	KindGuardrail Kind = "guardrail_policy"
	KindAlert     Kind = "alert_webhook"
)

// Kinds lists the kinds in creation order.
var Kinds = []Kind{KindProvider, KindModel, KindRoute, KindTeam, KindKey, KindBudget, KindRateLimit, KindGuardrail, KindAlert}

// resource is one resource as the plan compares it: its message with
// output-only fields cleared and key ids replaced by "team/name".
type resource struct {
	name string
	msg  proto.Message
	// id is the API's id (a key's "key_..."), etag its version.
	id, etag string
	// decl is the file's declaration (desired state only).
	decl any
}

// State is a set of resources by kind and name.
type State struct {
	res map[Kind]map[string]*resource
	// keyIDs maps "team/name" to the key's id, keyNames the reverse.
	keyIDs, keyNames map[string]string
}

func newState() *State {
	s := &State{res: map[Kind]map[string]*resource{}, keyIDs: map[string]string{}, keyNames: map[string]string{}}
	for _, k := range Kinds {
		s.res[k] = map[string]*resource{}
	}
	return s
}

func (s *State) put(k Kind, r *resource) { s.res[k][r.name] = r }

// Len returns the number of resources of a kind.
func (s *State) Len(k Kind) int { return len(s.res[k]) }

// page calls list until the last page.
func page[T any](ctx context.Context, list func(ctx context.Context, token string) ([]T, string, error)) ([]T, error) {
	var all []T
	token := ""
	for {
		items, next, err := list(ctx, token)
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
		if next == "" {
			return all, nil
		}
		token = next
	}
}

// Fetch reads the gateway's current state through the admin API.
func Fetch(ctx context.Context, c tollgate.AdminClient) (*State, error) {
	s := newState()
	providers, err := page(ctx, func(ctx context.Context, t string) ([]*tollgatev1.Provider, string, error) {
		r, err := c.ListProviders(ctx, connect.NewRequest(&tollgatev1.ListProvidersRequest{PageSize: 1000, PageToken: t}))
		return r.Msg.GetProviders(), r.Msg.GetNextPageToken(), wrap("list providers", err)
	})
	if err != nil {
		return nil, err
	}
	for _, p := range providers {
		s.put(KindProvider, &resource{name: p.GetId(), id: p.GetId(), etag: p.GetEtag(), msg: normal(p)})
	}
	models, err := page(ctx, func(ctx context.Context, t string) ([]*tollgatev1.Model, string, error) {
		r, err := c.ListAllModels(ctx, connect.NewRequest(&tollgatev1.ListAllModelsRequest{PageSize: 1000, PageToken: t}))
		return r.Msg.GetModels(), r.Msg.GetNextPageToken(), wrap("list models", err)
	})
	if err != nil {
		return nil, err
	}
	for _, m := range models {
		s.put(KindModel, &resource{name: m.GetName(), id: m.GetName(), etag: m.GetEtag(), msg: normal(m)})
	}
	routes, err := page(ctx, func(ctx context.Context, t string) ([]*tollgatev1.Route, string, error) {
		r, err := c.ListRoutes(ctx, connect.NewRequest(&tollgatev1.ListRoutesRequest{PageSize: 1000, PageToken: t}))
		return r.Msg.GetRoutes(), r.Msg.GetNextPageToken(), wrap("list routes", err)
	})
	if err != nil {
		return nil, err
	}
	for _, r := range routes {
		s.put(KindRoute, &resource{name: r.GetName(), id: r.GetName(), etag: r.GetEtag(), msg: normal(r)})
	}
	teams, err := page(ctx, func(ctx context.Context, t string) ([]*tollgatev1.Team, string, error) {
		r, err := c.ListTeams(ctx, connect.NewRequest(&tollgatev1.ListTeamsRequest{PageSize: 1000, PageToken: t}))
		return r.Msg.GetTeams(), r.Msg.GetNextPageToken(), wrap("list teams", err)
	})
	if err != nil {
		return nil, err
	}
	for _, t := range teams {
		s.put(KindTeam, &resource{name: t.GetId(), id: t.GetId(), etag: t.GetEtag(), msg: normal(t)})
	}
	keys, err := page(ctx, func(ctx context.Context, t string) ([]*tollgatev1.VirtualKey, string, error) {
		r, err := c.ListKeys(ctx, connect.NewRequest(&tollgatev1.ListKeysRequest{PageSize: 1000, PageToken: t}))
		return r.Msg.GetKeys(), r.Msg.GetNextPageToken(), wrap("list keys", err)
	})
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if k.GetState() != tollgatev1.KeyState_KEY_STATE_ACTIVE {
			continue
		}
		name := keyName(k.GetTeamId(), k.GetName())
		if _, dup := s.keyIDs[name]; dup {
			// Two active keys of one name: the file can declare only one;
			// the other is shown as its own resource (by id).
			name = keyName(k.GetTeamId(), k.GetName()+"#"+k.GetId())
		}
		s.keyIDs[name], s.keyNames[k.GetId()] = k.GetId(), name
		m := proto.Clone(k).(*tollgatev1.VirtualKey)
		m.Id = name
		s.put(KindKey, &resource{name: name, id: k.GetId(), etag: k.GetEtag(), msg: normal(m)})
	}
	budgets, err := page(ctx, func(ctx context.Context, t string) ([]*tollgatev1.Budget, string, error) {
		r, err := c.ListBudgets(ctx, connect.NewRequest(&tollgatev1.ListBudgetsRequest{PageSize: 1000, PageToken: t}))
		return r.Msg.GetBudgets(), r.Msg.GetNextPageToken(), wrap("list budgets", err)
	})
	if err != nil {
		return nil, err
	}
	for _, b := range budgets {
		m := proto.Clone(b).(*tollgatev1.Budget)
		m.KeyId = s.nameOfKey(m.KeyId)
		s.put(KindBudget, &resource{name: b.GetId(), id: b.GetId(), etag: b.GetEtag(), msg: normal(m)})
	}
	limits, err := page(ctx, func(ctx context.Context, t string) ([]*tollgatev1.RateLimit, string, error) {
		r, err := c.ListRateLimits(ctx, connect.NewRequest(&tollgatev1.ListRateLimitsRequest{PageSize: 1000, PageToken: t}))
		return r.Msg.GetRateLimits(), r.Msg.GetNextPageToken(), wrap("list rate limits", err)
	})
	if err != nil {
		return nil, err
	}
	for _, l := range limits {
		m := proto.Clone(l).(*tollgatev1.RateLimit)
		m.KeyId = s.nameOfKey(m.KeyId)
		s.put(KindRateLimit, &resource{name: l.GetId(), id: l.GetId(), etag: l.GetEtag(), msg: normal(m)})
	}
	policies, err := page(ctx, func(ctx context.Context, t string) ([]*tollgatev1.GuardrailPolicy, string, error) {
		r, err := c.ListGuardrailPolicies(ctx, connect.NewRequest(&tollgatev1.ListGuardrailPoliciesRequest{PageSize: 1000, PageToken: t}))
		return r.Msg.GetPolicies(), r.Msg.GetNextPageToken(), wrap("list guardrail policies", err)
	})
	if err != nil {
		return nil, err
	}
	for _, p := range policies {
		m := proto.Clone(p).(*tollgatev1.GuardrailPolicy)
		if m.AttachKind == tollgatev1.GuardrailAttachKind_GUARDRAIL_ATTACH_KIND_KEY {
			m.AttachTo = s.nameOfKey(m.AttachTo)
		}
		s.put(KindGuardrail, &resource{name: p.GetId(), id: p.GetId(), etag: p.GetEtag(), msg: normal(m)})
	}
	hooks, err := page(ctx, func(ctx context.Context, t string) ([]*tollgatev1.AlertWebhook, string, error) {
		r, err := c.ListAlertWebhooks(ctx, connect.NewRequest(&tollgatev1.ListAlertWebhooksRequest{PageSize: 1000, PageToken: t}))
		return r.Msg.GetWebhooks(), r.Msg.GetNextPageToken(), wrap("list alert webhooks", err)
	})
	if err != nil && connect.CodeOf(err) != connect.CodeUnimplemented && connect.CodeOf(err) != connect.CodeFailedPrecondition {
		return nil, err
	}
	for _, h := range hooks {
		s.put(KindAlert, &resource{name: h.GetId(), id: h.GetId(), etag: h.GetEtag(), msg: normal(h)})
	}
	return s, nil
}

// nameOfKey returns the "team/name" of a key id (the id when unknown).
func (s *State) nameOfKey(id string) string {
	if n, ok := s.keyNames[id]; ok {
		return n
	}
	return id
}

// wrap names the call that failed; a nil r from a failed call is fine
// because the generated getters are nil-safe.
func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

// Desired converts a validated configuration into the state it declares.
// Credential and URL references of alert webhooks are resolved (env and
// file) to compare their scheme and host; the values are kept in memory.
func Desired(cfg *configfile.Config) (*State, error) {
	s := newState()
	for i := range cfg.Providers {
		p := &cfg.Providers[i]
		s.put(KindProvider, &resource{name: p.ID, msg: normal(providerProto(p)), decl: p})
	}
	for i := range cfg.Models {
		m := &cfg.Models[i]
		s.put(KindModel, &resource{name: m.Name, msg: normal(modelProto(m)), decl: m})
	}
	for i := range cfg.Routes {
		r := &cfg.Routes[i]
		s.put(KindRoute, &resource{name: r.Name, msg: normal(routeProto(r)), decl: r})
	}
	for i := range cfg.Teams {
		t := &cfg.Teams[i]
		s.put(KindTeam, &resource{name: t.ID, msg: normal(teamProto(t)), decl: t})
	}
	for i := range cfg.Keys {
		k := &cfg.Keys[i]
		s.put(KindKey, &resource{name: keyName(k.Team, k.Name), msg: normal(keyProto(k)), decl: k})
	}
	for i := range cfg.Budgets {
		b := &cfg.Budgets[i]
		s.put(KindBudget, &resource{name: b.ID, msg: normal(budgetProto(b)), decl: b})
	}
	for i := range cfg.RateLimits {
		r := &cfg.RateLimits[i]
		s.put(KindRateLimit, &resource{name: r.ID, msg: normal(rateLimitProto(r)), decl: r})
	}
	for i := range cfg.Guardrails {
		p := &cfg.Guardrails[i]
		m, err := guardrailProto(p)
		if err != nil {
			return nil, err
		}
		s.put(KindGuardrail, &resource{name: p.ID, msg: normal(m), decl: p})
	}
	for i := range cfg.Alerts {
		a := &cfg.Alerts[i]
		u, err := resolveRef(a.URL)
		if err != nil {
			return nil, fmt.Errorf("alert webhook %q: url: %w", a.ID, err)
		}
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return nil, fmt.Errorf("alert webhook %q: the url behind %s is not an http(s) URL", a.ID, a.URL)
		}
		s.put(KindAlert, &resource{name: a.ID, msg: normal(alertProto(a, pu.Scheme+"://"+pu.Host)), decl: a})
	}
	return s, nil
}

// resolveRef reads an env: or file: reference.
func resolveRef(ref string) (string, error) {
	scheme, name, _ := strings.Cut(ref, ":")
	switch scheme {
	case "env":
		v, ok := os.LookupEnv(name)
		if !ok || v == "" {
			return "", fmt.Errorf("environment variable %s is not set", name)
		}
		return v, nil
	case "file":
		b, err := os.ReadFile(name)
		if err != nil {
			return "", err
		}
		return strings.TrimSpace(string(b)), nil
	}
	return "", fmt.Errorf("%q: only env: and file: references can be resolved here", ref)
}

// outputOnly are the fields the server sets, by message.
var outputOnly = map[protoreflect.FullName][]protoreflect.Name{
	"tollgate.v1.Provider":        {"has_credential", "create_time", "update_time", "etag", "targets"},
	"tollgate.v1.Model":           {"create_time", "update_time", "etag"},
	"tollgate.v1.Route":           {"create_time", "update_time", "etag"},
	"tollgate.v1.Team":            {"create_time", "etag"},
	"tollgate.v1.VirtualKey":      {"secret_prefix", "state", "create_time", "revoke_time", "rotate_time", "etag", "last_used_time", "created_by"},
	"tollgate.v1.Budget":          {"create_time", "update_time", "etag"},
	"tollgate.v1.RateLimit":       {"create_time", "update_time", "etag"},
	"tollgate.v1.GuardrailPolicy": {"create_time", "update_time", "etag"},
	"tollgate.v1.AlertWebhook":    {"url", "create_time", "etag"},
}

// normal returns a copy of m with output-only fields cleared, zero
// amounts and empty messages unset, so that equal declarations compare
// equal however the server spells them.
func normal(m proto.Message) proto.Message {
	m = proto.Clone(m)
	r := m.ProtoReflect()
	for _, f := range outputOnly[r.Descriptor().FullName()] {
		r.Clear(r.Descriptor().Fields().ByName(f))
	}
	prune(r)
	return m
}

// prune unsets zero money and empty messages below r; it reports whether
// r is empty afterwards.
func prune(r protoreflect.Message) bool {
	if mo, ok := r.Interface().(*money.Money); ok {
		return mo.GetUnits() == 0 && mo.GetNanos() == 0
	}
	r.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				prune(l.Get(i).Message())
			}
		case fd.IsMap():
		case fd.Message() != nil:
			if fd.Message().FullName() == "google.protobuf.Struct" {
				break
			}
			if prune(v.Message()) {
				r.Clear(fd)
			}
		}
		return true
	})
	empty := true
	r.Range(func(protoreflect.FieldDescriptor, protoreflect.Value) bool { empty = false; return false })
	return empty
}
