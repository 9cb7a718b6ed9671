// Package secrets_test checks that no secret an admin gives the gateway
// comes back out: not in an API answer, a log line (at debug level), an
// audit event, nor a dump of the database.
package secrets_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"
	"google.golang.org/genproto/googleapis/type/money"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/structpb"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/gen/tollgate/v1/tollgatev1connect"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/internal/faultproxy"
	"github.com/tollgate-dev/tollgate/internal/pgtest"
	"github.com/tollgate-dev/tollgate/service/guardrails"
	"github.com/tollgate-dev/tollgate/service/guardrails/guardrailstest"
	"github.com/tollgate-dev/tollgate/service/server"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// env is what a secret-taking call and its use need.
type env struct {
	gw       *servertest.Gateway
	upstream *fakeupstream.OpenAI
	upURL    string
	// hook receives guardrail webhook calls (any path) through hookProxy,
	// which can make it unreachable.
	hook      *guardrailstest.Webhook
	hookProxy *faultproxy.Proxy
	// hookKey is the key the webhook guardrail applies to.
	hookKey, hookKeySecret string
	// answers collects every API answer and error the test sees.
	answers *strings.Builder
}

// record adds an answer (or error) to what is searched for canaries.
func (e *env) record(m proto.Message, err error) {
	if m != nil {
		b, _ := protojson.Marshal(m)
		e.answers.Write(b)
		e.answers.WriteByte('\n')
	}
	if err != nil {
		e.answers.WriteString(err.Error() + "\n")
	}
}

// chat sends a chat request through the OpenAI surface with key.
func (e *env) chat(t *testing.T, key, model string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.gw.URL+"/v1/chat/completions",
		strings.NewReader(`{"model":"`+model+`","max_tokens":16,"messages":[{"role":"user","content":"hello"}]}`))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	_, _ = fmt.Fprint(&b, resp.Header)
	buf := make([]byte, 64<<10)
	n, _ := resp.Body.Read(buf)
	b.Write(buf[:n])
	e.answers.WriteString(b.String() + "\n")
	return resp.StatusCode
}

// secretCall is an admin RPC that takes a secret. Adding an RPC that takes
// one means adding a row here: the test then checks its canary is found
// nowhere.
type secretCall struct {
	name string
	// call makes the RPC with canary as the secret, records its answer
	// and returns the canaries it stored (canary, and any others it made
	// up, e.g. for a URL's path and query).
	call func(t *testing.T, e *env, canary string) []string
	// use makes the gateway use the secret, including in ways that fail,
	// so that its error paths are searched too. Optional.
	use func(t *testing.T, e *env)
}

// webhookPolicy is a policy of one fail-closed webhook guardrail on the
// key keyID.
func webhookPolicy(id, keyID, url, secret string) *tollgatev1.GuardrailPolicy {
	cfg, _ := structpb.NewStruct(map[string]any{"url": url, "secret": secret, "timeout": "2s"})
	return &tollgatev1.GuardrailPolicy{Id: id, AttachKind: tollgatev1.GuardrailAttachKind_GUARDRAIL_ATTACH_KIND_KEY, AttachTo: keyID,
		Guardrails: []*tollgatev1.Guardrail{{Name: "hook", Kind: string(guardrails.KindWebhook), Stage: tollgatev1.GuardrailStage_GUARDRAIL_STAGE_INPUT,
			Mode: tollgatev1.GuardrailMode_GUARDRAIL_MODE_VALIDATE, OnMatch: tollgatev1.GuardrailOnMatch_GUARDRAIL_ON_MATCH_BLOCK, Config: cfg}}}
}

