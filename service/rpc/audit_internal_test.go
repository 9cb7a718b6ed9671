package rpc

import (
	"errors"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/structpb"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
)

func TestAuditEventRedacts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name             string
		method           string
		msg              any
		err              error
		kind, id         string
		outcome          string
		mustNot, mustHas []string
	}{
		{"provider credential", "CreateProvider", &tollgatev1.CreateProviderRequest{
			Provider:   &tollgatev1.Provider{Id: "oai", BaseUrl: "https://api.test", Settings: map[string]string{"api_key": "sk-settings", "region": "eu"}},
			Credential: "sk-very-secret"}, nil, "provider", "oai", "ok",
			[]string{"sk-very-secret", "sk-settings"}, []string{`"region":"eu"`, `"credential":"[redacted]"`}},
		{"webhook url", "CreateAlertWebhook", &tollgatev1.CreateAlertWebhookRequest{
			Webhook: &tollgatev1.AlertWebhook{Id: "ops", Url: "https://hooks.test/T0/B0/secretpath"}}, nil, "alert_webhook", "ops", "ok",
			[]string{"secretpath"}, []string{`"id":"ops"`}},
		{"webhook signing secret", "CreateAlertWebhook", &tollgatev1.CreateAlertWebhookRequest{
			Webhook: &tollgatev1.AlertWebhook{Id: "ops"}, Secret: "whsec_c2lnbmluZyBrZXk="}, nil, "alert_webhook", "ops", "ok",
			[]string{"c2lnbmluZyBrZXk"}, []string{`"secret":"[redacted]"`}},
		{"failed revoke", "RevokeKey", &tollgatev1.RevokeKeyRequest{Id: "k1"},
			connect.NewError(connect.CodeNotFound, errors.New("no")), "key", "k1", "not_found", nil, []string{`"id":"k1"`}},
		{"guardrail webhook secret and url", "CreateGuardrailPolicy", &tollgatev1.CreateGuardrailPolicyRequest{Policy: &tollgatev1.GuardrailPolicy{
			Id: "p1", Guardrails: []*tollgatev1.Guardrail{
				{Name: "hook", Kind: "webhook", Config: mustStruct(t, map[string]any{"url": "https://hooks.test/T0/tok-in-path", "secret": "whsec-canary", "timeout": "2s"})},
				{Name: "words", Kind: "denylist", Config: mustStruct(t, map[string]any{"keywords": []any{"alpha"}, "nested": map[string]any{"api_key": "sk-nested"}})},
			}}}, nil, "guardrail_policy", "p1", "ok",
			[]string{"whsec-canary", "tok-in-path", "sk-nested"}, []string{`"timeout":"2s"`, `"keywords":["alpha"]`}},
		{"urls with credentials anywhere", "CreateProvider", &tollgatev1.CreateProviderRequest{
			Provider: &tollgatev1.Provider{Id: "p2", BaseUrl: "https://user:pa55word@api.test/v1?api-key=qk-canary&api-version=2024"}}, nil, "provider", "p2", "ok",
			[]string{"pa55word", "qk-canary"}, []string{"api-version=2024", "user:"}},
		{"rate limit kind", "SetRateLimit", &tollgatev1.SetRateLimitRequest{RateLimit: &tollgatev1.RateLimit{Id: "r1", TokensPerMinute: 5}},
			nil, "rate_limit", "r1", "ok", nil, []string{`"tokens_per_minute":"5"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := auditEvent(tt.method, tt.msg, tt.err)
			if e.ResourceKind != tt.kind || e.ResourceID != tt.id || e.Outcome != tt.outcome || e.Actor != AuditActorAdmin {
				t.Errorf("event = %+v; want kind %q id %q outcome %q", e, tt.kind, tt.id, tt.outcome)
			}
			for _, s := range tt.mustNot {
				if strings.Contains(e.Summary, s) {
					t.Errorf("summary %s leaks %q", e.Summary, s)
				}
			}
			for _, s := range tt.mustHas {
				if !strings.Contains(e.Summary, s) {
					t.Errorf("summary %s lacks %s", e.Summary, s)
				}
			}
		})
	}
}

func mustStruct(t *testing.T, m map[string]any) *structpb.Struct {
	t.Helper()
	s, err := structpb.NewStruct(m)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestIsSecretKey(t *testing.T) {
	t.Parallel()
	for k, want := range map[string]bool{"api_key": true, "X-Api-Key": true, "webhookURL": true, "secret": true, "url": true,
		"keywords": false, "region": false, "deployment": false, "timeout": false, "monkey": false} {
		if got := isSecretKey(k); got != want {
			t.Errorf("isSecretKey(%q) = %v, want %v", k, got, want)
		}
	}
}

func TestIsRead(t *testing.T) {
	t.Parallel()
	for m, want := range map[string]bool{"GetKey": true, "ListBudgets": true, "CreateKey": false, "RevokeKey": false, "SetBudget": false} {
		if got := isRead(m); got != want {
			t.Errorf("isRead(%q) = %v, want %v", m, got, want)
		}
	}
}
