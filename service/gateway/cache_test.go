package gateway

import (
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/semcache"
	"github.com/tollgate-dev/tollgate/service/registry"
	"github.com/tollgate-dev/tollgate/service/routing"
	"github.com/tollgate-dev/tollgate/service/store"
)

func TestCachePolicy(t *testing.T) {
	t.Parallel()
	defaults := CacheConfig{Policy: semcache.Policy{Mode: semcache.ModeExact, Threshold: 0.9, TTL: time.Hour}, Scope: "team"}
	key := &registry.Key{Key: store.Key{ID: "k1", TeamID: "t1"}}
	withCache := func(c *routing.Cache) *registry.Key {
		return &registry.Key{Key: store.Key{ID: "k1", TeamID: "t1"}, Cache: c}
	}
	plain := func(upstream string) *registry.Route {
		return &registry.Route{Route: routing.Single("alias-of-"+upstream, routing.Target{Provider: "p", Model: upstream}),
			Serving: []registry.Serving{{ProviderID: "p", UpstreamModel: upstream}}}
	}
	route := func(c *routing.Cache) *registry.Route {
		return &registry.Route{Route: &routing.Route{Name: "smart", Cache: c}, Alias: true,
			Serving: []registry.Serving{{ProviderID: "p", UpstreamModel: "m1"}, {ProviderID: "q", UpstreamModel: "m2"}}}
	}
	tests := []struct {
		name      string
		cfg       CacheConfig
		rt        *registry.Route
		key       *registry.Key
		wantMode  semcache.Mode
		wantThr   float64
		wantTTL   time.Duration
		wantNS    string
		wantModel string
	}{
		{name: "plain model takes defaults and its upstream model", cfg: defaults, rt: plain("gpt-x"), key: key,
			wantMode: semcache.ModeExact, wantThr: 0.9, wantTTL: time.Hour, wantNS: "team:t1", wantModel: "gpt-x"},
		{name: "route without policy keys on its name", cfg: defaults, rt: route(nil), key: key,
			wantMode: semcache.ModeExact, wantThr: 0.9, wantTTL: time.Hour, wantNS: "team:t1", wantModel: "smart"},
		{name: "route policy overrides set fields only", cfg: defaults,
			rt: route(&routing.Cache{Mode: "semantic", TTL: routing.Duration(time.Minute), Namespace: "key"}), key: key,
			wantMode: semcache.ModeSemantic, wantThr: 0.9, wantTTL: time.Minute, wantNS: "key:k1", wantModel: "smart"},
		{name: "route turns the cache off", cfg: defaults, rt: route(&routing.Cache{Mode: "off"}), key: key,
			wantMode: semcache.ModeOff, wantThr: 0.9, wantTTL: time.Hour, wantNS: "team:t1", wantModel: "smart"},
		{name: "shared namespace and threshold", cfg: defaults, rt: route(&routing.Cache{Threshold: 0.8, Namespace: "shared:faq"}), key: key,
			wantMode: semcache.ModeExact, wantThr: 0.8, wantTTL: time.Hour, wantNS: "shared:faq", wantModel: "smart"},
		{name: "key without team never shares", cfg: defaults, rt: plain("gpt-x"), key: &registry.Key{Key: store.Key{ID: "k2"}},
			wantMode: semcache.ModeExact, wantThr: 0.9, wantTTL: time.Hour, wantNS: "key:k2", wantModel: "gpt-x"},
		{name: "empty default scope is team", cfg: CacheConfig{}, rt: plain("gpt-x"), key: key,
			wantMode: semcache.ModeOff, wantNS: "team:t1", wantModel: "gpt-x"},
		{name: "key policy overrides the route's field by field", cfg: defaults,
			rt:       route(&routing.Cache{Mode: "semantic", Threshold: 0.8, TTL: routing.Duration(time.Minute)}),
			key:      withCache(&routing.Cache{Threshold: 0.97}),
			wantMode: semcache.ModeSemantic, wantThr: 0.97, wantTTL: time.Minute, wantNS: "team:t1", wantModel: "smart"},
		{name: "key turns the cache off on a caching route", cfg: defaults, rt: route(&routing.Cache{Mode: "semantic"}),
			key:      withCache(&routing.Cache{Mode: "off"}),
			wantMode: semcache.ModeOff, wantThr: 0.9, wantTTL: time.Hour, wantNS: "team:t1", wantModel: "smart"},
		{name: "key policy over defaults without a route policy", cfg: defaults, rt: plain("gpt-x"),
			key:      withCache(&routing.Cache{Mode: "semantic", TTL: routing.Duration(time.Second), Namespace: "key"}),
			wantMode: semcache.ModeSemantic, wantThr: 0.9, wantTTL: time.Second, wantNS: "key:k1", wantModel: "gpt-x"},
		{name: "key narrows a shared route to its team", cfg: defaults, rt: route(&routing.Cache{Namespace: "shared:faq"}),
			key:      withCache(&routing.Cache{Namespace: "team"}),
			wantMode: semcache.ModeExact, wantThr: 0.9, wantTTL: time.Hour, wantNS: "team:t1", wantModel: "smart"},
		{name: "key without namespace keeps the route's shared one", cfg: defaults, rt: route(&routing.Cache{Namespace: "shared:faq"}),
			key:      withCache(&routing.Cache{Mode: "semantic"}),
			wantMode: semcache.ModeSemantic, wantThr: 0.9, wantTTL: time.Hour, wantNS: "shared:faq", wantModel: "smart"},
		{name: "empty key policy changes nothing", cfg: defaults, rt: route(&routing.Cache{Mode: "semantic", Threshold: 0.8}),
			key:      withCache(&routing.Cache{}),
			wantMode: semcache.ModeSemantic, wantThr: 0.8, wantTTL: time.Hour, wantNS: "team:t1", wantModel: "smart"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := &Engine{cacheCfg: tt.cfg}
			p, ns := e.cachePolicy(tt.rt, tt.key)
			if p.Mode != tt.wantMode || p.Threshold != tt.wantThr || p.TTL != tt.wantTTL || ns != tt.wantNS {
				t.Errorf("cachePolicy = %+v, %q; want mode %v threshold %v ttl %v namespace %q", p, ns, tt.wantMode, tt.wantThr, tt.wantTTL, tt.wantNS)
			}
			if got := cacheModel(tt.rt); got != tt.wantModel {
				t.Errorf("cacheModel = %q, want %q", got, tt.wantModel)
			}
		})
	}
}