// secretCalls are every admin RPC that takes a secret.
var secretCalls = []secretCall{
	{
		name: "CreateProvider.credential",
		call: func(t *testing.T, e *env, canary string) []string {
			ctx := context.Background()
			r, err := e.gw.Admin.CreateProvider(ctx, connect.NewRequest(&tollgatev1.CreateProviderRequest{
				Provider:   &tollgatev1.Provider{Id: "canary-provider", Type: tollgatev1.ProviderType_PROVIDER_TYPE_OPENAI, BaseUrl: e.upURL},
				Credential: canary,
			}))
			e.record(r.Msg, err)
			if err != nil {
				t.Fatal(err)
			}
			m, err := e.gw.Admin.CreateModel(ctx, connect.NewRequest(&tollgatev1.CreateModelRequest{Model: &tollgatev1.Model{Name: "canary-model", ProviderId: "canary-provider"}}))
			e.record(m.Msg, err)
			return []string{canary}
		},
		use: func(t *testing.T, e *env) {
			_, key := e.gw.CreateKey(t, servertest.TeamID)
			if s := e.chat(t, key, "canary-model"); s != http.StatusOK {
				t.Errorf("chat with the canary credential: %d", s)
			}
			// The upstream refuses the credential, fails, resets: every
			// error path that could quote it.
			for _, f := range []fakeupstream.Fault{fakeupstream.StatusFault(401), fakeupstream.StatusFault(500), fakeupstream.ResetFault()} {
				e.upstream.Enqueue(f)
				if f.Status != http.StatusUnauthorized {
					e.upstream.Enqueue(f) // retried once; a 401 is not
				}
				e.chat(t, key, "canary-model")
			}
		},
	},
	{
		name: "UpdateProvider.credential",
		call: func(t *testing.T, e *env, canary string) []string {
			r, err := e.gw.Admin.UpdateProvider(context.Background(), connect.NewRequest(&tollgatev1.UpdateProviderRequest{
				Provider: &tollgatev1.Provider{Id: "canary-provider"}, Credential: canary,
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"credential"}},
			}))
			e.record(r.Msg, err)
			if err != nil {
				t.Fatal(err)
			}
			return []string{canary}
		},
		use: func(t *testing.T, e *env) {
			_, key := e.gw.CreateKey(t, servertest.TeamID)
			e.upstream.Enqueue(fakeupstream.StatusFault(401))
			e.chat(t, key, "canary-model")
		},
	},
	{
		name: "CreateGuardrailPolicy.webhook secret and url",
		call: func(t *testing.T, e *env, canary string) []string {
			path, query := canary+"-path", canary+"-query"
			r, err := e.gw.Admin.CreateGuardrailPolicy(context.Background(), connect.NewRequest(&tollgatev1.CreateGuardrailPolicyRequest{
				Policy: webhookPolicy("canary-policy", e.hookKeyID(t), e.newHook(t, canary)+"/hooks/"+path+"?token="+query, canary)}))
			e.record(r.Msg, err)
			if err != nil {
				t.Fatal(err)
			}
			return []string{canary, path, query}
		},
		use: useWebhook,
	},
	{
		name: "UpdateGuardrailPolicy.webhook secret and url",
		call: func(t *testing.T, e *env, canary string) []string {
			path, query := canary+"-path", canary+"-query"
			r, err := e.gw.Admin.UpdateGuardrailPolicy(context.Background(), connect.NewRequest(&tollgatev1.UpdateGuardrailPolicyRequest{
				Policy: webhookPolicy("canary-policy", e.hookKeyID(t), e.newHook(t, canary)+"/hooks/"+path+"?token="+query, canary)}))
			e.record(r.Msg, err)
			if err != nil {
				t.Fatal(err)
			}
			// Reading it back and sending it again keeps the sealed values.
			got, err := e.gw.Admin.GetGuardrailPolicy(context.Background(), connect.NewRequest(&tollgatev1.GetGuardrailPolicyRequest{Id: "canary-policy"}))
			e.record(got.Msg, err)
			p := got.Msg.GetPolicy()
			p.Description = "sent back as read"
			again, err := e.gw.Admin.UpdateGuardrailPolicy(context.Background(), connect.NewRequest(&tollgatev1.UpdateGuardrailPolicyRequest{Policy: p}))
			e.record(again.Msg, err)
			if err != nil {
				t.Fatal(err)
			}
			return []string{canary, path, query}
		},
		use: useWebhook,
	},
	{
		name: "CreateAlertWebhook.url and secret",
		call: func(t *testing.T, e *env, canary string) []string {
			// Nothing listens there: delivery fails and is logged.
			secret := "whsec_" + base64.StdEncoding.EncodeToString([]byte(canary+"-signing-key"))
			r, err := e.gw.Admin.CreateAlertWebhook(context.Background(), connect.NewRequest(&tollgatev1.CreateAlertWebhookRequest{
				Webhook: &tollgatev1.AlertWebhook{Id: "canary-alerts", Url: "http://127.0.0.1:1/services/" + canary + "?token=" + canary + "-q"},
				Secret:  secret}))
			if err != nil {
				t.Fatal(err)
			}
			// The secret is answered once, here, by design: search the rest.
			if r.Msg.GetSecret() != secret {
				t.Errorf("CreateAlertWebhook answered secret %q, want the one given", r.Msg.GetSecret())
			}
			r.Msg.Secret = ""
			e.record(r.Msg, err)
			return []string{canary, secret}
		},
		use: func(t *testing.T, e *env) {
			// A budget over its first threshold makes the monitor post.
			id, key := e.gw.CreateKey(t, servertest.TeamID)
			b, err := e.gw.Admin.SetBudget(context.Background(), connect.NewRequest(&tollgatev1.SetBudgetRequest{Budget: &tollgatev1.Budget{
				Id: "canary-budget", Scope: tollgatev1.GovernanceScope_GOVERNANCE_SCOPE_KEY, KeyId: id, Period: tollgatev1.BudgetPeriod_BUDGET_PERIOD_MONTHLY,
				Limit: &money.Money{CurrencyCode: "USD", Nanos: 100_000}, AlertThresholds: []int32{1}}}))
			e.record(b.Msg, err)
			e.chat(t, key, servertest.ChatModel)
			deadline := time.Now().Add(20 * time.Second)
			for !strings.Contains(e.gw.Logs.String(), "alerts: webhook delivery failed") && !strings.Contains(e.gw.Logs.String(), "alerts: check failed") {
				if time.Now().After(deadline) {
					t.Errorf("the alert was never delivered (so its failure path was not searched); logs:\n%s", grepLines(e.gw.Logs.String(), "alert"))
					return
				}
				time.Sleep(50 * time.Millisecond) // polling the logs
			}
		},
	},
}

