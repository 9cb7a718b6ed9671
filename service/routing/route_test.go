package routing_test

import (
	"errors"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/service/routing"
)

type catalog struct{ providers, models, routes map[string]bool }

func (c catalog) HasProvider(id string) bool { return c.providers[id] }
func (c catalog) HasModel(n string) bool     { return c.models[n] }
func (c catalog) HasRoute(n string) bool     { return c.routes[n] }

var _ routing.Catalog = catalog{}

func TestValidate(t *testing.T) {
	t.Parallel()
	two := []routing.Target{{Provider: "a", Model: "m"}, {Provider: "b", Model: "m"}}
	tests := []struct {
		name  string
		route routing.Route
		ok    bool
	}{
		{"fallback", routing.Route{Name: "r", Strategy: routing.StrategyFallback, Targets: two}, true},
		{"no name", routing.Route{Strategy: routing.StrategyFallback, Targets: two}, false},
		{"bad strategy", routing.Route{Name: "r", Strategy: "random", Targets: two}, false},
		{"no targets", routing.Route{Name: "r", Strategy: routing.StrategyFallback}, false},
		{"no model", routing.Route{Name: "r", Strategy: routing.StrategyFallback, Targets: []routing.Target{{Provider: "a"}}}, false},
		{"weights zero", routing.Route{Name: "r", Strategy: routing.StrategyWeighted, Targets: two}, false},
		{"weights ok", routing.Route{Name: "r", Strategy: routing.StrategyWeighted,
			Targets: []routing.Target{{Provider: "a", Model: "m", Weight: 1}, {Provider: "b", Model: "m"}}}, true},
		{"negative weight", routing.Route{Name: "r", Strategy: routing.StrategyFallback,
			Targets: []routing.Target{{Provider: "a", Model: "m", Weight: -1}}}, false},
		{"self", routing.Route{Name: "r", Strategy: routing.StrategyFallback, Targets: []routing.Target{{Model: "r"}}}, false},
		{"negative timeout", routing.Route{Name: "r", Strategy: routing.StrategyFallback,
			Targets: []routing.Target{{Provider: "a", Model: "m", Timeout: routing.Duration(-time.Second)}}}, false},
		{"condition out of range", routing.Route{Name: "r", Strategy: routing.StrategyFallback, Targets: two,
			Conditions: []routing.Condition{{Team: "t", Targets: []int{2}}}}, false},
		{"condition empty", routing.Route{Name: "r", Strategy: routing.StrategyFallback, Targets: two,
			Conditions: []routing.Condition{{Team: "t"}}}, false},
		{"backoff inverted", routing.Route{Name: "r", Strategy: routing.StrategyFallback, Targets: two,
			Retry: routing.Retry{BackoffBase: routing.Duration(time.Second), BackoffMax: routing.Duration(time.Millisecond)}}, false},
		{"too many attempts", routing.Route{Name: "r", Strategy: routing.StrategyFallback, Targets: two, Retry: routing.Retry{MaxAttempts: 11}}, false},
		{"negative cooldown", routing.Route{Name: "r", Strategy: routing.StrategyFallback, Targets: two,
			Breaker: routing.Breaker{Cooldown: routing.Duration(-1)}}, false},
		{"cache semantic", routing.Route{Name: "r", Strategy: routing.StrategyFallback, Targets: two,
			Cache: &routing.Cache{Mode: "semantic", Threshold: 0.9, TTL: routing.Duration(time.Minute), Namespace: "shared:faq"}}, true},
		{"cache empty", routing.Route{Name: "r", Strategy: routing.StrategyFallback, Targets: two, Cache: &routing.Cache{}}, true},
		{"cache bad mode", routing.Route{Name: "r", Strategy: routing.StrategyFallback, Targets: two,
			Cache: &routing.Cache{Mode: "fuzzy"}}, false},
		{"cache threshold above 1", routing.Route{Name: "r", Strategy: routing.StrategyFallback, Targets: two,
			Cache: &routing.Cache{Threshold: 1.5}}, false},
		{"cache negative ttl", routing.Route{Name: "r", Strategy: routing.StrategyFallback, Targets: two,
			Cache: &routing.Cache{TTL: routing.Duration(-time.Second)}}, false},
		{"cache shared without name", routing.Route{Name: "r", Strategy: routing.StrategyFallback, Targets: two,
			Cache: &routing.Cache{Namespace: "shared:"}}, false},
		{"cache unknown scope", routing.Route{Name: "r", Strategy: routing.StrategyFallback, Targets: two,
			Cache: &routing.Cache{Namespace: "org"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.route.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, routing.ErrInvalidRoute) {
				t.Fatalf("error %v does not wrap ErrInvalidRoute", err)
			}
		})
	}
}

func TestCheckRefs(t *testing.T) {
	t.Parallel()
	cat := catalog{
		providers: map[string]bool{"openai": true},
		models:    map[string]bool{"gpt-4o": true},
		routes:    map[string]bool{"smart": true},
	}
	tests := []struct {
		name   string
		target routing.Target
		ok     bool
	}{
		{"provider and upstream model", routing.Target{Provider: "openai", Model: "anything"}, true},
		{"configured model", routing.Target{Model: "gpt-4o"}, true},
		{"unknown provider", routing.Target{Provider: "nope", Model: "x"}, false},
		{"unknown model", routing.Target{Model: "nope"}, false},
		{"another route", routing.Target{Model: "smart"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := routing.Route{Name: "r", Strategy: routing.StrategyFallback, Targets: []routing.Target{tt.target}}
			if err := r.CheckRefs(cat); (err == nil) != tt.ok {
				t.Fatalf("CheckRefs() = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestSpecRoundTrip(t *testing.T) {
	t.Parallel()
	in := routing.Route{Name: "r", Strategy: routing.StrategyWeighted,
		Targets: []routing.Target{{Provider: "a", Model: "m", Weight: 3, Timeout: routing.Duration(250 * time.Millisecond),
			Price: &routing.Price{InputPerMillion: 5, OutputPerMillion: 7}, ContextWindow: 1000}},
		Breaker:           routing.Breaker{Failures: 2, Cooldown: routing.Duration(time.Second)},
		FirstChunkTimeout: routing.Duration(2 * time.Second),
		Cache:             &routing.Cache{Mode: "exact", TTL: routing.Duration(time.Minute), Namespace: "key"},
	}
	spec, err := in.Spec()
	if err != nil {
		t.Fatal(err)
	}
	out, err := routing.ParseRoute("r", routing.StrategyWeighted, spec)
	if err != nil {
		t.Fatalf("ParseRoute(%s): %v", spec, err)
	}
	if out.Targets[0].Timeout != in.Targets[0].Timeout || out.Breaker != in.Breaker || *out.Targets[0].Price != *in.Targets[0].Price ||
		out.FirstChunkTimeout != in.FirstChunkTimeout || out.Targets[0].Weight != 3 || out.Cache == nil || *out.Cache != *in.Cache {
		t.Fatalf("round trip of %s = %+v", spec, out)
	}
	if _, err := routing.ParseRoute("r", routing.StrategyFallback, []byte(`{"targets":[{"provider":"a","model":"m","timeout":"soon"}]}`)); err == nil {
		t.Fatal("bad duration accepted")
	}
}
