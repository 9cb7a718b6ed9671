package identity_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"
	"google.golang.org/genproto/googleapis/type/money"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	tollgate "github.com/tollgate-dev/tollgate/clients/go"
	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/internal/secretfake"
	"github.com/tollgate-dev/tollgate/service/server"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// refCase is a provider whose credential is a reference, served by an
// upstream that accepts only the referenced value.
type refCase struct {
	provider, ref, value string
	up                   *fakeupstream.OpenAI
	upURL                string
}

// TestCredentialReferences runs the real server with a provider per
// reference type (env, file, Vault KV v2 with AppRole, AWS Secrets
// Manager, Google Secret Manager with a service-account key): each serves
// with its referenced value; a changed file is picked up within seconds; a
// changed Vault secret on RefreshCredentials; a failed refresh keeps the
// last good value, shows in the metrics and raises an alert; and no value
// ever appears in an answer, an audit event, a log line or the database.
//
// Vault here is secretfake's fake written from Vault's HTTP API reference
// (TestCredentialReferencesRealVault runs the same against a real server
// when TOLLGATE_VAULT_BIN names one).
func TestCredentialReferences(t *testing.T) { // not parallel: the AWS SDK and Google's ADC read the process environment
	vault := secretfake.StartVault(t)
	vault.AddAppRole("tollgate-role", "tollgate-secret-id-7f3a")
	runCredentialReferences(t, vault.URL, func(path string, data map[string]any) { vault.Put(path, data) }, vault.Fail,
		func(c *server.CredentialsConfig) {
			c.VaultAuth, c.VaultRoleID, c.VaultSecretID = "approle", "tollgate-role", "tollgate-secret-id-7f3a"
		})
}

