package registrytest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/registry/registrytest"
	"github.com/tollgate-dev/tollgate/service/routing"
	"github.com/tollgate-dev/tollgate/service/store"
)

// stub is the least providers.Provider.
type stub struct{ id string }

var _ providers.Provider = stub{}

func (s stub) ID() string                           { return s.id }
func (s stub) Capabilities() providers.Capabilities { return providers.Capabilities{Tools: true} }
func (s stub) Chat(context.Context, *providers.ChatRequest) (*providers.ChatResponse, error) {
	return nil, errors.New("stub")
}
func (s stub) ChatStream(context.Context, *providers.ChatRequest) (providers.Stream, error) {
	return nil, errors.New("stub")
}

func TestSourceFeedsRegistry(t *testing.T) {
	t.Parallel()
	reg, src := registrytest.New(t, registrytest.Config{
		Providers: []store.Provider{{ID: "p1", Type: "openai"}, {ID: "nofake", Type: "openai"}},
		Models:    []store.Model{{Name: "m1", ProviderID: "p1"}, {Name: "m2", ProviderID: "nofake"}},
		Teams:     []store.Team{{ID: "t1"}},
		Keys:      []store.Key{registrytest.Key("k1", "t1", "tg-secret")},
		Routes: []store.Route{registrytest.Route(&routing.Route{Name: "r", Strategy: routing.StrategyFallback,
			Targets: []routing.Target{{Model: "m1"}}})},
	}, map[string]providers.Provider{"p1": stub{"p1"}})

	if m, ok := reg.LookupSecret("tg-secret"); !ok || m.Key.ID != "k1" {
		t.Fatalf("LookupSecret = %+v, %v", m, ok)
	}
	if p, ok := reg.Provider("p1"); !ok || p.ID() != "p1" {
		t.Errorf("Provider(p1) = %v, %v", p, ok)
	}
	if _, ok := reg.Provider("nofake"); ok {
		t.Error("a provider without a fake is usable")
	}
	if rt, ok := reg.Route("r"); !ok || rt.Serving[0].Provider == nil || rt.Serving[0].UpstreamModel != "m1" {
		t.Errorf("Route(r) = %+v, %v", rt, ok)
	}

	// A change reaches the registry when it is applied, as a notification.
	revoked := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	src.Update(func(c *registrytest.Config) { c.Keys[0].RevokedAt = revoked })
	if m, _ := reg.LookupSecret("tg-secret"); !m.Key.RevokedAt.IsZero() {
		t.Error("a change was visible before it was applied")
	}
	if err := reg.Apply(t.Context(), store.Change{Kind: store.ChangeKey, ID: "k1"}); err != nil {
		t.Fatal(err)
	}
	if m, _ := reg.LookupSecret("tg-secret"); !m.Key.RevokedAt.Equal(revoked) {
		t.Errorf("RevokedAt = %v after Apply", m.Key.RevokedAt)
	}
	if _, err := src.GetModel(t.Context(), "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetModel(nope) = %v, want ErrNotFound", err)
	}

	// Run resyncs once and returns when its context ends.
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- reg.Run(ctx) }()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}
