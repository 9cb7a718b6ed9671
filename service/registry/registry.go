// Package registry holds the gateway's configuration in memory: providers
// (with live adapter instances), models, teams and virtual keys. The request
// path reads it without locks or database round trips; it is loaded from the
// store at start and kept fresh by the store's change notifications, so a
// revoked key or a new model reaches every replica within milliseconds.
package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/keys"
	"github.com/tollgate-dev/tollgate/service/routing"
	"github.com/tollgate-dev/tollgate/service/secrets"
	"github.com/tollgate-dev/tollgate/service/store"
)

// Source is the part of the store the registry reads.
type Source interface {
	ListProviders(ctx context.Context) ([]store.Provider, error)
	GetProvider(ctx context.Context, id string) (*store.Provider, error)
	ListModels(ctx context.Context) ([]store.Model, error)
	GetModel(ctx context.Context, name string) (*store.Model, error)
	ListTeams(ctx context.Context) ([]store.Team, error)
	GetTeam(ctx context.Context, id string) (*store.Team, error)
	AllKeys(ctx context.Context) ([]store.Key, error)
	GetKey(ctx context.Context, id string) (*store.Key, error)
	ListRoutes(ctx context.Context) ([]store.Route, error)
	GetRoute(ctx context.Context, name string) (*store.Route, error)
	Watch(ctx context.Context, fn func(store.Change)) error
}

// BuildFunc creates a provider adapter from its configuration.
type BuildFunc func(cfg providers.Config) (providers.Provider, error)

// Key is a virtual key as the request path sees it.
type Key struct {
	store.Key
	// Cache is the key's decoded cache policy (store.Key.CachePolicy), nil
	// for none. A stored policy that cannot be decoded turns the cache off
	// for the key rather than widen what it shares.
	Cache *routing.Cache
	// Subject is set for a caller authenticated by a JWT instead of a
	// virtual key (see NewCallerKey): its end user.
	Subject string
	allowed map[string]struct{}
}

// Allows reports whether the key may use the model or alias name.
func (k *Key) Allows(model string) bool {
	if len(k.allowed) == 0 {
		return true
	}
	_, ok := k.allowed[model]
	return ok
}

// Model is a configured model and the provider that serves it.
type Model struct {
	store.Model
	// Provider is the adapter; nil when the provider could not be built.
	Provider providers.Provider
}

type snapshot struct {
	keysByHash map[[32]byte]*Key
	keysByID   map[string]*Key
	models     map[string]*Model
	providers  map[string]*providerEntry
	teams      map[string]*store.Team
	routes     map[string]*routing.Route // configured routes as stored
	plain      map[string]*Route         // compiled: one per model
	aliases    map[string]*Route         // compiled: one per route
}

type providerEntry struct {
	cfg      store.Provider
	provider providers.Provider // nil when it failed to build
}

// Registry is the in-memory configuration. It is safe for concurrent use:
// readers see immutable snapshots; writers are serialised.
type Registry struct {
	src    Source
	sealer *secrets.Sealer
	build  BuildFunc
	log    *slog.Logger

	snap   atomic.Pointer[snapshot]
	mu     sync.Mutex // serialises writers
	loaded atomic.Bool

	creds CredentialSource // nil: credentials by reference are refused (credentials.go)
	// Freshness (sync.go).
	now       func() time.Time
	bound     time.Duration // staleness bound; 0: none
	reconcile time.Duration // full reload period
	// confirmed is when the view was last confirmed (unix nanos).
	confirmed atomic.Int64
	// failGen counts failed applies and reloads; repaired is the failGen
	// the last successful full load started from. The view is unconfirmed
	// while failGen > repaired.
	failGen, repaired atomic.Uint64
	failures          atomic.Int64
	kick              chan struct{}
	// validated holds, per key id, when the key was last re-read from the
	// store while the view was stale (unix nanos).
	validated sync.Map
	flight    singleflight.Group
	// revalFailed is when a re-read last failed (unix nanos), 0 after a
	// success.
	revalFailed atomic.Int64
}

// Option configures a Registry.
type Option func(*Registry)

// WithStalenessBound makes keys whose view is older than d be re-read from
// the store before use, and refused (ErrStale) when the store cannot
// answer: the bound on how long a revocation can go unnoticed. 0, the
// default, sets no bound (for embedders that do not Run the registry).
func WithStalenessBound(d time.Duration) Option { return func(r *Registry) { r.bound = d } }

// WithReconcileInterval sets the period of Run's full reload
// (DefaultReconcileInterval by default).
func WithReconcileInterval(d time.Duration) Option {
	return func(r *Registry) {
		if d > 0 {
			r.reconcile = d
		}
	}
}

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) Option { return func(r *Registry) { r.now = now } }

