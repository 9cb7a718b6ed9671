package edge_test

import (
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/semcache"
	"github.com/tollgate-dev/tollgate/service/edge"
	"github.com/tollgate-dev/tollgate/service/gateway"
	"github.com/tollgate-dev/tollgate/service/guardrails"
)

func TestCacheDirectives(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		header  http.Header
		want    semcache.Directives
		wantErr bool
	}{
		{name: "none", header: http.Header{}},
		{name: "no-cache", header: http.Header{"Cache-Control": {"no-cache"}}, want: semcache.Directives{NoCache: true}},
		{name: "both", header: http.Header{"Cache-Control": {"No-Store, no-cache", "max-age=0"}}, want: semcache.Directives{NoCache: true, NoStore: true}},
		{name: "refresh and ttl", header: http.Header{"X-Tollgate-Cache-Refresh": {"true"}, "X-Tollgate-Cache-Ttl": {"300"}}, want: semcache.Directives{Refresh: true, TTL: 300 * time.Second}},
		{name: "bad ttl", header: http.Header{"X-Tollgate-Cache-Ttl": {"5m"}, "Cache-Control": {"no-store"}}, want: semcache.Directives{NoStore: true}, wantErr: true},
		{name: "negative ttl", header: http.Header{"X-Tollgate-Cache-Ttl": {"-1"}}, wantErr: true},
		{name: "ttl over a year", header: http.Header{"X-Tollgate-Cache-Ttl": {"31622400"}}, wantErr: true},
		{name: "bad refresh", header: http.Header{"X-Tollgate-Cache-Refresh": {"yes please"}}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := edge.CacheDirectives(tt.header)
			var inv *gateway.InvalidRequestError
			if got != tt.want || (err != nil) != tt.wantErr || (err != nil && (!errors.As(err, &inv) || inv.Param != "header")) {
				t.Errorf("CacheDirectives = %+v, %v; want %+v, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestResponseHeaders(t *testing.T) {
	t.Parallel()
	h := http.Header{}
	edge.SetServedHeaders(h, "openai", "gpt-4o-mini", "smart", 2)
	edge.SetCacheHeaders(h, semcache.StatusHitSemantic, 0.97123)
	edge.SetGuardrailHeader(h, []guardrails.Verdict{{Policy: "p", Guardrail: "pii", Action: guardrails.ActionMutate}})
	want := map[string]string{
		"X-Tollgate-Provider": "openai", "X-Tollgate-Model": "gpt-4o-mini", "X-Tollgate-Route": "smart", "X-Tollgate-Attempts": "2",
		"X-Tollgate-Cache": "hit-semantic", "X-Tollgate-Cache-Score": "0.9712", "X-Tollgate-Guardrails": "p/pii:mutate",
	}
	checkHeaders(t, "served", h, want)
	// The values share one array: adding to one header must not change
	// the next.
	h.Add("X-Tollgate-Provider", "second")
	if got := h.Values("X-Tollgate-Model"); len(got) != 1 || got[0] != "gpt-4o-mini" {
		t.Errorf("after Add to the provider header, model = %q", got)
	}

	h = http.Header{}
	edge.SetServedHeaders(h, "cache", "", "", 0)
	edge.SetCacheHeaders(h, "", 0)
	edge.SetGuardrailHeader(h, nil)
	checkHeaders(t, "minimal", h, map[string]string{"X-Tollgate-Provider": "cache", "X-Tollgate-Model": "", "X-Tollgate-Route": "",
		"X-Tollgate-Attempts": "", "X-Tollgate-Cache": "", "X-Tollgate-Guardrails": ""})
}

func TestServedHeadersAllocs(t *testing.T) {
	h := make(http.Header, 8)
	if n := testing.AllocsPerRun(100, func() { edge.SetServedHeaders(h, "openai", "gpt-4o-mini", "smart", 2) }); n != 1 {
		t.Errorf("SetServedHeaders: %v allocations, want 1 (the values)", n)
	}
}

func TestRequestHeaders(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"Bearer tg-1": "tg-1", "bearer  tg-2 ": "tg-2", "Basic x": "", "Bearer": "", "": ""} {
		h := http.Header{}
		if in != "" {
			h.Set("Authorization", in)
		}
		if got := edge.BearerToken(h); got != want {
			t.Errorf("BearerToken(%q) = %q, want %q", in, got, want)
		}
	}
	var call gateway.Call
	edge.Attribution(&call, http.Header{"X-Tollgate-End-User": {" u-42 "}, "X-Tollgate-Tags": {"env=prod, batch,,"}})
	if call.EndUser != "u-42" || !slices.Equal(call.Tags, []string{"env=prod", "batch"}) {
		t.Errorf("Attribution = %q %q", call.EndUser, call.Tags)
	}
}