// hookKeyID returns the id of the key the webhook policy applies to.
func (e *env) hookKeyID(t *testing.T) string {
	if e.hookKey == "" {
		e.hookKey, e.hookKeySecret = e.gw.CreateKey(t, servertest.TeamID)
	}
	return e.hookKey
}

// newHook starts a webhook receiver verifying signatures with secret, behind
// a proxy, and returns its base URL.
func (e *env) newHook(t *testing.T, secret string) string {
	e.hook = guardrailstest.NewWebhook(t, secret, allow)
	var url string
	e.hookProxy, url = faultproxy.Via(t, e.hook.URL)
	return url
}

func allow(guardrails.WebhookRequest) guardrails.WebhookResponse {
	return guardrails.WebhookResponse{Action: "allow"}
}

// useWebhook sends a request through the key's webhook guardrail, then
// makes the receiver unreachable and sends another (the guardrail is
// fail-closed: the request is refused, and the failure logged).
func useWebhook(t *testing.T, e *env) {
	key := e.hookKeySecret
	before := len(e.hook.Requests())
	if s := e.chat(t, key, servertest.ChatModel); s != http.StatusOK {
		t.Errorf("chat through the webhook guardrail: %d", s)
	}
	if len(e.hook.Requests()) == before || e.hook.BadSignatures() != 0 {
		t.Errorf("the webhook got %d calls, %d badly signed", len(e.hook.Requests())-before, e.hook.BadSignatures())
	}
	e.hookProxy.Set(faultproxy.Refuse)
	e.chat(t, key, servertest.ChatModel)
}

