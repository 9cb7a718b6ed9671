package gateway

import (
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/keys"
	"github.com/tollgate-dev/tollgate/service/registry"
	"github.com/tollgate-dev/tollgate/service/registry/registrytest"
	"github.com/tollgate-dev/tollgate/service/routing"
	"github.com/tollgate-dev/tollgate/service/store"
)

// TestAuthenticateAndResolve covers who may call and what a name
// resolves to, before any upstream is involved.
func TestAuthenticateAndResolve(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)
	prev := keys.Hash("tg-old-secret")
	cfg := func(c *registrytest.Config, _ map[string]*fakeProvider) {
		c.Keys = append(c.Keys,
			func() store.Key {
				k := registrytest.Key("revoked", "team-a", "tg-revoked")
				k.RevokedAt = now.Add(-time.Hour)
				return k
			}(),
			func() store.Key {
				k := registrytest.Key("expired", "team-a", "tg-expired")
				k.ExpiresAt = now
				return k
			}(),
			func() store.Key {
				k := registrytest.Key("rotated", "team-a", "tg-new-secret")
				k.PrevSecretHash, k.PrevSecretExpiresAt = prev[:], now.Add(time.Minute)
				return k
			}(),
			func() store.Key {
				k := registrytest.Key("rotated-over", "team-a", "tg-newer-secret")
				old := keys.Hash("tg-older-secret")
				k.PrevSecretHash, k.PrevSecretExpiresAt = old[:], now
				return k
			}(),
			func() store.Key {
				k := registrytest.Key("scoped", "team-a", "tg-scoped")
				k.AllowedModels = []string{"m2"}
				return k
			}(),
		)
	}
	tests := []struct {
		name   string
		secret string
		model  string
		want   error
		param  string // of an *InvalidRequestError
	}{
		{name: "valid", secret: testSecret, model: "m1"},
		{name: "no key", secret: "", model: "m1", want: ErrUnauthenticated},
		{name: "unknown key", secret: "tg-unknown", model: "m1", want: ErrUnauthenticated},
		{name: "revoked", secret: "tg-revoked", model: "m1", want: ErrUnauthenticated},
		{name: "expired", secret: "tg-expired", model: "m1", want: ErrUnauthenticated},
		{name: "previous secret within its grace", secret: "tg-old-secret", model: "m1"},
		{name: "previous secret after its grace", secret: "tg-older-secret", model: "m1", want: ErrUnauthenticated},
		{name: "model outside the key's scope", secret: "tg-scoped", model: "m1", want: ErrPermissionDenied},
		{name: "model in the key's scope", secret: "tg-scoped", model: "m2"},
		{name: "unknown model", secret: testSecret, model: "nope", want: ErrModelNotFound},
		{name: "embedding model for chat", secret: testSecret, model: "e1", want: ErrInvalidRequest, param: "model"},
		{name: "provider that failed to build", secret: testSecret, model: "mb", want: ErrUnavailable},
		{name: "invalid request", secret: testSecret, model: "", want: ErrInvalidRequest, param: "model"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarnessWith(t, nil, cfg, WithClock(func() time.Time { return now }))
			call := h.call()
			call.Credential = tt.secret
			_, err := h.eng.Chat(t.Context(), call, userReq(tt.model, "hi"))
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Chat: %v, want %v", err, tt.want)
			}
			var ie *InvalidRequestError
			if tt.param != "" && (!errors.As(err, &ie) || ie.Param != tt.param) {
				t.Errorf("err = %v, want a problem with %q", err, tt.param)
			}
			if tt.want != nil && len(h.p("p1").received())+len(h.p("p2").received()) != 0 {
				t.Error("a refused request reached an upstream")
			}
			if rec := h.rec.one(t, call.RequestID); rec.Latency < 0 || rec.Time != now {
				t.Errorf("record time %v latency %v", rec.Time, rec.Latency)
			}
		})
	}
}