// New returns an empty registry; call Load or Run to fill it.
func New(src Source, sealer *secrets.Sealer, build BuildFunc, log *slog.Logger, opts ...Option) *Registry {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Registry{src: src, sealer: sealer, build: build, log: log, now: time.Now, reconcile: DefaultReconcileInterval,
		kick: make(chan struct{}, 1)}
	for _, o := range opts {
		o(r)
	}
	r.snap.Store(&snapshot{
		keysByHash: map[[32]byte]*Key{}, keysByID: map[string]*Key{},
		models: map[string]*Model{}, providers: map[string]*providerEntry{}, teams: map[string]*store.Team{},
		routes: map[string]*routing.Route{}, plain: map[string]*Route{}, aliases: map[string]*Route{},
	})
	return r
}

// Loaded reports whether a full load has completed.
func (r *Registry) Loaded() bool { return r.loaded.Load() }

// Apply brings the entity named by c up to date (all of them for a resync).
// Admin handlers call it after a write so the change is visible on this
// replica before they return.
func (r *Registry) Apply(ctx context.Context, c store.Change) error {
	if c.Kind == store.ChangeResync {
		return r.Load(ctx)
	}
	// Read and update under the writers' lock, as Load does: two applies
	// of one entity (an admin call's and the notification of an earlier
	// write) then update it in the order they read the store, so that an
	// older read never overwrites a newer one (a revoked key coming back).
	r.mu.Lock()
	defer r.mu.Unlock()
	switch c.Kind {
	case store.ChangeKey:
		k, err := r.src.GetKey(ctx, c.ID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("load key %s: %w", c.ID, err)
		}
		r.updateLocked(func(s *snapshot) { s.setKey(c.ID, k) })
	case store.ChangeTeam:
		t, err := r.src.GetTeam(ctx, c.ID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("load team %s: %w", c.ID, err)
		}
		r.updateLocked(func(s *snapshot) {
			s.teams = maps.Clone(s.teams)
			if t == nil {
				delete(s.teams, c.ID)
			} else {
				s.teams[c.ID] = t
			}
		})
	case store.ChangeModel:
		m, err := r.src.GetModel(ctx, c.ID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("load model %s: %w", c.ID, err)
		}
		r.updateLocked(func(s *snapshot) {
			s.models = maps.Clone(s.models)
			if m == nil {
				delete(s.models, c.ID)
			} else {
				s.models[c.ID] = s.resolve(*m)
			}
			s.compile()
		})
	case store.ChangeProvider:
		p, err := r.src.GetProvider(ctx, c.ID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("load provider %s: %w", c.ID, err)
		}
		var entry *providerEntry
		if p != nil {
			entry = r.buildProvider(*p)
		}
		r.updateLocked(func(s *snapshot) { s.setProvider(c.ID, entry) })
	case store.ChangeBudget, store.ChangeRateLimit:
		// Package governance follows these.
	case store.ChangeServiceAccount, store.ChangeServiceAccountToken, store.ChangeRoleBinding,
		store.ChangeCredentials, store.ChangeMasterKey:
		// Package identity and the server's credential watcher follow these.
	case store.ChangeGuardrailPolicy:
		// Package guardrails follows these.
	case store.ChangeRoute:
		return r.applyRouteLocked(ctx, c.ID)
	default:
		return fmt.Errorf("unknown change kind %q", c.Kind)
	}
	return nil
}

// Load replaces the whole registry with the store's current state.
func (r *Registry) Load(ctx context.Context) error {
	// Hold the writers' lock while reading the store: a change applied
	// concurrently (an admin call on this replica) then lands on top of
	// the loaded state instead of being overwritten by an older read.
	r.mu.Lock()
	defer r.mu.Unlock()
	start, gen := r.now(), r.failGen.Load()
	ps, err := r.src.ListProviders(ctx)
	if err != nil {
		return fmt.Errorf("load providers: %w", err)
	}
	ms, err := r.src.ListModels(ctx)
	if err != nil {
		return fmt.Errorf("load models: %w", err)
	}
	ts, err := r.src.ListTeams(ctx)
	if err != nil {
		return fmt.Errorf("load teams: %w", err)
	}
	rs, err := r.loadRoutes(ctx)
	if err != nil {
		return err
	}
	ks, err := r.src.AllKeys(ctx)
	if err != nil {
		return fmt.Errorf("load keys: %w", err)
	}
	s := &snapshot{
		keysByHash: make(map[[32]byte]*Key, 2*len(ks)),
		keysByID:   make(map[string]*Key, len(ks)),
		models:     make(map[string]*Model, len(ms)),
		providers:  make(map[string]*providerEntry, len(ps)),
		teams:      make(map[string]*store.Team, len(ts)),
		routes:     rs,
	}
	old := r.snap.Load().providers
	reused := 0
	for _, p := range ps {
		if e := old[p.ID]; e != nil && sameProvider(&e.cfg, &p) {
			s.providers[p.ID] = e // keep the adapter and its connections
			reused++
			continue
		}
		s.providers[p.ID] = r.buildProvider(p)
	}
	for _, m := range ms {
		s.models[m.Name] = s.resolve(m)
	}
	for i := range ts {
		s.teams[ts[i].ID] = &ts[i]
	}
	for i := range ks {
		s.addKey(newKey(&ks[i]))
	}
	s.compile()
	r.snap.Store(s)
	first := !r.loaded.Swap(true)
	r.loadedFrom(start, gen)
	if first || reused < len(ps) {
		r.log.Info("registry loaded", "providers", len(ps), "models", len(ms), "teams", len(ts), "keys", len(ks))
	} else {
		r.log.Debug("registry reloaded", "providers", len(ps), "models", len(ms), "teams", len(ts), "keys", len(ks))
	}
	return nil
}

