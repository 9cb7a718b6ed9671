package configsync

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"connectrpc.com/connect"
	"github.com/google/renameio/v2"
	"google.golang.org/protobuf/proto"

	tollgate "github.com/tollgate-dev/tollgate/clients/go"
	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/service/configfile"
)

// ManagedByHeader marks an admin call as made by configuration as code:
// the gateway records the resources it writes as managed, and (as the
// operator chooses) refuses or warns about calls without it that change
// them.
const ManagedByHeader = "Tollgate-Managed-By"

// ManagedByConfig is the header's value for `tollgate config apply` and
// `tollgate serve --config`.
const ManagedByConfig = "config"

// Secret is the secret of a resource apply created, when the file did not
// name where to deliver it: shown once.
type Secret struct {
	Kind Kind
	Name string
	// Value is the key's secret or the webhook's signing secret.
	Value string
}

// Result is what Apply did.
type Result struct {
	// Applied are the changes made, in order.
	Applied []Change
	// Secrets are the undelivered secrets of created keys and webhooks.
	Secrets []Secret
	// Warnings say what went wrong without failing the apply.
	Warnings []string
}

// Apply makes the changes of a plan through the admin API (every call
// carries the managed-by header, so the resources are marked as managed), one kind at a
// time in dependency order. Every update and deletion carries the etag
// the plan was computed from, so a resource changed meanwhile fails with
// FAILED_PRECONDITION instead of being overwritten. A kind is applied as a
// unit: when one of its changes fails, the ones already made for that
// kind are undone (creations deleted, updates restored) before the error
// is returned; earlier kinds stay applied, and running apply again
// continues from there.
func Apply(ctx context.Context, c tollgate.AdminClient, cur *State, p *Plan) (*Result, error) {
	a := &applier{c: c, cur: cur, res: &Result{}}
	for _, k := range Kinds {
		var undo []func(context.Context) error
		for _, ch := range p.Changes {
			if ch.Kind != k || ch.Action == Delete {
				continue
			}
			u, err := a.change(ctx, ch)
			if err != nil {
				return a.res, a.rollback(ctx, k, undo, fmt.Errorf("%s %s %q: %w", ch.Action, strings.ReplaceAll(string(k), "_", " "), ch.Name, err))
			}
			if u != nil {
				undo = append(undo, u)
			}
			a.res.Applied = append(a.res.Applied, ch)
		}
	}
	for _, ch := range p.Changes {
		if ch.Action != Delete {
			continue
		}
		if err := a.del(ctx, ch.Kind, ch.cur); err != nil {
			return a.res, fmt.Errorf("delete %s %q: %w", strings.ReplaceAll(string(ch.Kind), "_", " "), ch.Name, err)
		}
		a.res.Applied = append(a.res.Applied, ch)
	}
	return a.res, nil
}

type applier struct {
	c   tollgate.AdminClient
	cur *State
	res *Result
}

