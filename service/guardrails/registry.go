package guardrails

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/tollgate-dev/tollgate/service/secrets"
	"github.com/tollgate-dev/tollgate/service/store"
)

// PolicySource is the part of store.Store the registry reads.
type PolicySource interface {
	GetGuardrailPolicy(ctx context.Context, id string) (*store.GuardrailPolicy, error)
	ListGuardrailPolicies(ctx context.Context) ([]store.GuardrailPolicy, error)
}

// Subject is what a request's policies are resolved from.
type Subject struct {
	TeamID    string
	ServiceID string
	KeyID     string
	// Route is the requested route or model alias.
	Route string
}

// Registry holds the compiled policies of the store in memory and resolves
// the set of a request. It is safe for concurrent use: Resolve runs on
// the request path under a read lock.
type Registry struct {
	engine *Engine
	src    PolicySource
	sealer *secrets.Sealer // nil: sealed webhook secrets do not compile

	// syncMu serializes Load and Apply, so that an older listing never
	// overwrites a newer change.
	syncMu sync.Mutex

	mu       sync.RWMutex
	policies map[string]*CompiledPolicy
	byAttach map[Attachment][]*CompiledPolicy
}

// RegistryOption configures a Registry.
type RegistryOption func(*Registry)

// WithSealer sets the sealer webhook secrets stored sealed (see
// [SealSecret]) are opened with when a policy compiles. Without it, a
// policy holding a sealed secret does not compile.
func WithSealer(s *secrets.Sealer) RegistryOption { return func(r *Registry) { r.sealer = s } }

// NewRegistry returns an empty registry; call Load before serving.
func NewRegistry(e *Engine, src PolicySource, opts ...RegistryOption) *Registry {
	r := &Registry{engine: e, src: src, policies: map[string]*CompiledPolicy{}, byAttach: map[Attachment][]*CompiledPolicy{}}
	for _, o := range opts {
		o(r)
	}
	return r
}

// FromStore converts a stored policy.
func FromStore(p *store.GuardrailPolicy) (Policy, error) {
	spec, err := ParseSpec(p.Spec)
	if err != nil {
		return Policy{}, fmt.Errorf("policy %q: %w", p.ID, err)
	}
	return Policy{ID: p.ID, Attachment: Attachment{Kind: AttachKind(p.AttachKind), ID: p.AttachTo}, Guardrails: spec.Guardrails}, nil
}

// Load replaces every policy with the store's. A policy that does not
// compile is kept in its previous version, if any, and reported in the
// error: guardrails are never dropped silently.
func (r *Registry) Load(ctx context.Context) error {
	r.syncMu.Lock()
	defer r.syncMu.Unlock()
	return r.load(ctx)
}

func (r *Registry) load(ctx context.Context) error {
	ps, err := r.src.ListGuardrailPolicies(ctx)
	if err != nil {
		return fmt.Errorf("guardrails: load: %w", err)
	}
	next := make(map[string]*CompiledPolicy, len(ps))
	var errs []error
	r.mu.RLock()
	for i := range ps {
		cp, err := r.compile(&ps[i])
		if err != nil {
			errs = append(errs, err)
			if old := r.policies[ps[i].ID]; old != nil {
				next[old.Policy.ID] = old
			}
			continue
		}
		next[cp.Policy.ID] = cp
	}
	r.mu.RUnlock()
	r.mu.Lock()
	r.policies = next
	r.reindex()
	r.mu.Unlock()
	return errors.Join(errs...)
}

// Apply makes one change visible: a guardrail policy change reloads that
// policy (deleting it when the store no longer has it), a resync reloads
// everything, other kinds are ignored. It fits the server's registry
// sync and rpc.Applier.
func (r *Registry) Apply(ctx context.Context, c store.Change) error {
	switch c.Kind {
	case store.ChangeResync:
		return r.Load(ctx)
	case store.ChangeGuardrailPolicy:
	default:
		return nil
	}
	r.syncMu.Lock()
	defer r.syncMu.Unlock()
	p, err := r.src.GetGuardrailPolicy(ctx, c.ID)
	if errors.Is(err, store.ErrNotFound) {
		r.mu.Lock()
		delete(r.policies, c.ID)
		r.reindex()
		r.mu.Unlock()
		return nil
	}
	if err != nil {
		return fmt.Errorf("guardrails: apply %q: %w", c.ID, err)
	}
	cp, err := r.compile(p)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.policies[cp.Policy.ID] = cp
	r.reindex()
	r.mu.Unlock()
	return nil
}

func (r *Registry) compile(p *store.GuardrailPolicy) (*CompiledPolicy, error) {
	pol, err := FromStore(p)
	if err != nil {
		return nil, fmt.Errorf("guardrails: %w", err)
	}
	if err := openSecrets(r.sealer, &pol); err != nil {
		return nil, fmt.Errorf("guardrails: policy %q: %w: %w", p.ID, ErrInvalidPolicy, err)
	}
	cp, err := r.engine.Compile(pol)
	if err != nil {
		return nil, fmt.Errorf("guardrails: policy %q: %w", p.ID, err)
	}
	return cp, nil
}

// reindex rebuilds byAttach; r.mu must be held for writing.
func (r *Registry) reindex() {
	m := make(map[Attachment][]*CompiledPolicy, len(r.policies))
	for _, cp := range r.policies {
		m[cp.Policy.Attachment] = append(m[cp.Policy.Attachment], cp)
	}
	for _, ps := range m {
		slices.SortFunc(ps, func(a, b *CompiledPolicy) int {
			switch {
			case a.Policy.ID < b.Policy.ID:
				return -1
			case a.Policy.ID > b.Policy.ID:
				return 1
			}
			return 0
		})
	}
	r.byAttach = m
}

// Resolve returns the set of every policy attached to the subject's team,
// service, key and route, merged in that order (by policy id within one
// attachment): broadest first at the input stage, so an organization-wide
// redaction happens before narrower policies and the route's policy, the
// one closest to the provider, sees the final prompt; the output stage
// runs in reverse, so the team's policy sees the final answer.
func (r *Registry) Resolve(s Subject) *Set {
	ids := [...]string{s.TeamID, s.ServiceID, s.KeyID, s.Route}
	r.mu.RLock()
	var ps []*CompiledPolicy
	for i, k := range attachOrder {
		if ids[i] != "" {
			ps = append(ps, r.byAttach[Attachment{Kind: k, ID: ids[i]}]...)
		}
	}
	r.mu.RUnlock()
	if len(ps) == 0 {
		return nil
	}
	return NewSet(ps...)
}