// sameProvider reports whether b configures the same adapter as a.
func sameProvider(a, b *store.Provider) bool {
	return a.Type == b.Type && a.BaseURL == b.BaseURL && a.UpdatedAt.Equal(b.UpdatedAt) &&
		maps.Equal(a.Settings, b.Settings) && bytes.Equal(a.SealedCredential, b.SealedCredential)
}

func (r *Registry) update(fn func(s *snapshot)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.updateLocked(fn)
}

// updateLocked is update with r.mu held.
func (r *Registry) updateLocked(fn func(s *snapshot)) {
	next := *r.snap.Load()
	fn(&next)
	r.snap.Store(&next)
}

func (r *Registry) buildProvider(p store.Provider) *providerEntry {
	entry := &providerEntry{cfg: p}
	credential, err := r.credential(p)
	if err != nil {
		r.log.Error("registry: cannot get provider credential; provider disabled", "provider", p.ID, "err", err)
		return entry
	}
	prov, err := r.build(providers.Config{ID: p.ID, Type: p.Type, BaseURL: p.BaseURL, APIKey: credential, Settings: p.Settings})
	if err != nil {
		r.log.Error("registry: cannot build provider; provider disabled", "provider", p.ID, "err", err)
		return entry
	}
	entry.provider = prov
	return entry
}

func (s *snapshot) resolve(m store.Model) *Model {
	out := &Model{Model: m}
	if m.UpstreamModel == "" {
		out.UpstreamModel = m.Name
	}
	if p := s.providers[m.ProviderID]; p != nil {
		out.Provider = p.provider
	}
	return out
}

func newKey(k *store.Key) *Key {
	out := &Key{Key: *k}
	if c, err := routing.ParseKeyCache(k.CachePolicy); err != nil {
		out.Cache = &routing.Cache{Mode: routing.CacheModeOff}
	} else {
		out.Cache = c
	}
	if len(k.AllowedModels) > 0 {
		out.allowed = make(map[string]struct{}, len(k.AllowedModels))
		for _, m := range k.AllowedModels {
			out.allowed[m] = struct{}{}
		}
	}
	return out
}

func (s *snapshot) addKey(k *Key) {
	s.keysByID[k.ID] = k
	if h, ok := hash32(k.SecretHash); ok {
		s.keysByHash[h] = k
	}
	if h, ok := hash32(k.PrevSecretHash); ok {
		s.keysByHash[h] = k
	}
}

func (s *snapshot) setKey(id string, k *store.Key) {
	s.keysByID = maps.Clone(s.keysByID)
	s.keysByHash = maps.Clone(s.keysByHash)
	if old := s.keysByID[id]; old != nil {
		delete(s.keysByID, id)
		for _, h := range [][]byte{old.SecretHash, old.PrevSecretHash} {
			if hh, ok := hash32(h); ok && s.keysByHash[hh] == old {
				delete(s.keysByHash, hh)
			}
		}
	}
	if k != nil {
		s.addKey(newKey(k))
	}
}

func hash32(b []byte) ([32]byte, bool) {
	var h [32]byte
	if len(b) != len(h) {
		return h, false
	}
	copy(h[:], b)
	return h, true
}

// KeyMatch is the result of looking up a secret.
type KeyMatch struct {
	Key *Key
	// Previous is true when the secret is the key's pre-rotation secret.
	Previous bool
}

// LookupSecret finds the key whose current or previous secret is secret.
// It hashes the secret and compares hashes in constant time.
func (r *Registry) LookupSecret(secret string) (KeyMatch, bool) {
	h := keys.Hash(secret)
	k := r.snap.Load().keysByHash[h]
	if k == nil {
		return KeyMatch{}, false
	}
	if keys.Equal(k.SecretHash, h[:]) {
		return KeyMatch{Key: k}, true
	}
	if keys.Equal(k.PrevSecretHash, h[:]) {
		return KeyMatch{Key: k, Previous: true}, true
	}
	return KeyMatch{}, false
}

// Model returns the configured model by name.
func (r *Registry) Model(name string) (*Model, bool) {
	m, ok := r.snap.Load().models[name]
	return m, ok
}

// Models returns all configured models, in no particular order.
func (r *Registry) Models() []*Model {
	s := r.snap.Load()
	out := make([]*Model, 0, len(s.models))
	for _, m := range s.models {
		out = append(out, m)
	}
	return out
}

// Provider returns the adapter of a provider id; ok is false when the
// provider is unknown or could not be built.
func (r *Registry) Provider(id string) (providers.Provider, bool) {
	p := r.snap.Load().providers[id]
	if p == nil || p.provider == nil {
		return nil, false
	}
	return p.provider, true
}

// Team returns a team by id.
func (r *Registry) Team(id string) (*store.Team, bool) {
	t, ok := r.snap.Load().teams[id]
	return t, ok
}