func (a *applier) rollback(ctx context.Context, k Kind, undo []func(context.Context) error, err error) error {
	var errs []error
	for i := len(undo) - 1; i >= 0; i-- {
		if uerr := undo[i](ctx); uerr != nil {
			errs = append(errs, uerr)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w; undoing the other %s changes also failed: %w", err, k, errors.Join(errs...))
	}
	if len(undo) > 0 {
		return fmt.Errorf("%w (the %d other %s changes were undone)", err, len(undo), k)
	}
	return err
}

// keyID maps a "team/name" to the key's id.
func (a *applier) keyID(name string) string {
	if id, ok := a.cur.keyIDs[name]; ok {
		return id
	}
	return name
}

// change creates, updates or replaces one resource; it returns how to
// undo it (nil when it cannot be undone).
func (a *applier) change(ctx context.Context, ch Change) (func(context.Context) error, error) {
	etag := ""
	if ch.cur != nil {
		etag = ch.cur.etag
	}
	c := a.c
	switch d := ch.want.decl.(type) {
	case *configfile.Provider:
		m := providerProto(d)
		if ch.Action == Create {
			if _, err := c.CreateProvider(ctx, req(&tollgatev1.CreateProviderRequest{Provider: m})); err != nil {
				return nil, err
			}
			return func(ctx context.Context) error {
				_, err := c.DeleteProvider(ctx, req(&tollgatev1.DeleteProviderRequest{Id: d.ID}))
				return err
			}, nil
		}
		m.Etag = etag
		r, err := c.UpdateProvider(ctx, req(&tollgatev1.UpdateProviderRequest{Provider: m}))
		if err != nil {
			return nil, err
		}
		old := proto.Clone(ch.cur.msg).(*tollgatev1.Provider)
		return func(ctx context.Context) error {
			old.Etag = r.Msg.GetProvider().GetEtag()
			_, err := c.UpdateProvider(ctx, req(&tollgatev1.UpdateProviderRequest{Provider: old}))
			return err
		}, nil
	case *configfile.Model:
		m := modelProto(d)
		if ch.Action == Create {
			if _, err := c.CreateModel(ctx, req(&tollgatev1.CreateModelRequest{Model: m})); err != nil {
				return nil, err
			}
			return func(ctx context.Context) error {
				_, err := c.DeleteModel(ctx, req(&tollgatev1.DeleteModelRequest{Name: d.Name}))
				return err
			}, nil
		}
		m.Etag = etag
		r, err := c.UpdateModel(ctx, req(&tollgatev1.UpdateModelRequest{Model: m}))
		if err != nil {
			return nil, err
		}
		old := proto.Clone(ch.cur.msg).(*tollgatev1.Model)
		return func(ctx context.Context) error {
			old.Etag = r.Msg.GetModel().GetEtag()
			_, err := c.UpdateModel(ctx, req(&tollgatev1.UpdateModelRequest{Model: old}))
			return err
		}, nil
	case *configfile.Route:
		m := routeProto(d)
		if ch.Action == Create {
			if _, err := c.CreateRoute(ctx, req(&tollgatev1.CreateRouteRequest{Route: m})); err != nil {
				return nil, err
			}
			return func(ctx context.Context) error {
				_, err := c.DeleteRoute(ctx, req(&tollgatev1.DeleteRouteRequest{Name: d.Name}))
				return err
			}, nil
		}
		m.Etag = etag
		r, err := c.UpdateRoute(ctx, req(&tollgatev1.UpdateRouteRequest{Route: m}))
		if err != nil {
			return nil, err
		}
		old := proto.Clone(ch.cur.msg).(*tollgatev1.Route)
		return func(ctx context.Context) error {
			old.Etag = r.Msg.GetRoute().GetEtag()
			_, err := c.UpdateRoute(ctx, req(&tollgatev1.UpdateRouteRequest{Route: old}))
			return err
		}, nil
	case *configfile.Team:
		if _, err := c.CreateTeam(ctx, req(&tollgatev1.CreateTeamRequest{Team: teamProto(d)})); err != nil {
			return nil, err
		}
		return func(ctx context.Context) error {
			_, err := c.DeleteTeam(ctx, req(&tollgatev1.DeleteTeamRequest{Id: d.ID}))
			return err
		}, nil
	case *configfile.Key:
		m := keyProto(d)
		m.Id = ""
		r, err := c.CreateKey(ctx, req(&tollgatev1.CreateKeyRequest{Key: m}))
		if err != nil {
			return nil, err
		}
		name, id := keyName(d.Team, d.Name), r.Msg.GetKey().GetId()
		if ch.Action == Replace {
			if _, err := c.RevokeKey(ctx, req(&tollgatev1.RevokeKeyRequest{Id: ch.cur.id})); err != nil {
				return nil, fmt.Errorf("revoke the replaced key: %w", err)
			}
		}
		a.cur.keyIDs[name], a.cur.keyNames[id] = id, name
		if err := a.deliver(KindKey, name, d.SecretTo, r.Msg.GetSecret()); err != nil {
			return nil, err
		}
		return nil, nil // a created key's secret is out; it is not taken back
	case *configfile.Budget:
		m := budgetProto(d)
		m.KeyId = a.keyID(m.KeyId)
		m.Etag = etag
		r, err := c.SetBudget(ctx, req(&tollgatev1.SetBudgetRequest{Budget: m}))
		if err != nil {
			return nil, err
		}
		return a.undoSet(ch, r.Msg.GetBudget().GetEtag(), func(ctx context.Context, old proto.Message, etag string) error {
			if old == nil {
				_, err := c.DeleteBudget(ctx, req(&tollgatev1.DeleteBudgetRequest{Id: d.ID, Etag: etag}))
				return err
			}
			b := proto.Clone(old).(*tollgatev1.Budget)
			b.KeyId, b.Etag = a.keyID(b.KeyId), etag
			_, err := c.SetBudget(ctx, req(&tollgatev1.SetBudgetRequest{Budget: b}))
			return err
		}), nil
	case *configfile.RateLimit:
		m := rateLimitProto(d)
		m.KeyId = a.keyID(m.KeyId)
		m.Etag = etag
		r, err := c.SetRateLimit(ctx, req(&tollgatev1.SetRateLimitRequest{RateLimit: m}))
		if err != nil {
			return nil, err
		}
		return a.undoSet(ch, r.Msg.GetRateLimit().GetEtag(), func(ctx context.Context, old proto.Message, etag string) error {
			if old == nil {
				_, err := c.DeleteRateLimit(ctx, req(&tollgatev1.DeleteRateLimitRequest{Id: d.ID, Etag: etag}))
				return err
			}
			l := proto.Clone(old).(*tollgatev1.RateLimit)
			l.KeyId, l.Etag = a.keyID(l.KeyId), etag
			_, err := c.SetRateLimit(ctx, req(&tollgatev1.SetRateLimitRequest{RateLimit: l}))
			return err
		}), nil
	case *configfile.GuardrailPolicy:
		m, err := guardrailProto(d)
		if err != nil {
			return nil, err
		}
		if m.AttachKind == tollgatev1.GuardrailAttachKind_GUARDRAIL_ATTACH_KIND_KEY {
			m.AttachTo = a.keyID(m.AttachTo)
		}
		if ch.Action == Create {
			if _, err := c.CreateGuardrailPolicy(ctx, req(&tollgatev1.CreateGuardrailPolicyRequest{Policy: m})); err != nil {
				return nil, err
			}
			return func(ctx context.Context) error {
				_, err := c.DeleteGuardrailPolicy(ctx, req(&tollgatev1.DeleteGuardrailPolicyRequest{Id: d.ID}))
				return err
			}, nil
		}
		m.Etag = etag
		r, err := c.UpdateGuardrailPolicy(ctx, req(&tollgatev1.UpdateGuardrailPolicyRequest{Policy: m}))
		if err != nil {
			return nil, err
		}
		old := proto.Clone(ch.cur.msg).(*tollgatev1.GuardrailPolicy)
		if old.AttachKind == tollgatev1.GuardrailAttachKind_GUARDRAIL_ATTACH_KIND_KEY {
			old.AttachTo = a.keyID(old.AttachTo)
		}
		return func(ctx context.Context) error {
			old.Etag = r.Msg.GetPolicy().GetEtag()
			_, err := c.UpdateGuardrailPolicy(ctx, req(&tollgatev1.UpdateGuardrailPolicyRequest{Policy: old}))
			return err
		}, nil
	case *configfile.AlertWebhook:
		u, err := resolveRef(d.URL)
		if err != nil {
			return nil, err
		}
		secret := ""
		if d.Secret != "" {
			if secret, err = resolveRef(d.Secret); err != nil {
				return nil, err
			}
		}
		if ch.Action == Replace {
			if _, err := c.DeleteAlertWebhook(ctx, req(&tollgatev1.DeleteAlertWebhookRequest{Id: d.ID, Etag: ch.cur.etag})); err != nil {
				return nil, fmt.Errorf("delete the replaced webhook: %w", err)
			}
		}
		m := alertProto(d, "")
		m.Url = u
		r, err := c.CreateAlertWebhook(ctx, req(&tollgatev1.CreateAlertWebhookRequest{Webhook: m, Secret: secret}))
		if err != nil {
			return nil, err
		}
		if secret == "" {
			if err := a.deliver(KindAlert, d.ID, d.SecretTo, r.Msg.GetSecret()); err != nil {
				return nil, err
			}
		}
		return nil, nil
	}
	return nil, fmt.Errorf("no declaration for %s %q", ch.Kind, ch.Name)
}

// undoSet returns the undo of a SetBudget or SetRateLimit: restore the
// old message, or delete a created one.
func (a *applier) undoSet(ch Change, newEtag string, f func(ctx context.Context, old proto.Message, etag string) error) func(context.Context) error {
	var old proto.Message
	if ch.cur != nil {
		old = ch.cur.msg
	}
	return func(ctx context.Context) error { return f(ctx, old, newEtag) }
}

// deliver writes a new secret to its file, or keeps it for the caller to
// show once. A secret that cannot be written is kept too, with a warning:
// the resource exists, so failing would lose the secret for good.
func (a *applier) deliver(k Kind, name, to, secret string) error {
	if secret == "" {
		return nil
	}
	path, ok := strings.CutPrefix(to, "file:")
	if !ok {
		a.res.Secrets = append(a.res.Secrets, Secret{Kind: k, Name: name, Value: secret})
		return nil
	}
	// Written atomically (a temporary file renamed over the path): a
	// reader never sees an empty or partial secret.
	err := os.MkdirAll(filepath.Dir(path), 0o700)
	if err == nil {
		err = renameio.WriteFile(path, []byte(secret+"\n"), 0o600)
	}
	if err != nil {
		a.res.Secrets = append(a.res.Secrets, Secret{Kind: k, Name: name, Value: secret})
		a.res.Warnings = append(a.res.Warnings, fmt.Sprintf("the secret of %s %q could not be written to %s: %v", k, name, path, err))
	}
	return nil
}

// del deletes (a key: revokes) one resource with the etag it was planned from.
func (a *applier) del(ctx context.Context, k Kind, r *resource) error {
	c := a.c
	var err error
	switch k {
	case KindProvider:
		_, err = c.DeleteProvider(ctx, req(&tollgatev1.DeleteProviderRequest{Id: r.id, Etag: r.etag}))
	case KindModel:
		_, err = c.DeleteModel(ctx, req(&tollgatev1.DeleteModelRequest{Name: r.id, Etag: r.etag}))
	case KindRoute:
		_, err = c.DeleteRoute(ctx, req(&tollgatev1.DeleteRouteRequest{Name: r.id, Etag: r.etag}))
	case KindTeam:
		_, err = c.DeleteTeam(ctx, req(&tollgatev1.DeleteTeamRequest{Id: r.id, Etag: r.etag}))
	case KindKey:
		_, err = c.RevokeKey(ctx, req(&tollgatev1.RevokeKeyRequest{Id: r.id}))
	case KindBudget:
		_, err = c.DeleteBudget(ctx, req(&tollgatev1.DeleteBudgetRequest{Id: r.id, Etag: r.etag}))
	case KindRateLimit:
		_, err = c.DeleteRateLimit(ctx, req(&tollgatev1.DeleteRateLimitRequest{Id: r.id, Etag: r.etag}))
	case KindGuardrail:
		_, err = c.DeleteGuardrailPolicy(ctx, req(&tollgatev1.DeleteGuardrailPolicyRequest{Id: r.id, Etag: r.etag}))
	case KindAlert:
		_, err = c.DeleteAlertWebhook(ctx, req(&tollgatev1.DeleteAlertWebhookRequest{Id: r.id, Etag: r.etag}))
	}
	return err
}

// req returns a request carrying the managed-by header, so the gateway
// marks what it writes as managed by configuration.
func req[T any](m *T) *connect.Request[T] {
	r := connect.NewRequest(m)
	r.Header().Set(ManagedByHeader, ManagedByConfig)
	return r
}

// Managed reads the managed-by marks and returns the PlanOptions.Managed
// of the state cur (keys are marked by id, planned by "team/name").
func Managed(ctx context.Context, c tollgate.AdminClient, cur *State) (func(Kind, string) bool, error) {
	marks, err := page(ctx, func(ctx context.Context, t string) ([]*tollgatev1.ManagedResource, string, error) {
		r, err := c.ListManagedResources(ctx, req(&tollgatev1.ListManagedResourcesRequest{PageSize: 1000, PageToken: t}))
		return r.Msg.GetResources(), r.Msg.GetNextPageToken(), wrap("list managed resources", err)
	})
	if err != nil {
		return nil, err
	}
	set := map[string]bool{}
	for _, m := range marks {
		if m.GetManager() == ManagedByConfig {
			set[m.GetKind()+"/"+m.GetName()] = true
		}
	}
	return func(k Kind, name string) bool {
		if k == KindKey {
			name = cur.keyIDs[name]
		}
		return set[string(k)+"/"+name]
	}, nil
}
