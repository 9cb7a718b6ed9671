package sdk_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os/exec"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"google.golang.org/protobuf/types/known/structpb"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// TestCompletionsNode runs test/sdk/node/completions.test.mjs (the official
// OpenAI Node SDK's client.completions) against an OpenAI-compatible fake
// that serves /v1/completions (passed through) and a Claude model
// (translated to chat), then checks what the fakes received.
func TestCompletionsNode(t *testing.T) {
	t.Parallel()
	node, dir := nodeWithSDKs(t)
	f := startLossless(t)
	run(t, exec.CommandContext(t.Context(), node, "--test", "--test-reporter=spec", "completions.test.mjs"), dir, map[string]string{
		"TOLLGATE_URL": f.g.URL, "TOLLGATE_KEY": f.key, "TOLLGATE_REPLY": reply,
		"TOLLGATE_CHAT_MODEL": servertest.ChatModel, "TOLLGATE_ANTHROPIC_MODEL": ClaudeModel,
	})
	var legacy, translated bool
	for _, r := range f.fake.Requests() {
		if r.Path == "/v1/completions" && bytes.Contains(r.Body, []byte(`"echo":true`)) {
			legacy = true
		}
	}
	for _, r := range f.claude.Requests() {
		if bytes.Contains(r.Body, []byte(`"Say something"`)) {
			translated = true
		}
	}
	if !legacy || !translated {
		t.Errorf("the OpenAI fake's /v1/completions saw the echo request: %v; the Claude fake saw a translated prompt: %v", legacy, translated)
	}
}

// TestCompletionsGovernance checks budgets, rate limits, a PII mutate
// guardrail and records on /v1/completions, with the Go OpenAI SDK.
func TestCompletionsGovernance(t *testing.T) {
	t.Parallel()
	f := startLossless(t)
	ctx := context.Background()
	client := func(key string) *openai.Client {
		c := openai.NewClient(option.WithBaseURL(f.g.URL+"/v1"), option.WithAPIKey(key), option.WithMaxRetries(0))
		return &c
	}

	t.Run("budget and rate limit refusals", func(t *testing.T) {
		t.Parallel()
		budgetID, budgetKey := f.g.CreateKey(t, servertest.TeamID)
		if _, err := f.g.Admin.SetBudget(ctx, connect.NewRequest(&tollgatev1.SetBudgetRequest{Budget: &tollgatev1.Budget{
			Id: "completions-tiny", Scope: tollgatev1.GovernanceScope_GOVERNANCE_SCOPE_KEY, KeyId: budgetID,
			Period: tollgatev1.BudgetPeriod_BUDGET_PERIOD_DAILY, Limit: nanoUSD(1)}})); err != nil {
			t.Fatal(err)
		}
		rateID, rateKey := f.g.CreateKey(t, servertest.TeamID)
		if _, err := f.g.Admin.SetRateLimit(ctx, connect.NewRequest(&tollgatev1.SetRateLimitRequest{RateLimit: &tollgatev1.RateLimit{
			Id: "completions-rpm", Scope: tollgatev1.GovernanceScope_GOVERNANCE_SCOPE_KEY, KeyId: rateID, RequestsPerMinute: 1}})); err != nil {
			t.Fatal(err)
		}
		c := client(rateKey)
		params := openai.CompletionNewParams{Model: openai.CompletionNewParamsModel(servertest.ChatModel),
			Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("hi")}}
		if _, err := c.Completions.New(ctx, params); err != nil {
			t.Fatalf("first request under the rate limit: %v", err)
		}
		for name, key := range map[string]string{"rate limit": rateKey, "budget": budgetKey} {
			_, err := client(key).Completions.New(ctx, params)
			var ae *openai.Error
			if !errors.As(err, &ae) || ae.StatusCode != http.StatusTooManyRequests {
				t.Errorf("%s: %v", name, err)
			}
		}
	})

	t.Run("PII mutate guardrail and records", func(t *testing.T) {
		t.Parallel()
		id, key := f.g.CreateKey(t, servertest.TeamID)
		cfg, err := structpb.NewStruct(map[string]any{"types": []any{"email"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.g.Admin.CreateGuardrailPolicy(ctx, connect.NewRequest(&tollgatev1.CreateGuardrailPolicyRequest{
			Policy: &tollgatev1.GuardrailPolicy{Id: "completions-pii", AttachKind: tollgatev1.GuardrailAttachKind_GUARDRAIL_ATTACH_KIND_KEY, AttachTo: id,
				Guardrails: []*tollgatev1.Guardrail{{Name: "pii", Kind: "pii", Stage: tollgatev1.GuardrailStage_GUARDRAIL_STAGE_INPUT, Config: cfg,
					Mode: tollgatev1.GuardrailMode_GUARDRAIL_MODE_MUTATE}}}})); err != nil {
			t.Fatal(err)
		}
		const email = "bob.completions@example.com"
		for _, model := range []string{servertest.ChatModel, ClaudeModel} {
			resp, err := client(key).Completions.New(ctx, openai.CompletionNewParams{Model: openai.CompletionNewParamsModel(model),
				Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("write to " + email + " pii-" + model)}})
			if err != nil {
				t.Fatal(err)
			}
			var body []byte
			if model == ClaudeModel {
				body = received(t, f.claude.Requests(), "pii-"+model)
			} else {
				body = received(t, f.fake.Requests(), "pii-"+model)
			}
			if bytes.Contains(body, []byte(email)) {
				t.Errorf("%s: the upstream received the e-mail address: %s", model, body)
			}
			if model != ClaudeModel {
				continue // passed through: the id is the upstream's
			}
			rec := f.record(t, "req_"+strings.TrimPrefix(resp.ID, "cmpl-"))
			if rec.GetSurface() != "completions" || rec.GetKeyId() != id || rec.GetUsage().GetOutputTokens() == 0 ||
				rec.GetRequestedModel() != model || len(rec.GetGuardrailVerdicts()) == 0 {
				t.Errorf("record %+v", rec)
			}
		}
	})
}
