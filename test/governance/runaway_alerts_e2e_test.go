package governance_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/gen/tollgate/v1/tollgatev1connect"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/internal/testutil"
	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/gateway"
	"github.com/tollgate-dev/tollgate/service/pricing"
	"github.com/tollgate-dev/tollgate/service/server"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
	"github.com/tollgate-dev/tollgate/service/store"
	"github.com/tollgate-dev/tollgate/service/webhooks"
)

// webhookReceiver collects Slack-compatible alert bodies; with a
// verifier, only calls signed per Standard Webhooks with its secret.
type webhookReceiver struct {
	mu       sync.Mutex
	texts    []string
	verifier *webhooks.Verifier
}

func (w *webhookReceiver) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	w.mu.Lock()
	v := w.verifier
	w.mu.Unlock()
	if v != nil {
		if err := v.Verify(b, r.Header); err != nil {
			http.Error(rw, err.Error(), http.StatusUnauthorized)
			return
		}
	}
	var msg struct {
		Text   string            `json:"text"`
		Blocks []json.RawMessage `json:"blocks"`
	}
	if err := json.Unmarshal(b, &msg); err != nil || msg.Text == "" || len(msg.Blocks) == 0 {
		http.Error(rw, "not a Slack-compatible body", http.StatusBadRequest)
		return
	}
	w.mu.Lock()
	w.texts = append(w.texts, msg.Text+"\n"+string(b))
	w.mu.Unlock()
}

// received returns the bodies received so far.
func (w *webhookReceiver) received() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.texts)
}

// count returns how many bodies received so far contain substr.
func (w *webhookReceiver) count(substr string) int {
	n := 0
	for _, t := range w.received() {
		if strings.Contains(t, substr) {
			n++
		}
	}
	return n
}

// assertWebhookSealed reads alert webhook id's raw row: the URL is only
// there sealed, with its "scheme://host" as the hint.
func assertWebhookSealed(t *testing.T, dsn, id, hint, token string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var url, urlHint string
	var sealed []byte
	if err := conn.QueryRow(ctx, "SELECT url, sealed_url, url_hint FROM alert_webhooks WHERE id = $1", id).Scan(&url, &sealed, &urlHint); err != nil {
		t.Fatal(err)
	}
	if url != "" || urlHint != hint || len(sealed) == 0 || bytes.Contains(sealed, []byte(token)) || bytes.Contains(sealed, []byte(hint)) {
		t.Fatalf("alert webhook row: url %q, url_hint %q, sealed_url %q; want only the hint %q in clear", url, urlHint, sealed, hint)
	}
}

