package governance_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/type/money"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// post sends a JSON body to a dialect endpoint and returns the response and its decoded body.
func post(t *testing.T, url string, header map[string]string, body string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewBufferString(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp, out
}

// TestLimitsInEveryDialect checks that budgets and rate limits are enforced
// on the OpenAI (chat and Responses) and Anthropic surfaces too, with each
// dialect's 429.
func TestLimitsInEveryDialect(t *testing.T) {
	t.Parallel()
	_, url := fakeupstream.StartOpenAI(t)
	g := servertest.Start(t, servertest.Options{})
	g.Setup(t, url)
	ctx := context.Background()
	budgetKeyID, budgetKey := g.CreateKey(t, servertest.TeamID)
	rateKeyID, rateKey := g.CreateKey(t, servertest.TeamID)
	// A budget smaller than one request's worst case, and a 1 RPM limit.
	if _, err := g.Admin.SetBudget(ctx, connect.NewRequest(&tollgatev1.SetBudgetRequest{Budget: &tollgatev1.Budget{
		Id: "tiny", Scope: tollgatev1.GovernanceScope_GOVERNANCE_SCOPE_KEY, TeamId: servertest.TeamID, KeyId: budgetKeyID,
		Period: tollgatev1.BudgetPeriod_BUDGET_PERIOD_DAILY, Limit: &money.Money{CurrencyCode: "USD", Nanos: 1},
	}})); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Admin.SetRateLimit(ctx, connect.NewRequest(&tollgatev1.SetRateLimitRequest{RateLimit: &tollgatev1.RateLimit{
		Id: "one-rpm", Scope: tollgatev1.GovernanceScope_GOVERNANCE_SCOPE_KEY, TeamId: servertest.TeamID, KeyId: rateKeyID, RequestsPerMinute: 1,
	}})); err != nil {
		t.Fatal(err)
	}
	const openaiBody = `{"model":"gpt-4o-mini","max_tokens":50,"messages":[{"role":"user","content":"hi"}]}`
	const anthropicBody = `{"model":"gpt-4o-mini","max_tokens":50,"messages":[{"role":"user","content":"hi"}]}`
	const responsesBody = `{"model":"gpt-4o-mini","max_output_tokens":50,"input":"hi"}`

	t.Run("openai budget", func(t *testing.T) {
		resp, body := post(t, g.URL+"/v1/chat/completions", map[string]string{"Authorization": "Bearer " + budgetKey}, openaiBody)
		e, _ := body["error"].(map[string]any)
		if resp.StatusCode != http.StatusTooManyRequests || e["type"] != "insufficient_quota" || e["code"] != "insufficient_quota" {
			t.Fatalf("status %d body %v", resp.StatusCode, body)
		}
		if resp.Header.Get("X-Should-Retry") != "false" {
			t.Fatalf("x-should-retry = %q", resp.Header.Get("X-Should-Retry"))
		}
	})
	t.Run("responses budget", func(t *testing.T) {
		for _, body := range []string{responsesBody, strings.Replace(responsesBody, `"input"`, `"stream":true,"input"`, 1)} {
			resp, out := post(t, g.URL+"/v1/responses", map[string]string{"Authorization": "Bearer " + budgetKey}, body)
			e, _ := out["error"].(map[string]any)
			if resp.StatusCode != http.StatusTooManyRequests || e["type"] != "insufficient_quota" || e["code"] != "insufficient_quota" ||
				resp.Header.Get("X-Should-Retry") != "false" {
				t.Fatalf("%s: status %d body %v", body, resp.StatusCode, out)
			}
		}
	})
	t.Run("anthropic budget", func(t *testing.T) {
		resp, body := post(t, g.URL+"/v1/messages", map[string]string{"X-Api-Key": budgetKey, "Anthropic-Version": "2023-06-01"}, anthropicBody)
		e, _ := body["error"].(map[string]any)
		if resp.StatusCode != http.StatusTooManyRequests || body["type"] != "error" || e["type"] != "rate_limit_error" {
			t.Fatalf("status %d body %v", resp.StatusCode, body)
		}
	})
	t.Run("rate limit", func(t *testing.T) {
		deadline := time.Now().Add(time.Second) // the limit reaches the replica by notification
		for {
			resp, _ := post(t, g.URL+"/v1/chat/completions", map[string]string{"Authorization": "Bearer " + rateKey}, openaiBody)
			if resp.StatusCode == http.StatusTooManyRequests {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("1 RPM limit never refused a request")
			}
		}
		resp, body := post(t, g.URL+"/v1/chat/completions", map[string]string{"Authorization": "Bearer " + rateKey}, openaiBody)
		e, _ := body["error"].(map[string]any)
		if resp.StatusCode != http.StatusTooManyRequests || e["code"] != "rate_limit_exceeded" {
			t.Fatalf("status %d body %v", resp.StatusCode, body)
		}
		if resp.Header.Get("Retry-After") == "" || resp.Header.Get("X-Ratelimit-Limit-Requests") != "1" || resp.Header.Get("X-Ratelimit-Remaining-Requests") != "0" {
			t.Fatalf("headers = %v", resp.Header)
		}
		resp, body = post(t, g.URL+"/v1/responses", map[string]string{"Authorization": "Bearer " + rateKey}, responsesBody)
		if e, _ := body["error"].(map[string]any); resp.StatusCode != http.StatusTooManyRequests || e["code"] != "rate_limit_exceeded" ||
			resp.Header.Get("X-Ratelimit-Limit-Requests") != "1" || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("responses: status %d headers %v body %v", resp.StatusCode, resp.Header, body)
		}
		resp, body = post(t, g.URL+"/v1/messages", map[string]string{"X-Api-Key": rateKey, "Anthropic-Version": "2023-06-01"}, anthropicBody)
		if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(resp.Header.Get("Anthropic-Ratelimit-Requests-Limit"), "1") || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("anthropic: status %d headers %v body %v", resp.StatusCode, resp.Header, body)
		}
	})
}