// TestSecretsNeverLeak sets a canary through every secret-taking admin
// RPC, uses it, reads everything back, then searches every answer, the
// debug log, the audit log and a pg_dump of the database for it.
func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	up, upURL := fakeupstream.StartOpenAI(t)
	// The alert webhook's delivery fails (nothing listens there) after a
	// retry: a short backoff keeps the test from waiting out the default.
	gw := servertest.Start(t, servertest.Options{Config: func(c *server.Config) {
		c.AlertInterval, c.AlertAttempts, c.AlertBackoff = time.Second, 2, 10*time.Millisecond
	}})
	gw.Setup(t, upURL)
	e := &env{gw: gw, upstream: up, upURL: upURL, answers: &strings.Builder{}}

	var canaries []string
	for _, c := range slices.Concat(secretCalls, cloudSecretCalls()) {
		canary := "canary-" + randHex(t)
		made := c.call(t, e, canary)
		if c.use != nil {
			c.use(t, e)
		}
		for _, m := range made {
			canaries = append(canaries, c.name+"="+m)
		}
	}
	// Keys' secrets are output only: they are answered once, by the call
	// that makes them, and must be nowhere else.
	id, keySecret := gw.CreateKey(t, servertest.TeamID)
	rot, err := gw.Admin.RotateKey(context.Background(), connect.NewRequest(&tollgatev1.RotateKeyRequest{Id: id}))
	if err != nil {
		t.Fatal(err)
	}
	canaries = append(canaries, "CreateKey.secret="+keySecret, "RotateKey.secret="+rot.Msg.GetSecret())

	readEverything(t, e)
	gw.Stop() // flushes the logs
	dump := pgDump(t, gw.DatabaseURL)
	where := map[string]string{"API answers": e.answers.String(), "logs": gw.Logs.String(), "pg_dump": dump}
	for _, c := range canaries {
		name, value, _ := strings.Cut(c, "=")
		for place, text := range where {
			if strings.Contains(text, value) {
				i := strings.Index(text, value)
				t.Errorf("%s: the secret %q is in the %s: …%s…", name, value, place, text[max(0, i-120):min(len(text), i+len(value)+40)])
			}
		}
	}
	// The search is not vacuous: each place holds what it should.
	for place, want := range map[string]string{"API answers": "canary-policy", "logs": `"msg":"request"`, "pg_dump": "canary-provider"} {
		if !strings.Contains(where[place], want) {
			t.Errorf("the %s lack %q: the search would be vacuous", place, want)
		}
	}
	if !strings.Contains(dump, guardrails.SealedPrefix) {
		t.Error("the dump holds no sealed webhook field")
	}
}

// readEverything calls every admin and usage read that could echo a
// secret, and records the answers.
func readEverything(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	a := e.gw.Admin
	r1, err := a.ListProviders(ctx, connect.NewRequest(&tollgatev1.ListProvidersRequest{}))
	e.record(msg(r1), err)
	r2, err := a.GetProvider(ctx, connect.NewRequest(&tollgatev1.GetProviderRequest{Id: "canary-provider"}))
	e.record(msg(r2), err)
	r3, err := a.ListGuardrailPolicies(ctx, connect.NewRequest(&tollgatev1.ListGuardrailPoliciesRequest{}))
	e.record(msg(r3), err)
	r4, err := a.ListAlertWebhooks(ctx, connect.NewRequest(&tollgatev1.ListAlertWebhooksRequest{}))
	e.record(msg(r4), err)
	r5, err := a.ListKeys(ctx, connect.NewRequest(&tollgatev1.ListKeysRequest{}))
	e.record(msg(r5), err)
	usage := tollgatev1connect.NewUsageServiceClient(http.DefaultClient, e.gw.URL, connect.WithInterceptors(servertest.BearerInterceptor(e.gw.AdminToken)))
	audit, err := usage.ListAdminAuditEvents(ctx, connect.NewRequest(&tollgatev1.ListAdminAuditEventsRequest{}))
	e.record(msg(audit), err)
	if err != nil || !slices.ContainsFunc(audit.Msg.GetEvents(), func(ev *tollgatev1.AdminAuditEvent) bool { return ev.GetAction() == "UpdateGuardrailPolicy" }) {
		t.Errorf("audit events: %v (the audit search would be vacuous)", err)
	}
}

