package guardrails_test

import (
	"context"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/service/guardrails"
	"github.com/tollgate-dev/tollgate/service/guardrails/guardrailstest"
)

// TestWebhookSecretSealedAtRest stores a webhook guardrail through the
// admin API and reads the raw row: the signing secret is only there
// sealed, yet the gateway signs with it (the fake webhook verifies the
// signature) and an update sending the redacted secret back keeps it.
func TestWebhookSecretSealedAtRest(t *testing.T) {
	t.Parallel()
	const hookSecret = "whsec-sealed-at-rest-7f3a9c"
	e := start(t)
	hook := guardrailstest.NewWebhook(t, hookSecret, func(r guardrails.WebhookRequest) guardrails.WebhookResponse {
		if strings.Contains(r.Texts[len(r.Texts)-1].Text, "forbidden") {
			return guardrails.WebhookResponse{Action: "block", Categories: []string{"test"}}
		}
		return guardrails.WebhookResponse{Action: "allow"}
	})
	key := e.keyWith(t, "sealed-hook", guardrail(t, "hook", "webhook", input, false, true,
		map[string]any{"url": hook.URL, "secret": hookSecret, "timeout": "2s"}))

	// storedSecret reads the raw row and returns the stored secret.
	storedSecret := func(t *testing.T) string {
		t.Helper()
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, e.g.DatabaseURL)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var spec string
		if err := conn.QueryRow(ctx, "SELECT spec::text FROM guardrail_policies WHERE id = $1", "sealed-hook").Scan(&spec); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(spec, hookSecret) || !strings.Contains(spec, guardrails.SealedPrefix) {
			t.Fatalf("stored spec holds the secret in plain text or not sealed: %s", spec)
		}
		i := strings.Index(spec, guardrails.SealedPrefix)
		return spec[i : i+strings.IndexByte(spec[i:], '"')]
	}
	checkSigned := func(t *testing.T) {
		t.Helper()
		before := len(hook.Requests())
		if o := surfaces[0].send(t, e, key, "hello"); o.blocked != "" {
			t.Fatalf("allowed text refused: %+v", o)
		}
		if o := surfaces[0].send(t, e, key, "forbidden words"); o.blocked == "" {
			t.Fatalf("text the webhook blocks was answered: %+v", o)
		}
		if n := len(hook.Requests()) - before; n != 2 || hook.BadSignatures() != 0 {
			t.Fatalf("webhook got %d validly signed requests and %d bad signatures, want 2 and 0", n, hook.BadSignatures())
		}
	}

	sealed := storedSecret(t)
	checkSigned(t)

	// An update sending back the redacted secret keeps the sealed value.
	got, err := e.g.Admin.GetGuardrailPolicy(context.Background(), connect.NewRequest(&tollgatev1.GetGuardrailPolicyRequest{Id: "sealed-hook"}))
	if err != nil {
		t.Fatal(err)
	}
	p := got.Msg.GetPolicy()
	if s := p.GetGuardrails()[0].GetConfig().GetFields()["secret"].GetStringValue(); s != "********" {
		t.Fatalf("Get returned the secret as %q", s)
	}
	p.Description = "updated"
	if _, err := e.g.Admin.UpdateGuardrailPolicy(context.Background(), connect.NewRequest(&tollgatev1.UpdateGuardrailPolicyRequest{Policy: p})); err != nil {
		t.Fatal(err)
	}
	if again := storedSecret(t); again != sealed {
		t.Fatalf("update re-sealed a kept secret: %s, then %s", sealed, again)
	}
	checkSigned(t)
}