// TestRunawayJobReplay is the scenario: a job loops as fast as it
// can on a key with a $5 daily budget. It is refused once the budget is
// spent (no overshoot), the threshold and spend-velocity alerts reach a
// webhook exactly once each, and the usage breakdown attributes every
// nano-dollar to the key, its team and its service.
func TestRunawayJobReplay(t *testing.T) {
	t.Parallel()
	recv := &webhookReceiver{}
	hook := httptest.NewServer(recv)
	t.Cleanup(hook.Close)
	_, up := fakeupstream.StartOpenAI(t)
	g := servertest.Start(t, servertest.Options{Config: func(c *server.Config) {
		c.AlertInterval = time.Second
		c.VelocityFloorNanos = 1_000_000_000 // $1 in five minutes
	}})
	g.Setup(t, up)
	ctx := context.Background()
	// An expensive model, so that a handful of requests spend dollars.
	if _, err := g.Admin.CreateModel(ctx, connect.NewRequest(&tollgatev1.CreateModelRequest{Model: &tollgatev1.Model{
		Name: "premium", ProviderId: servertest.ProviderID, UpstreamModel: "gpt-4o-mini",
		Pricing: &tollgatev1.ModelPricing{InputPerMillion: usd(20_000 * 1_000_000_000), OutputPerMillion: usd(20_000 * 1_000_000_000)},
	}})); err != nil {
		t.Fatal(err)
	}
	k, err := g.Admin.CreateKey(ctx, connect.NewRequest(&tollgatev1.CreateKeyRequest{Key: &tollgatev1.VirtualKey{
		Name: "nightly job", TeamId: servertest.TeamID, ServiceId: "nightly-job"}}))
	if err != nil {
		t.Fatal(err)
	}
	keyID, secret := k.Msg.GetKey().GetId(), k.Msg.GetSecret()
	// A Slack-style URL: its path is the receiver's secret.
	const hookToken = "/services/T0001/B0002/s3cr3t-hook-token"
	created, err := g.Admin.CreateAlertWebhook(ctx, connect.NewRequest(&tollgatev1.CreateAlertWebhookRequest{
		Webhook: &tollgatev1.AlertWebhook{Id: "ops-channel", Url: hook.URL + hookToken, TeamId: servertest.TeamID}}))
	if err != nil {
		t.Fatal(err)
	}
	// The receiver accepts only alerts signed with the secret it was given.
	v, err := webhooks.NewVerifier(created.Msg.GetSecret())
	if err != nil {
		t.Fatalf("signing secret %q: %v", created.Msg.GetSecret(), err)
	}
	recv.mu.Lock()
	recv.verifier = v
	recv.mu.Unlock()
	assertWebhookSealed(t, g.DatabaseURL, "ops-channel", hook.URL, hookToken)
	const limit = 5 * 1_000_000_000 // $5
	setBudget(t, g, &tollgatev1.Budget{Id: "job-daily", Scope: tollgatev1.GovernanceScope_GOVERNANCE_SCOPE_KEY, KeyId: keyID,
		TeamId: servertest.TeamID, Period: tollgatev1.BudgetPeriod_BUDGET_PERIOD_DAILY, Limit: usd(limit)})

	c := tollgatev1connect.NewInferenceServiceClient(http.DefaultClient, g.URL, connect.WithInterceptors(servertest.BearerInterceptor(secret)))
	var charged, admitted, refused int64
	for refused < 5 {
		n := int32(maxTokens)
		resp, err := c.Chat(ctx, connect.NewRequest(&tollgatev1.ChatRequest{Model: "premium", MaxTokens: &n, Messages: []*tollgatev1.Message{{
			Role: tollgatev1.Role_ROLE_USER, Content: []*tollgatev1.ContentPart{{Part: &tollgatev1.ContentPart_Text{Text: "run the nightly batch again"}}}}}}))
		switch {
		case err == nil:
			admitted++
			charged += nanos(resp.Msg.GetCost())
		case connect.CodeOf(err) == connect.CodeResourceExhausted:
			refused++
		default:
			t.Fatal(err)
		}
		if admitted > 10_000 {
			t.Fatal("never refused")
		}
	}
	t.Logf("runaway job: %d requests admitted, $%.4f charged of $5.00 (overshoot %d nano-USD)", admitted, float64(charged)/1e9, max(0, charged-limit))
	if charged > limit {
		t.Fatalf("charged %d nano-USD, over the %d limit", charged, limit)
	}
	// Refused only once the room left is below one request's reservation:
	// its prompt's token bound plus max_tokens, at the model's prices.
	worst := pricing.Cost(store.Pricing{InputPerMillion: 20_000 * 1_000_000_000, OutputPerMillion: 20_000 * 1_000_000_000},
		providers.Usage{OutputTokens: maxTokens, InputTokens: gateway.PromptTokenBound(&providers.ChatRequest{Messages: []providers.Message{
			{Role: providers.RoleUser, Content: []providers.Part{{Type: providers.PartText, Text: "run the nightly batch again"}}}}})})
	if charged < limit-worst {
		t.Fatalf("charged only %d of %d before refusals: more than one reservation (%d) left", charged, limit, worst)
	}

	// Alerts: the budget threshold and the spend spike, each once.
	testutil.Eventually(t, func() error {
		if recv.count("Budget job-daily reached") == 0 || recv.count("Spend spike on key "+keyID) == 0 {
			return fmt.Errorf("alerts not received; got %q", recv.received())
		}
		return nil
	})
	// Two more checks must not repeat them.
	for range 2 {
		if err := g.Server.Alerts().Check(ctx); err != nil {
			t.Fatalf("alert check: %v", err)
		}
	}
	if n := recv.count("Budget job-daily reached 100%"); n > 1 {
		t.Fatalf("100%% threshold alert sent %d times", n)
	}
	if n := recv.count("Spend spike on key " + keyID); n != 1 {
		t.Fatalf("velocity alert sent %d times", n)
	}

	// Attribution: every nano-dollar charged is in the key/team/service breakdown.
	usage := tollgatev1connect.NewUsageServiceClient(http.DefaultClient, g.URL, connect.WithInterceptors(servertest.BearerInterceptor(g.AdminToken)))
	testutil.Eventually(t, func() error {
		sum, err := usage.GetUsageSummary(ctx, connect.NewRequest(&tollgatev1.GetUsageSummaryRequest{GroupBy: []tollgatev1.UsageDimension{
			tollgatev1.UsageDimension_USAGE_DIMENSION_TEAM, tollgatev1.UsageDimension_USAGE_DIMENSION_SERVICE, tollgatev1.UsageDimension_USAGE_DIMENSION_KEY}}))
		if err != nil {
			t.Fatal(err)
		}
		var got int64
		var requests int64
		for _, gr := range sum.Msg.GetGroups() {
			if strings.Join(gr.GetKeys(), "/") == servertest.TeamID+"/nightly-job/"+keyID {
				got, requests = nanos(gr.GetCost()), gr.GetRequests()
			}
		}
		if got == charged && requests == admitted+refused {
			return nil
		}
		return fmt.Errorf("breakdown for %s/nightly-job/%s: %d nano-USD over %d requests, want %d over %d", servertest.TeamID, keyID, got, requests, charged, admitted+refused)
	})
}