// msg returns a response's message, nil for a nil response.
func msg[T any](r *connect.Response[T]) proto.Message {
	if r == nil {
		return nil
	}
	if m, ok := any(r.Msg).(proto.Message); ok {
		return m
	}
	return nil
}

func randHex(t *testing.T) string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// pgDump returns a plain-text dump of the database.
func pgDump(t *testing.T, dsn string) string {
	t.Helper()
	bin, err := exec.LookPath("pg_dump")
	if err != nil {
		dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_dump")
		if len(dirs) == 0 {
			t.Fatal("pg_dump not found")
		}
		slices.Sort(dirs)
		bin = dirs[len(dirs)-1]
	}
	out, err := exec.Command(bin, "--no-owner", "--dbname", dsn).Output()
	if err != nil {
		t.Fatalf("pg_dump: %v", err)
	}
	return string(out)
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestPlainSecretsSealedAtStart: rows written before a field was sealed
// (a guardrail webhook's secret and URL, an alert webhook's URL) are
// sealed when a gateway starts, and keep working.
func TestPlainSecretsSealedAtStart(t *testing.T) {
	t.Parallel()
	first := servertest.Start(t, servertest.Options{}) // migrates the database
	first.Stop()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, first.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	const plainURL, plainSecret, alertURL = "http://127.0.0.1:1/hooks/legacy-url-token", "legacy-secret-value", "http://127.0.0.1:1/services/legacy-alert-token"
	spec := `{"guardrails":[{"name":"hook","kind":"webhook","stage":"input","mode":"validate","on_match":"block",` +
		`"config":{"url":"` + plainURL + `","secret":"` + plainSecret + `","timeout":"2s"}}]}`
	if _, err := conn.Exec(ctx, `INSERT INTO guardrail_policies (id, attach_kind, attach_to, spec) VALUES ('legacy', 'team', 'nobody', $1)`, spec); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO alert_webhooks (id, url) VALUES ('legacy-hook', $1)`, alertURL); err != nil {
		t.Fatal(err)
	}
	gw := servertest.Start(t, servertest.Options{DatabaseURL: first.DatabaseURL})
	dump := pgDump(t, gw.DatabaseURL)
	for _, s := range []string{"legacy-url-token", plainSecret, "legacy-alert-token"} {
		if strings.Contains(dump, s) {
			t.Errorf("%q is still stored in plain text", s)
		}
	}
	got, err := gw.Admin.GetGuardrailPolicy(ctx, connect.NewRequest(&tollgatev1.GetGuardrailPolicyRequest{Id: "legacy"}))
	if err != nil {
		t.Fatal(err)
	}
	cfg := got.Msg.GetPolicy().GetGuardrails()[0].GetConfig().GetFields()
	if cfg["url"].GetStringValue() != "********" || cfg["secret"].GetStringValue() != "********" || cfg["url_hint"].GetStringValue() != "http://127.0.0.1" {
		t.Errorf("resealed policy reads as %v", cfg)
	}
	hooks, err := gw.Admin.ListAlertWebhooks(ctx, connect.NewRequest(&tollgatev1.ListAlertWebhooksRequest{}))
	if err != nil || len(hooks.Msg.GetWebhooks()) != 1 || hooks.Msg.GetWebhooks()[0].GetUrlHint() != "http://127.0.0.1" {
		t.Errorf("resealed alert webhook: %v, %v", hooks, err)
	}
}