func TestEmbed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		model    string
		script   []behavior
		short    bool
		want     error
		kind     providers.ErrorKind
		attempts int
	}{
		{name: "served", model: "e1", attempts: 1},
		{name: "retried after a 503", model: "e1", script: []behavior{{err: upstreamErr("emb", providers.KindOverloaded, 503)}}, attempts: 2},
		{name: "chat model", model: "m1", want: ErrInvalidRequest},
		{name: "a vector short is a bad response", model: "e1", short: true, kind: providers.KindBadResponse, attempts: 1},
		{name: "route to a provider without embeddings", model: "to-chat", want: ErrInvalidRequest, attempts: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				h := newHarnessWith(t, nil, func(c *registrytest.Config, _ map[string]*fakeProvider) {
					c.Routes = append(c.Routes, registrytest.Route(&routing.Route{Name: "to-chat", Strategy: routing.StrategyFallback,
						Targets: []routing.Target{{Provider: "p1", Model: "e1"}, {Model: "e1"}}}))
				})
				h.emb.then(tt.script...)
				h.emb.short.Store(tt.short)
				call := h.call()
				call.EndUser = "u1"
				res, err := h.eng.Embed(t.Context(), call, &providers.EmbedRequest{Model: tt.model, Inputs: []string{"a", "b"}})
				rec := h.rec.one(t, call.RequestID)
				var pe *providers.Error
				switch {
				case tt.kind != 0:
					if !errors.As(err, &pe) || pe.Kind != tt.kind {
						t.Fatalf("Embed: %v, want a %v error", err, tt.kind)
					}
				case tt.want != nil:
					if !errors.Is(err, tt.want) {
						t.Fatalf("Embed: %v, want %v", err, tt.want)
					}
				default:
					if err != nil {
						t.Fatal(err)
					}
					if len(res.Response.Vectors) != 2 || res.Provider != "emb" || res.Model != "up-e" || res.CostNanos != 2000 || res.Attempts != tt.attempts {
						t.Errorf("result %+v", res)
					}
					if calls := h.emb.received(); calls[len(calls)-1].req.Model != "up-e" || calls[len(calls)-1].req.User != "u1" {
						t.Errorf("upstream saw %+v", calls[len(calls)-1].req)
					}
				}
				if rec.Operation != "embed" || rec.Attempts != tt.attempts {
					t.Errorf("record %s after %d attempts, want embed after %d", rec.Operation, rec.Attempts, tt.attempts)
				}
			})
		})
	}
}

func TestCountTokens(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		model    string
		script   []behavior
		want     int64
		wantErr  bool
		provider string
	}{
		{name: "upstream counter", model: "m2", want: 1234, provider: "p2"},
		{name: "estimate without one", model: "m1", want: EstimatePromptTokens(userReq("m1", "count these words")), provider: "p1"},
		{name: "upstream failure", model: "m2", script: []behavior{{err: upstreamErr("p2", providers.KindServer, 500)}}, wantErr: true, provider: "p2"},
		{name: "unknown model", model: "nope", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, nil)
			h.p("p2").then(tt.script...)
			call := h.call()
			n, err := h.eng.CountTokens(t.Context(), call, userReq(tt.model, "count these words"))
			if (err != nil) != tt.wantErr || n != tt.want {
				t.Fatalf("CountTokens = %d, %v; want %d, error %v", n, err, tt.want, tt.wantErr)
			}
			rec := h.rec.one(t, call.RequestID)
			if rec.Operation != "count_tokens" || rec.Provider != tt.provider || rec.InputTokens != 0 || rec.CostNanos != 0 {
				t.Errorf("record %+v", rec)
			}
		})
	}
}

func TestListModels(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, nil, func(c *registrytest.Config, _ map[string]*fakeProvider) {
		k := registrytest.Key("scoped", "team-a", "tg-scoped")
		k.AllowedModels = []string{"m3", "e1"}
		c.Keys = append(c.Keys, k)
	})
	names := func(ms []*registry.Model) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.Name)
		}
		return out
	}
	all, err := h.eng.ListModels(t.Context(), h.call())
	if err != nil || !slices.Equal(names(all), []string{"e1", "m1", "m2", "m3", "mb"}) {
		t.Errorf("ListModels = %v, %v", names(all), err)
	}
	call := h.call()
	call.Credential = "tg-scoped"
	scoped, err := h.eng.ListModels(t.Context(), call)
	if err != nil || !slices.Equal(names(scoped), []string{"e1", "m3"}) {
		t.Errorf("scoped ListModels = %v, %v", names(scoped), err)
	}
	call.Credential = "tg-nope"
	if _, err := h.eng.ListModels(t.Context(), call); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("unknown key: %v", err)
	}
}

func TestRegistryEmbedder(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	tests := []struct {
		model string
		want  error
	}{
		{model: "e1"},
		{model: "m1", want: ErrModelNotFound},
		{model: "nope", want: ErrModelNotFound},
	}
	for _, tt := range tests {
		resp, err := RegistryEmbedder(h.reg, tt.model).Embed(t.Context(), &providers.EmbedRequest{Inputs: []string{"x"}})
		if !errors.Is(err, tt.want) || (tt.want == nil && (err != nil || len(resp.Vectors) != 1)) {
			t.Errorf("embed with %s: %v, want %v", tt.model, err, tt.want)
		}
	}
	if calls := h.emb.received(); len(calls) != 1 || calls[0].req.Model != "up-e" {
		t.Errorf("embedder calls %+v", calls)
	}
}

// TestKeyTags: a key's tags join the request's in its record.
func TestKeyTags(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, nil, func(c *registrytest.Config, _ map[string]*fakeProvider) {
		c.Keys[0].Tags = map[string]string{"env": "prod"}
	})
	call := h.call()
	call.Tags = []string{"batch"}
	if _, err := h.eng.Chat(t.Context(), call, userReq("m1", "hi")); err != nil {
		t.Fatal(err)
	}
	if rec := h.rec.one(t, call.RequestID); !slices.Equal(rec.Tags, []string{"batch", "env=prod"}) {
		t.Errorf("record tags %v", rec.Tags)
	}
}
