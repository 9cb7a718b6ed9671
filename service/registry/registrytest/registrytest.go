// Package registrytest feeds a [registry.Registry] from memory, so that
// tests of the request path run without Postgres: they describe providers,
// models, teams, keys and routes in a [Config], hand in their own
// providers.Provider fakes, and get a loaded registry.
//
//	reg, src := registrytest.New(t, registrytest.Config{
//		Providers: []store.Provider{{ID: "p1", Type: "openai"}},
//		Models:    []store.Model{{Name: "m1", ProviderID: "p1"}},
//		Keys:      []store.Key{registrytest.Key("k1", "team-a", secret)},
//	}, map[string]providers.Provider{"p1": fake})
//
// Later changes go through the [Source] and are applied like the store's
// change notifications: src.Update(...) then reg.Apply(ctx, change).
package registrytest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/keys"
	"github.com/tollgate-dev/tollgate/service/registry"
	"github.com/tollgate-dev/tollgate/service/routing"
	"github.com/tollgate-dev/tollgate/service/store"
)

// Config is a configuration held in memory, in the store's types.
type Config struct {
	Providers []store.Provider
	Models    []store.Model
	Teams     []store.Team
	Keys      []store.Key
	Routes    []store.Route
}

// Source is a [registry.Source] over a Config. It is safe for concurrent
// use. Its Watch reports one resync and then waits for its context.
type Source struct {
	mu  sync.Mutex
	cfg Config
}

var _ registry.Source = (*Source)(nil)

// NewSource returns a source serving cfg.
func NewSource(cfg Config) *Source { return &Source{cfg: cfg} }

// Update changes the configuration under the source's lock. The registry
// sees the change once it applies it (Registry.Apply or Load).
func (s *Source) Update(fn func(cfg *Config)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(&s.cfg)
}

// New returns a registry loaded from cfg whose providers are the fakes
// in provs, by provider id. A provider of cfg without a fake fails to
// build and is disabled, as a misconfigured provider is in production.
func New(tb testing.TB, cfg Config, provs map[string]providers.Provider) (*registry.Registry, *Source) {
	tb.Helper()
	src := NewSource(cfg)
	build := func(c providers.Config) (providers.Provider, error) {
		if p, ok := provs[c.ID]; ok {
			return p, nil
		}
		return nil, fmt.Errorf("registrytest: no provider %q", c.ID)
	}
	reg := registry.New(src, nil, build, nil)
	if err := reg.Load(context.Background()); err != nil {
		tb.Fatalf("registrytest: load: %v", err)
	}
	return reg, src
}

// Key returns a key of team (may be "") whose secret is secret.
func Key(id, team, secret string) store.Key {
	h := keys.Hash(secret)
	return store.Key{ID: id, TeamID: team, SecretHash: h[:], SecretPrefix: secret[:min(len(secret), 8)]}
}

// Route returns the stored form of rt. It panics when rt does not
// marshal, which only a broken test can cause.
func Route(rt *routing.Route) store.Route {
	spec, err := rt.Spec()
	if err != nil {
		panic(err)
	}
	return store.Route{Name: rt.Name, Strategy: string(rt.Strategy), Spec: spec}
}

// find returns a copy of the element of xs that match selects.
func find[T any](mu *sync.Mutex, xs *[]T, match func(*T) bool, what, id string) (*T, error) {
	mu.Lock()
	defer mu.Unlock()
	for i := range *xs {
		if match(&(*xs)[i]) {
			v := (*xs)[i]
			return &v, nil
		}
	}
	return nil, fmt.Errorf("%s %q: %w", what, id, store.ErrNotFound)
}

// list returns a copy of xs.
func list[T any](mu *sync.Mutex, xs []T) []T {
	mu.Lock()
	defer mu.Unlock()
	return slices.Clone(xs)
}

// ListProviders implements registry.Source.
func (s *Source) ListProviders(context.Context) ([]store.Provider, error) {
	return list(&s.mu, s.cfg.Providers), nil
}

// GetProvider implements registry.Source.
func (s *Source) GetProvider(_ context.Context, id string) (*store.Provider, error) {
	return find(&s.mu, &s.cfg.Providers, func(p *store.Provider) bool { return p.ID == id }, "provider", id)
}

// ListModels implements registry.Source.
func (s *Source) ListModels(context.Context) ([]store.Model, error) {
	return list(&s.mu, s.cfg.Models), nil
}

// GetModel implements registry.Source.
func (s *Source) GetModel(_ context.Context, name string) (*store.Model, error) {
	return find(&s.mu, &s.cfg.Models, func(m *store.Model) bool { return m.Name == name }, "model", name)
}

// ListTeams implements registry.Source.
func (s *Source) ListTeams(context.Context) ([]store.Team, error) {
	return list(&s.mu, s.cfg.Teams), nil
}

// GetTeam implements registry.Source.
func (s *Source) GetTeam(_ context.Context, id string) (*store.Team, error) {
	return find(&s.mu, &s.cfg.Teams, func(t *store.Team) bool { return t.ID == id }, "team", id)
}

// AllKeys implements registry.Source.
func (s *Source) AllKeys(context.Context) ([]store.Key, error) {
	return list(&s.mu, s.cfg.Keys), nil
}

// GetKey implements registry.Source.
func (s *Source) GetKey(_ context.Context, id string) (*store.Key, error) {
	return find(&s.mu, &s.cfg.Keys, func(k *store.Key) bool { return k.ID == id }, "key", id)
}

// ListRoutes implements registry.Source.
func (s *Source) ListRoutes(context.Context) ([]store.Route, error) {
	return list(&s.mu, s.cfg.Routes), nil
}

// GetRoute implements registry.Source.
func (s *Source) GetRoute(_ context.Context, name string) (*store.Route, error) {
	return find(&s.mu, &s.cfg.Routes, func(r *store.Route) bool { return r.Name == name }, "route", name)
}

// Watch implements registry.Source: it reports a resync, then waits
// until ctx ends and returns its error.
func (s *Source) Watch(ctx context.Context, fn func(store.Change)) error {
	fn(store.Change{Kind: store.ChangeResync})
	<-ctx.Done()
	return ctx.Err()
}
