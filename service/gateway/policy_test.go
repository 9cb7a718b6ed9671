package gateway

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/semcache"
	"github.com/tollgate-dev/tollgate/service/guardrails"
	"github.com/tollgate-dev/tollgate/service/store"
)

// policies is an in-memory guardrails.PolicySource.
type policies map[string]store.GuardrailPolicy

var _ guardrails.PolicySource = policies(nil)

func (p policies) GetGuardrailPolicy(_ context.Context, id string) (*store.GuardrailPolicy, error) {
	if v, ok := p[id]; ok {
		return &v, nil
	}
	return nil, fmt.Errorf("policy %q: %w", id, store.ErrNotFound)
}

func (p policies) ListGuardrailPolicies(context.Context) ([]store.GuardrailPolicy, error) {
	out := make([]store.GuardrailPolicy, 0, len(p))
	for _, v := range p {
		out = append(out, v)
	}
	return out, nil
}

// withTeamPolicy runs a guardrail policy attached to team-a, with the
// given guardrails (a JSON array).
func withTeamPolicy(t testing.TB, guardrailsJSON string) Option {
	t.Helper()
	eng := guardrails.New()
	reg := guardrails.NewRegistry(eng, policies{"team": {ID: "team", AttachKind: "team", AttachTo: "team-a",
		Spec: []byte(`{"guardrails":` + guardrailsJSON + `}`)}})
	if err := reg.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	return WithGuardrails(eng, reg)
}

// withMemoryCache caches every request exactly for an hour, in memory.
func withMemoryCache() Option {
	return WithCache(semcache.NewMemory(), CacheConfig{Policy: semcache.Policy{Mode: semcache.ModeExact, TTL: time.Hour}})
}

// TestGuardrailDecisions runs input and output guardrails on unary and
// streamed requests: what the upstream saw, what the caller got, and
// what was recorded.
func TestGuardrailDecisions(t *testing.T) {
	t.Parallel()
	const (
		blockWord = `{"name":"words","kind":"denylist","mode":"validate","on_match":"block","config":{"words":["forbidden"]}}`
		flagWord  = `{"name":"words","kind":"denylist","mode":"validate","on_match":"flag","config":{"words":["dubious"]}}`
		pii       = `{"name":"pii","kind":"pii","stage":"both","mode":"mutate","config":{"types":["email"],"reversible":true}}`
		outBlock  = `{"name":"leak","kind":"denylist","stage":"output","mode":"validate","on_match":"block","config":{"words":["secretword"]}}`
		outSecret = `{"name":"secrets","kind":"secrets","stage":"output","mode":"mutate"}`
		apiKey    = "sk-proj-Zq8rT2vX9wLk4mNp7sBc3dFg6hJy1uQe"
	)
	tests := []struct {
		name       string
		rails      string
		prompt     string
		reply      string // the upstream's answer; default echo
		upstream   string // what the upstream must have seen ("" when not called)
		want       string // the caller's answer
		blocked    bool
		verdicts   string
		status     store.Status
		streamOnly bool
	}{
		{name: "input block", rails: blockWord, prompt: "say forbidden things", blocked: true,
			verdicts: "team/words:block", status: store.StatusForbidden},
		{name: "input flag", rails: flagWord, prompt: "a dubious request", upstream: "a dubious request",
			want: "echo: a dubious request", verdicts: "team/words:flag", status: store.StatusOK},
		{name: "input rewrite, restored in the answer", rails: pii, prompt: "mail ann@example.com", upstream: "mail [EMAIL_1]",
			want: "echo: mail ann@example.com", verdicts: "team/pii:mutate", status: store.StatusOK},
		{name: "output block", rails: outBlock, prompt: "tell me", reply: "the secretword is out", upstream: "tell me",
			blocked: true, verdicts: "team/leak:block", status: store.StatusForbidden},
		{name: "output rewrite", rails: outSecret, prompt: "a key please", reply: "here: " + apiKey + " done", upstream: "a key please",
			want: "here: [API_KEY_1] done", verdicts: "team/secrets:mutate", status: store.StatusOK},
	}
	for _, tt := range tests {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stream=%v", tt.name, stream), func(t *testing.T) {
				t.Parallel()
				synctest.Test(t, func(t *testing.T) {
					h := newHarness(t, nil, withTeamPolicy(t, "["+tt.rails+"]"))
					h.p("p1").then(behavior{text: tt.reply})
					call := h.call()
					var got string
					var err error
					var vs []guardrails.Verdict
					if stream {
						var s *Stream
						if s, err = h.eng.ChatStream(t.Context(), call, userReq("m1", tt.prompt)); err == nil {
							got, err = drain(t.Context(), s)
							vs = s.Guardrails()
							_ = s.Close()
						}
					} else {
						var res *ChatResult
						if res, err = h.eng.Chat(t.Context(), call, userReq("m1", tt.prompt)); err == nil {
							got, vs = res.Response.Choices[0].Message.Text(), res.Guardrails
						}
					}
					if tt.blocked != errors.Is(err, guardrails.ErrBlocked) {
						t.Fatalf("err = %v, want blocked: %v", err, tt.blocked)
					}
					if !tt.blocked && (err != nil || got != tt.want) {
						t.Errorf("answer %q, %v; want %q", got, err, tt.want)
					}
					if tt.blocked && strings.Contains(got, "secretword") {
						t.Errorf("blocked text reached the caller: %q", got)
					}
					calls := h.p("p1").received()
					switch {
					case tt.upstream == "" && len(calls) != 0:
						t.Errorf("a blocked request reached the upstream")
					case tt.upstream != "" && (len(calls) != 1 || calls[0].req.Messages[0].Text() != tt.upstream):
						t.Errorf("upstream saw %+v, want %q", calls, tt.upstream)
					}
					if !tt.blocked && GuardrailSummary(vs) != tt.verdicts {
						t.Errorf("verdicts %q, want %q", GuardrailSummary(vs), tt.verdicts)
					}
					rec := h.rec.one(t, call.RequestID)
					var rv []string
					for _, v := range rec.Guardrails {
						rv = append(rv, v.Policy+"/"+v.Guardrail+":"+v.Action)
					}
					if rec.Status != tt.status || strings.Join(rv, ",") != tt.verdicts {
						t.Errorf("record %v with verdicts %v, want %v with %q", rec.Status, rv, tt.status, tt.verdicts)
					}
					if tt.status == store.StatusForbidden && rec.ErrorCode != "guardrail_blocked" {
						t.Errorf("record error code %q", rec.ErrorCode)
					}
				})
			})
		}
	}
}

