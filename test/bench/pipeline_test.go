// Package bench measures the gateway's own request pipeline with every
// feature on (virtual-key auth, validation, key and team budgets, RPM/TPM
// and concurrency limits, routing with retries and breakers, input and
// output guardrails, usage records to Postgres) but without the network:
// the provider answers from memory. The figure is the gateway logic's CPU
// per request, to set beside the HTTP and upstream I/O measured by
// service/server's benchmarks.
package bench_test

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/pgtest"
	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/accounting"
	"github.com/tollgate-dev/tollgate/service/gateway"
	"github.com/tollgate-dev/tollgate/service/governance"
	"github.com/tollgate-dev/tollgate/service/guardrails"
	"github.com/tollgate-dev/tollgate/service/keys"
	"github.com/tollgate-dev/tollgate/service/registry"
	"github.com/tollgate-dev/tollgate/service/routing"
	"github.com/tollgate-dev/tollgate/service/secrets"
	"github.com/tollgate-dev/tollgate/service/store"
	"github.com/tollgate-dev/tollgate/service/store/pgstore"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// memProvider answers every chat request from memory.
type memProvider struct{ id string }

var _ providers.Provider = (*memProvider)(nil)

func (p *memProvider) ID() string { return p.id }

func (p *memProvider) Capabilities() providers.Capabilities {
	return providers.Capabilities{Dialect: "openai", Tools: true, Images: true, StreamUsage: true}
}

func (p *memProvider) Chat(_ context.Context, req *providers.ChatRequest) (*providers.ChatResponse, error) {
	return &providers.ChatResponse{ID: "chatcmpl-mem", Model: req.Model, Created: time.Unix(1_800_000_000, 0), Choices: []providers.Choice{{
		Message:      providers.Message{Role: providers.RoleAssistant, Content: []providers.Part{providers.TextPart("The capital of France is Paris.")}},
		FinishReason: providers.FinishStop}}, Usage: providers.Usage{InputTokens: 40, OutputTokens: 8}}, nil
}

func (p *memProvider) ChatStream(context.Context, *providers.ChatRequest) (providers.Stream, error) {
	return nil, &providers.Error{Provider: p.id, Kind: providers.KindInvalidRequest, Message: "not used"}
}

// pipeline builds an Engine over a fresh database, with every governance
// and guardrail feature on for the returned key.
func pipeline(b *testing.B, withFeatures bool) (*gateway.Engine, string) {
	ctx := context.Background()
	st, err := pgstore.Open(ctx, pgtest.NewMigratedDatabase(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(st.Close)
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	must(st.CreateProvider(ctx, &store.Provider{ID: "mem", Type: "openai"}))
	must(st.CreateModel(ctx, &store.Model{Name: "gpt-4o-mini", ProviderID: "mem", ContextWindow: 128000,
		Pricing: store.Pricing{InputPerMillion: 150_000_000, OutputPerMillion: 600_000_000}}))
	must(st.CreateTeam(ctx, &store.Team{ID: "team-a"}))
	sec, _ := keys.Generate()
	must(st.CreateKey(ctx, &store.Key{ID: "key_bench", TeamID: "team-a", ServiceID: "svc", SecretHash: sec.Hash[:], SecretPrefix: sec.Display}))
	sealer, _ := secrets.NewSealer(bytes.Repeat([]byte{7}, 32))
	reg := registry.New(st, sealer, func(cfg providers.Config) (providers.Provider, error) { return &memProvider{id: cfg.ID}, nil }, nil)
	must(reg.Load(ctx))

	bg, cancel := context.WithCancel(ctx)
	b.Cleanup(cancel)
	w := accounting.New(st)
	go func() { _ = w.Run(bg) }()
	opts := []gateway.Option{gateway.WithRouter(routing.NewRouter())}
	if withFeatures {
		for _, bud := range []*store.Budget{
			{ID: "key-daily", Scope: store.ScopeKey, KeyID: "key_bench", TeamID: "team-a", Period: store.PeriodDaily, LimitNanos: 1_000_000 * 1_000_000_000},
			{ID: "team-monthly", Scope: store.ScopeTeam, TeamID: "team-a", Period: store.PeriodMonthly, LimitNanos: 1_000_000 * 1_000_000_000, LimitTokens: 1 << 50},
		} {
			must(st.PutBudget(ctx, bud))
		}
		must(st.PutRateLimit(ctx, &store.RateLimit{ID: "team-rate", Scope: store.ScopeTeam, TeamID: "team-a",
			RequestsPerMinute: 1 << 40, TokensPerMinute: 1 << 50, MaxConcurrent: 1 << 20}))
		gov := governance.New(st)
		must(gov.Load(ctx))
		go func() { _ = gov.Run(bg, st) }()
		spec := []byte(`{"guardrails":[
			{"name":"pii","kind":"pii","stage":"both","mode":"mutate","config":{"types":["email","phone","card","iban","ssn","ip"],"reversible":true}},
			{"name":"secrets","kind":"secrets","stage":"both","mode":"mutate"},
			{"name":"injection","kind":"injection","mode":"validate","on_match":"block","scope":["user","tool"]},
			{"name":"deny","kind":"denylist","mode":"validate","on_match":"block","config":{"words":["forbidden-word"]}}]}`)
		must(st.CreateGuardrailPolicy(ctx, &store.GuardrailPolicy{ID: "team-policy", AttachKind: "team", AttachTo: "team-a", Spec: spec}))
		ge := guardrails.New()
		greg := guardrails.NewRegistry(ge, st)
		must(greg.Load(ctx))
		opts = append(opts, gateway.WithGovernance(gov), gateway.WithGuardrails(ge, greg))
	}
	return gateway.New(reg, w, opts...), sec.Plain
}

// prompt is a typical 2 KB conversation: a system prompt and a user turn.
func prompt() *providers.ChatRequest {
	sys := bytes.Repeat([]byte("You are a careful assistant for a travel company. Answer briefly and cite sources. "), 16)
	return &providers.ChatRequest{Model: "gpt-4o-mini", MaxTokens: new(int(256)), Messages: []providers.Message{
		{Role: providers.RoleSystem, Content: []providers.Part{providers.TextPart(string(sys))}},
		{Role: providers.RoleUser, Content: []providers.Part{providers.TextPart("What is the capital of France, and what should I see there in two days?")}},
	}}
}

func benchPipeline(b *testing.B, withFeatures bool) {
	eng, secret := pipeline(b, withFeatures)
	ctx := context.Background()
	req := prompt()
	run := func() {
		call := &gateway.Call{RequestID: gateway.NewRequestID(), Surface: gateway.SurfaceRPC, Credential: secret, Start: time.Now()}
		if _, err := eng.Chat(ctx, call, req); err != nil {
			b.Fatal(err)
		}
	}
	for range 100 { // leases and caches warm
		run()
	}
	res, err := eng.Chat(ctx, &gateway.Call{RequestID: gateway.NewRequestID(), Credential: secret, Start: time.Now()}, req)
	if err != nil || res.Response.Choices[0].Message.Text() == "" {
		b.Fatalf("pipeline does not answer: %v", err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		run()
	}
}

// BenchmarkPipeline runs Engine.Chat end to end minus the network.
func BenchmarkPipeline(b *testing.B) {
	b.Run("auth+routing+records", func(b *testing.B) { benchPipeline(b, false) })
	b.Run("everything-on", func(b *testing.B) { benchPipeline(b, true) })
}