func runCredentialReferences(t *testing.T, vaultAddr string, vaultPut func(string, map[string]any), vaultFail func(bool), vaultAuth func(*server.CredentialsConfig)) {
	aws := secretfake.StartAWS(t)
	gcp := secretfake.StartGCP(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTOLLGATETEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "not-a-real-aws-secret")
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", gcp.CredentialsFile)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "openai-key")

	cases := []*refCase{
		{provider: "p-env", ref: "env:OPENAI_API_KEY", value: "sk-env-LEAKCANARY-1a2b"},
		{provider: "p-file", ref: "file:" + keyFile, value: "sk-file-LEAKCANARY-3c4d"},
		{provider: "p-vault", ref: "vault:secret/llm/openai#api_key", value: "sk-vault-LEAKCANARY-5e6f"},
		{provider: "p-aws", ref: "aws-sm:prod/llm#api_key", value: "sk-aws-LEAKCANARY-7a8b"},
		{provider: "p-gcp", ref: "gcp-sm:projects/tollgate/secrets/anthropic", value: "sk-gcp-LEAKCANARY-9c0d"},
	}
	if err := os.WriteFile(keyFile, []byte(cases[1].value+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	vaultPut("secret/llm/openai", map[string]any{"api_key": cases[2].value, "org": "o-1"})
	aws.Put("prod/llm", fmt.Sprintf(`{"api_key":%q}`, cases[3].value))
	gcp.Put("projects/tollgate/secrets/anthropic", cases[4].value)

	// A Slack-style receiver of alerts.
	var hookMu sync.Mutex
	var hooks []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		hookMu.Lock()
		hooks = append(hooks, string(b))
		hookMu.Unlock()
	}))
	t.Cleanup(hook.Close)

	g := servertest.Start(t, servertest.Options{Config: func(c *server.Config) {
		// The gateway's environment, which env: credential references read.
		gatewayEnv := map[string]string{"OPENAI_API_KEY": cases[0].value}
		c.Credentials.Getenv = func(k string) string { return gatewayEnv[k] }
		c.Credentials.VaultAddr = vaultAddr
		c.Credentials.AWSEndpoint, c.Credentials.AWSRegion, c.Credentials.GCPEndpoint = aws.URL, "eu-west-1", gcp.URL
		c.Credentials.FilePoll, c.AlertInterval, c.MetricsToken = 50*time.Millisecond, time.Second, metricsToken
		vaultAuth(&c.Credentials)
	}})
	ctx := context.Background()
	var answers []proto.Message // every admin answer, for the leak check
	keep := func(m proto.Message) { answers = append(answers, m) }

	createTeam(t, g.Admin, "refs")
	keyResp := createKey(t, g.Admin, "refs")
	client := tollgate.NewClient(g.URL, keyResp.GetSecret())
	for _, c := range cases {
		c.up, c.upURL = fakeupstream.StartOpenAI(t, fakeupstream.WithAPIKey(c.value))
		p := must[*connect.Response[tollgatev1.CreateProviderResponse]](t, "provider "+c.provider)(g.Admin.CreateProvider(ctx, connect.NewRequest(&tollgatev1.CreateProviderRequest{
			Provider: &tollgatev1.Provider{Id: c.provider, Type: tollgatev1.ProviderType_PROVIDER_TYPE_OPENAI, BaseUrl: c.upURL, CredentialRef: c.ref}})))
		keep(p.Msg)
		if !p.Msg.GetProvider().GetHasCredential() || p.Msg.GetProvider().GetCredentialRef() != c.ref {
			t.Fatalf("provider = %v", p.Msg.GetProvider())
		}
		must[*connect.Response[tollgatev1.CreateModelResponse]](t, "model")(g.Admin.CreateModel(ctx, connect.NewRequest(&tollgatev1.CreateModelRequest{Model: &tollgatev1.Model{
			Name: "m-" + c.provider, ProviderId: c.provider, UpstreamModel: "gpt-4o-mini",
			Pricing: &tollgatev1.ModelPricing{InputPerMillion: &money.Money{CurrencyCode: "USD", Nanos: 1000}}}})))
	}
	chat := func(c *refCase) error {
		_, err := client.Chat(ctx, "m-"+c.provider, "hello")
		return err
	}
	for _, c := range cases {
		if err := chat(c); err != nil {
			t.Fatalf("%s (%s): %v\nlogs:\n%s", c.provider, c.ref, err, g.Logs.String())
		}
	}
	// Bad references are refused with the reason.
	_, err := g.Admin.CreateProvider(ctx, connect.NewRequest(&tollgatev1.CreateProviderRequest{
		Provider: &tollgatev1.Provider{Id: "p-bad", Type: tollgatev1.ProviderType_PROVIDER_TYPE_OPENAI, CredentialRef: "k8s:whatever"}}))
	wantCode(t, "unknown scheme", err, connect.CodeInvalidArgument)
	_, err = g.Admin.CreateProvider(ctx, connect.NewRequest(&tollgatev1.CreateProviderRequest{Credential: "sk-both",
		Provider: &tollgatev1.Provider{Id: "p-bad", Type: tollgatev1.ProviderType_PROVIDER_TYPE_OPENAI, CredentialRef: "env:X"}}))
	wantCode(t, "credential and reference", err, connect.CodeInvalidArgument)

	t.Run("a changed file is used within seconds", func(t *testing.T) {
		c := cases[1]
		c.value = "sk-file-LEAKCANARY-rotated-5f5f"
		c.up.Apply(fakeupstream.WithAPIKey(c.value))
		tmp := keyFile + ".new"
		if err := os.WriteFile(tmp, []byte(c.value+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, keyFile); err != nil { // as a Kubernetes secret mount swaps it
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, "new file value in use", func() error { return chat(c) })
	})

	t.Run("a changed Vault secret on RefreshCredentials", func(t *testing.T) {
		c := cases[2]
		c.value = "sk-vault-LEAKCANARY-v2-6a6a"
		vaultPut("secret/llm/openai", map[string]any{"api_key": c.value, "org": "o-1"})
		c.up.Apply(fakeupstream.WithAPIKey(c.value))
		r := must[*connect.Response[tollgatev1.RefreshCredentialsResponse]](t, "refresh")(g.Admin.RefreshCredentials(ctx, connect.NewRequest(&tollgatev1.RefreshCredentialsRequest{ProviderId: c.provider})))
		keep(r.Msg)
		if len(r.Msg.GetReferences()) != 1 || r.Msg.GetReferences()[0].GetError() != "" {
			t.Fatalf("refresh = %v", r.Msg)
		}
		if err := chat(c); err != nil {
			t.Fatalf("after refresh: %v", err)
		}
	})

	t.Run("a failed refresh keeps the last good value, counts and alerts", func(t *testing.T) {
		must[*connect.Response[tollgatev1.CreateAlertWebhookResponse]](t, "webhook")(g.Admin.CreateAlertWebhook(ctx, connect.NewRequest(&tollgatev1.CreateAlertWebhookRequest{
			Webhook: &tollgatev1.AlertWebhook{Id: "ops", Url: hook.URL, Kinds: []tollgatev1.AlertKind{tollgatev1.AlertKind_ALERT_KIND_CREDENTIAL_REFRESH}}})))
		vaultFail(true)
		defer vaultFail(false)
		r := must[*connect.Response[tollgatev1.RefreshCredentialsResponse]](t, "refresh")(g.Admin.RefreshCredentials(ctx, connect.NewRequest(&tollgatev1.RefreshCredentialsRequest{ProviderId: "p-vault"})))
		keep(r.Msg)
		ref := r.Msg.GetReferences()[0]
		if ref.GetError() == "" || ref.GetFailures() != 1 || !ref.GetResolved() {
			t.Fatalf("failed refresh = %v", ref)
		}
		if err := chat(cases[2]); err != nil {
			t.Fatalf("last good value not kept: %v", err)
		}
		if got := metric(t, g, `tollgate_credential_refresh_failing{provider="p-vault"}`); got != "1" {
			t.Fatalf("failing gauge = %q", got)
		}
		eventually(t, 10*time.Second, "credential alert", func() error {
			hookMu.Lock()
			defer hookMu.Unlock()
			for _, h := range hooks {
				if strings.Contains(h, "p-vault") && strings.Contains(h, "vault:secret/llm/openai#api_key") {
					return nil
				}
			}
			return fmt.Errorf("%w: %v", errNotYet, hooks)
		})
	})

	// The leak check: no value in any answer, audit event, log line or row.
	list := must[*connect.Response[tollgatev1.ListProvidersResponse]](t, "list")(g.Admin.ListProviders(ctx, connect.NewRequest(&tollgatev1.ListProvidersRequest{})))
	keep(list.Msg)
	refs := must[*connect.Response[tollgatev1.ListCredentialReferencesResponse]](t, "refs")(g.Admin.ListCredentialReferences(ctx, connect.NewRequest(&tollgatev1.ListCredentialReferencesRequest{})))
	keep(refs.Msg)
	if len(refs.Msg.GetReferences()) != len(cases) {
		t.Fatalf("references = %v", refs.Msg.GetReferences())
	}
	audit := must[*connect.Response[tollgatev1.ListAdminAuditEventsResponse]](t, "audit")(usageAs(g, g.AdminToken).ListAdminAuditEvents(ctx, connect.NewRequest(&tollgatev1.ListAdminAuditEventsRequest{PageSize: 1000})))
	keep(audit.Msg)
	var seen strings.Builder
	for _, m := range answers {
		b, _ := protojson.Marshal(m)
		seen.Write(b)
	}
	seen.WriteString(g.Logs.String())
	seen.WriteString(dumpDatabase(t, g.DatabaseURL))
	seen.WriteString(scrapeMetrics(t, g))
	all := seen.String()
	for _, v := range []string{"LEAKCANARY", "tollgate-secret-id-7f3a", "not-a-real-aws-secret", "ya29.fake-access-token"} {
		if strings.Contains(all, v) {
			i := strings.Index(all, v)
			t.Errorf("secret %q leaked: …%s…", v, all[max(0, i-120):min(len(all), i+60)])
		}
	}
	if !strings.Contains(all, "vault:secret/llm/openai#api_key") {
		t.Fatal("the leak check saw no reference at all; it checks nothing")
	}
}

// dumpDatabase returns every row of every table of the public schema as JSON.
func dumpDatabase(t *testing.T, dsn string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, _ := conn.Query(ctx, `SELECT quote_ident(table_name) FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`)
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, tb := range tables {
		rows, _ := conn.Query(ctx, "SELECT row_to_json(t)::text FROM "+tb+" t")
		vs, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("dump %s: %v", tb, err)
		}
		b.WriteString(strings.Join(vs, "\n"))
	}
	return b.String()
}

// metricsToken lets the test read /metrics on the API port.
const metricsToken = "test-metrics-token-0123456789"

func scrapeMetrics(t *testing.T, g *servertest.Gateway) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, g.URL+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+metricsToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s: %s", resp.Status, b)
	}
	return string(b)
}

// metric returns the value of a metric line with the given name and labels.
func metric(t *testing.T, g *servertest.Gateway, series string) string {
	t.Helper()
	for line := range strings.Lines(scrapeMetrics(t, g)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), series+" "); ok {
			return v
		}
	}
	return ""
}