// TestCacheDecisions walks one question through the response cache:
// miss, hit (unary and streamed), refresh, no-store, no-cache, and the
// answers that must never be stored.
func TestCacheDecisions(t *testing.T) {
	t.Parallel()
	type step struct {
		name     string
		stream   bool
		d        semcache.Directives
		script   *behavior // the upstream's answer when called
		closeAt  int       // stream: close after this many chunks (0: read all)
		status   semcache.Status
		upstream bool   // the upstream was called
		want     string // the answer
		prompt   string // default "q"
	}
	fresh := &behavior{text: "fresh answer"}
	tests := []struct {
		name  string
		rails string
		steps []step
	}{
		{name: "unary miss, hits, refresh", steps: []step{
			{name: "miss", status: semcache.StatusMiss, upstream: true, want: "echo: q"},
			{name: "unary hit", status: semcache.StatusHitExact, want: "echo: q"},
			{name: "streamed hit of a unary answer", stream: true, status: semcache.StatusHitExact, want: "echo: q"},
			{name: "refresh", d: semcache.Directives{Refresh: true}, script: fresh, status: semcache.StatusBypass, upstream: true, want: "fresh answer"},
			{name: "hit of the refreshed answer", status: semcache.StatusHitExact, want: "fresh answer"},
		}},
		{name: "stream miss is stored on a clean end", steps: []step{
			{name: "miss", stream: true, status: semcache.StatusMiss, upstream: true, want: "echo: q"},
			{name: "streamed hit", stream: true, status: semcache.StatusHitExact, want: "echo: q"},
			{name: "unary hit", status: semcache.StatusHitExact, want: "echo: q"},
		}},
		{name: "a cut-off stream is not stored", steps: []step{
			{name: "cut off", stream: true, closeAt: 1, status: semcache.StatusMiss, upstream: true, want: "echo: "},
			{name: "still a miss", status: semcache.StatusMiss, upstream: true, want: "echo: q"},
		}},
		{name: "a stream that died is not stored", steps: []step{
			{name: "dies", stream: true, script: &behavior{after: 1, midErr: upstreamErr("p1", providers.KindConnection, 0)},
				status: semcache.StatusMiss, upstream: true, want: "echo: "},
			{name: "still a miss", stream: true, status: semcache.StatusMiss, upstream: true, want: "echo: q"},
		}},
		{name: "no-store and no-cache", steps: []step{
			{name: "no-store", d: semcache.Directives{NoStore: true}, status: semcache.StatusMiss, upstream: true, want: "echo: q"},
			{name: "not stored", d: semcache.Directives{NoCache: true}, status: semcache.StatusBypass, upstream: true, want: "echo: q"},
			{name: "no-cache stored it", status: semcache.StatusHitExact, want: "echo: q"},
		}},
		{name: "reversible redactions are never stored", rails: `[{"name":"pii","kind":"pii","mode":"mutate","config":{"types":["email"],"reversible":true}}]`,
			steps: []step{
				{name: "miss", prompt: "mail ann@example.com", status: semcache.StatusMiss, upstream: true, want: "echo: mail ann@example.com"},
				{name: "still a miss", prompt: "mail ann@example.com", stream: true, status: semcache.StatusMiss, upstream: true,
					want: "echo: mail ann@example.com"},
			}},
		{name: "a hit goes through the output guardrails", rails: `[{"name":"words","kind":"denylist","stage":"output","mode":"validate","on_match":"flag","config":{"words":["echo"]}}]`,
			steps: []step{
				{name: "miss", status: semcache.StatusMiss, upstream: true, want: "echo: q"},
				{name: "hit", status: semcache.StatusHitExact, want: "echo: q"},
				{name: "streamed hit", stream: true, status: semcache.StatusHitExact, want: "echo: q"},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				opts := []Option{withMemoryCache()}
				if tt.rails != "" {
					opts = append(opts, withTeamPolicy(t, tt.rails))
				}
				h := newHarness(t, nil, opts...)
				for _, st := range tt.steps {
					before := len(h.p("p1").received())
					if st.script != nil {
						h.p("p1").then(*st.script)
					}
					call := h.call()
					call.Cache = st.d
					prompt := cmpOr(st.prompt, "q")
					var got string
					var status semcache.Status
					var vs []guardrails.Verdict
					if st.stream {
						s, err := h.eng.ChatStream(t.Context(), call, userReq("m1", prompt))
						if err != nil {
							t.Fatalf("%s: %v", st.name, err)
						}
						status = s.CacheStatus
						if st.closeAt > 0 {
							for range st.closeAt {
								c, err := s.Recv(t.Context())
								if err != nil {
									t.Fatalf("%s: %v", st.name, err)
								}
								got += c.Choices[0].Text
							}
						} else {
							got, _ = drain(t.Context(), s)
						}
						vs = s.Guardrails()
						_ = s.Close()
					} else {
						res, err := h.eng.Chat(t.Context(), call, userReq("m1", prompt))
						if err != nil {
							t.Fatalf("%s: %v", st.name, err)
						}
						got, status, vs = res.Response.Choices[0].Message.Text(), res.CacheStatus, res.Guardrails
						if res.CacheStatus.Hit() && (res.Provider != CacheProvider || res.CostNanos != 0 || res.SavedNanos != defaultCost) {
							t.Errorf("%s: hit from %s costing %d saving %d", st.name, res.Provider, res.CostNanos, res.SavedNanos)
						}
					}
					if status != st.status || got != st.want {
						t.Errorf("%s: %s %q, want %s %q", st.name, status, got, st.status, st.want)
					}
					if called := len(h.p("p1").received()) > before; called != st.upstream {
						t.Errorf("%s: upstream called %v, want %v", st.name, called, st.upstream)
					}
					if tt.rails != "" && strings.Contains(tt.rails, `"stage":"output"`) && len(vs) == 0 {
						t.Errorf("%s: the output guardrails did not run", st.name)
					}
					rec := h.rec.one(t, call.RequestID)
					if rec.CacheStatus != string(st.status) {
						t.Errorf("%s: record cache status %q", st.name, rec.CacheStatus)
					}
					if st.status.Hit() && (rec.Provider != CacheProvider || rec.CostNanos != 0 || rec.SavedNanos != defaultCost ||
						rec.InputTokens != 0 || rec.Attempts != 0) {
						t.Errorf("%s: hit record %+v", st.name, rec)
					}
				}
			})
		})
	}
}
