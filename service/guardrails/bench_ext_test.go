package guardrails_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/guardrails"
)

// builtinChain is every local built-in guardrail, as a typical policy has it.
func builtinChain(b testing.TB, e *guardrails.Engine) *guardrails.Set {
	return compile(b, e,
		guardrails.Guardrail{Name: "size", Kind: guardrails.KindSize, Config: cfg(b, map[string]any{"max_tokens": 8000})},
		guardrails.Guardrail{Name: "pii", Kind: guardrails.KindPII, Mode: guardrails.ModeMutate, Stage: guardrails.StageBoth, Config: cfg(b, map[string]any{"reversible": true})},
		guardrails.Guardrail{Name: "secrets", Kind: guardrails.KindSecrets, Mode: guardrails.ModeMutate, Stage: guardrails.StageBoth},
		guardrails.Guardrail{Name: "inj", Kind: guardrails.KindInjection, OnMatch: guardrails.ActionFlag},
		guardrails.Guardrail{Name: "deny", Kind: guardrails.KindDenyList, Stage: guardrails.StageBoth, OnMatch: guardrails.ActionFlag, Config: cfg(b, map[string]any{"words": []string{"project falcon", "codename"}, "patterns": []string{`ACME-\d{4}`}})},
		guardrails.Guardrail{Name: "topics", Kind: guardrails.KindTopics, OnMatch: guardrails.ActionFlag, Config: cfg(b, map[string]any{"denied": map[string][]string{"politics": {"election", "senator"}}, "languages": []string{"en"}})},
	)
}

// prompt2KB is a typical 2 KB prompt: a system message and a user message
// with one e-mail address and one phone number.
func prompt2KB() *providers.ChatRequest {
	para := "Our customer reported that the invoice for the March billing period was charged twice. Please review the order history, check whether a refund was already issued, and draft a short and polite reply that explains the next steps. "
	user := strings.Repeat(para, 7) + "They can be reached at jane.doe@example.com or +44 20 7946 0958."
	return &providers.ChatRequest{Messages: []providers.Message{
		{Role: providers.RoleSystem, Content: []providers.Part{providers.TextPart("You are a helpful support assistant for an online shop. Answer briefly and never promise refunds you cannot verify.")}},
		{Role: providers.RoleUser, Content: []providers.Part{providers.TextPart(user)}},
	}}
}

func BenchmarkCheckInput2KB(b *testing.B) {
	e := guardrails.New()
	set := builtinChain(b, e)
	req := prompt2KB()
	n := 0
	for _, m := range req.Messages {
		n += len(m.Text())
	}
	b.SetBytes(int64(n))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.CheckInput(context.Background(), set, req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCheckInput2KBClean(b *testing.B) {
	e := guardrails.New()
	set := builtinChain(b, e)
	req := prompt2KB()
	text := req.Messages[1].Text()
	req.Messages[1].Content[0].Text = text[:strings.Index(text, "They can")]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.CheckInput(context.Background(), set, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStreamFilter measures the cost per chunk of the stream filter
// (span guardrails and the hold-back window) over a long answer streamed
// in chunks of about 4 tokens.
func BenchmarkStreamFilter(b *testing.B) {
	e := guardrails.New()
	set := builtinChain(b, e)
	answer := strings.Repeat("Thank you for your patience. I have checked the order history and the refund was issued on Monday; you should see it within five business days. ", 40)
	chunks := split(answer, 16)
	b.ReportAllocs()
	for b.Loop() {
		f := e.NewOutputFilter(set, nil)
		for _, c := range chunks {
			if _, err := f.Filter(context.Background(), &providers.Chunk{Choices: []providers.ChoiceDelta{{Text: c}}}); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := f.Close(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(chunks)), "ns/chunk")
}
