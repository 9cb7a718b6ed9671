package identity_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/type/money"

	tollgate "github.com/tollgate-dev/tollgate/clients/go"
	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/internal/oidctest"
	"github.com/tollgate-dev/tollgate/service/server"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// saToken returns a Kubernetes-style projected service-account token
// signed by the cluster issuer op.
func saToken(op *oidctest.Provider, namespace, name string, extra map[string]any) string {
	c := map[string]any{
		"sub": "system:serviceaccount:" + namespace + ":" + name, "aud": []string{"tollgate"},
		"kubernetes.io": map[string]any{"namespace": namespace, "serviceaccount": map[string]any{"name": name, "uid": "0d4f-" + name},
			"pod": map[string]any{"name": name + "-7c9d", "uid": "8a1e"}},
		"nbf": time.Now().Add(-time.Minute).Unix(),
	}
	for k, v := range extra {
		c[k] = v
	}
	return op.Sign(c)
}

// TestCallerJWTs admits a Kubernetes service-account token of a trusted
// cluster issuer for team batch without a virtual key: it is charged to
// batch's budget and recorded with its subject as the end user. Tokens of
// an untrusted issuer, of the trusted issuer matching no rule, and expired
// ones are refused.
func TestCallerJWTs(t *testing.T) {
	t.Parallel()
	cluster := oidctest.Start(t) // the cluster's OIDC issuer (discovery and JWKS)
	untrusted := oidctest.Start(t)
	_, upURL := fakeupstream.StartOpenAI(t)
	cfgFile := filepath.Join(t.TempDir(), "callers.yaml")
	cfg := fmt.Sprintf(`issuers:
  - name: prod-cluster
    issuer: %s
    audiences: [tollgate]
    rules:
      - match:
          sub: "system:serviceaccount:batch:*"
        team: batch
        service_claim: /kubernetes.io/serviceaccount/name
        models: [%s]
        tags: {source: k8s}
`, cluster.Issuer, servertest.ChatModel)
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	g := servertest.Start(t, servertest.Options{Config: func(c *server.Config) { c.Identity.CallerJWTConfig = cfgFile }})
	g.Setup(t, upURL)
	ctx := context.Background()
	createTeam(t, g.Admin, "batch")
	must[*connect.Response[tollgatev1.SetBudgetResponse]](t, "budget")(g.Admin.SetBudget(ctx, connect.NewRequest(&tollgatev1.SetBudgetRequest{Budget: &tollgatev1.Budget{
		Id: "batch-daily", Scope: tollgatev1.GovernanceScope_GOVERNANCE_SCOPE_TEAM, TeamId: "batch", Period: tollgatev1.BudgetPeriod_BUDGET_PERIOD_DAILY,
		Limit: &money.Money{CurrencyCode: "USD", Units: 5}}})))

	nightly := saToken(cluster, "batch", "nightly", nil)
	c := tollgate.NewClient(g.URL, nightly)
	for range 3 {
		if _, err := c.Chat(ctx, servertest.ChatModel, "summarise the logs"); err != nil {
			t.Fatalf("chat with a service-account token: %v\nlogs:\n%s", err, g.Logs.String())
		}
	}
	// The OpenAI surface admits it too.
	req, _ := http.NewRequest(http.MethodPost, g.URL+"/v1/chat/completions",
		strings.NewReader(`{"model":"`+servertest.ChatModel+`","messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer "+nightly)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("OpenAI surface: %v %v", resp.Status, err)
	}
	resp.Body.Close()
	// Its rule allows one model only.
	if _, err := c.Chat(ctx, servertest.EmbeddingModel, "x"); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("a model the rule does not allow: %v", err)
	}

	// Charged to batch's budget, recorded with the subject as end user.
	eventually(t, 15*time.Second, "records of the JWT caller", func() error {
		rs, err := usageAs(g, g.AdminToken).ListRequestRecords(ctx, connect.NewRequest(&tollgatev1.ListRequestRecordsRequest{TeamId: "batch"}))
		if err != nil {
			return err
		}
		ok := 0
		for _, r := range rs.Msg.GetRecords() {
			if r.GetStatus() == tollgatev1.RequestStatus_REQUEST_STATUS_OK && r.GetKeyId() == "jwt:prod-cluster" &&
				r.GetEndUser() == "system:serviceaccount:batch:nightly" && r.GetServiceId() == "nightly" &&
				strings.Contains(strings.Join(r.GetTags(), ","), "source=k8s") {
				ok++
			}
		}
		if ok < 4 {
			return fmt.Errorf("%w: %d matching records of %v", errNotYet, ok, rs.Msg.GetRecords())
		}
		return nil
	})
	// Spend is folded into the budget from the records asynchronously (at
	// least every second), so it may lag the records by a moment.
	eventually(t, 15*time.Second, "batch budget charged", func() error {
		st, err := usageAs(g, g.AdminToken).GetBudgetStatus(ctx, connect.NewRequest(&tollgatev1.GetBudgetStatusRequest{TeamId: "batch"}))
		if err != nil {
			return err
		}
		if len(st.Msg.GetStatuses()) != 1 || st.Msg.GetStatuses()[0].GetSpent().GetNanos() == 0 && st.Msg.GetStatuses()[0].GetSpent().GetUnits() == 0 {
			return fmt.Errorf("%w: batch budget not charged: %v", errNotYet, st.Msg.GetStatuses())
		}
		return nil
	})

	// Refused: an untrusted issuer, a namespace no rule admits, an expired
	// token, a token for another audience — on both surfaces.
	for name, tok := range map[string]string{
		"untrusted issuer": saToken(untrusted, "batch", "nightly", nil),
		"no rule":          saToken(cluster, "web", "frontend", nil),
		"expired":          saToken(cluster, "batch", "nightly", map[string]any{"exp": time.Now().Add(-time.Hour).Unix()}),
		"other audience":   saToken(cluster, "batch", "nightly", map[string]any{"aud": []string{"vault"}}),
	} {
		_, err := tollgate.NewClient(g.URL, tok).Chat(ctx, servertest.ChatModel, "hi")
		wantCode(t, name, err, connect.CodeUnauthenticated)
		req, _ := http.NewRequest(http.MethodPost, g.URL+"/v1/chat/completions",
			strings.NewReader(`{"model":"`+servertest.ChatModel+`","messages":[{"role":"user","content":"hi"}]}`))
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%s on the OpenAI surface: %v %v", name, resp.Status, err)
		}
		resp.Body.Close()
	}
	// A caller JWT is no admin credential.
	_, err = as(g, nightly).ListTeams(ctx, connect.NewRequest(&tollgatev1.ListTeamsRequest{}))
	wantCode(t, "caller JWT on the admin API", err, connect.CodeUnauthenticated)
}
