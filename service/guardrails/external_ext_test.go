package guardrails_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/guardrails"
	"github.com/tollgate-dev/tollgate/service/guardrails/guardrailstest"
	"github.com/tollgate-dev/tollgate/service/webhooks"
)

func webhookGuardrail(t *testing.T, name, url, secret string, failOpen bool, mode guardrails.Mode) guardrails.Guardrail {
	return webhookWithTimeout(t, name, url, secret, failOpen, mode, "200ms")
}

func webhookWithTimeout(t *testing.T, name, url, secret string, failOpen bool, mode guardrails.Mode, timeout string) guardrails.Guardrail {
	return guardrails.Guardrail{Name: name, Kind: guardrails.KindWebhook, FailOpen: failOpen, Mode: mode,
		Config: cfg(t, map[string]any{"url": url, "secret": secret, "timeout": timeout})}
}

func TestWebhookActions(t *testing.T) {
	t.Parallel()
	const secret = "whsec_c2VjcmV0IGtleSBvZiB0aGUgdGVzdA=="
	tests := []struct {
		name       string
		resp       guardrails.WebhookResponse
		mode       guardrails.Mode
		wantAction guardrails.Action
		blocked    bool
		wantText   string
	}{
		{"allow", guardrails.WebhookResponse{Action: "allow"}, "", "", false, "hello bob"},
		{"flag", guardrails.WebhookResponse{Action: "flag", Categories: []string{"tone"}}, "", guardrails.ActionFlag, false, "hello bob"},
		{"block", guardrails.WebhookResponse{Action: "block", Categories: []string{"policy"}}, "", guardrails.ActionBlock, true, "hello bob"},
		{"mutate", guardrails.WebhookResponse{Action: "mutate", Replacement: []string{"hello [NAME]"}}, guardrails.ModeMutate, guardrails.ActionMutate, false, "hello [NAME]"},
		{"mutate in validate mode is a flag", guardrails.WebhookResponse{Action: "mutate", Replacement: []string{"x"}}, guardrails.ModeValidate, guardrails.ActionFlag, false, "hello bob"},
		{"unknown action is an error", guardrails.WebhookResponse{Action: "maybe"}, "", guardrails.ActionError, true, "hello bob"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			wh := guardrailstest.NewWebhook(t, secret, func(guardrails.WebhookRequest) guardrails.WebhookResponse { return tt.resp })
			e := guardrails.New()
			req := userReq("hello bob")
			res, err := e.CheckInput(context.Background(), compile(t, e, webhookGuardrail(t, "wh", wh.URL, secret, false, tt.mode)), req)
			if tt.blocked {
				mustBlock(t, err, "wh")
			} else if err != nil {
				t.Fatalf("err = %v", err)
			}
			if got := res.Request.Messages[0].Text(); got != tt.wantText {
				t.Errorf("text = %q, want %q", got, tt.wantText)
			}
			if req.Messages[0].Text() != "hello bob" {
				t.Error("the caller's request was modified")
			}
			if tt.wantAction == "" {
				if len(res.Verdicts) != 0 {
					t.Errorf("verdicts = %+v, want none", res.Verdicts)
				}
			} else if len(res.Verdicts) != 1 || res.Verdicts[0].Action != tt.wantAction {
				t.Errorf("verdicts = %+v, want action %s", res.Verdicts, tt.wantAction)
			}
			got := wh.Requests()
			if wh.BadSignatures() != 0 || len(got) != 1 {
				t.Fatalf("webhook got %d signed requests, %d bad signatures", len(got), wh.BadSignatures())
			}
			if r := got[0]; r.Policy != "p" || r.Guardrail != "wh" || r.Stage != guardrails.StageInput || len(r.Texts) != 1 || r.Texts[0].Text != "hello bob" || r.Texts[0].Role != providers.RoleUser {
				t.Errorf("webhook request = %+v", r)
			}
		})
	}
}

func TestWebhookSignature(t *testing.T) {
	t.Parallel()
	wh := guardrailstest.NewWebhook(t, "right", func(guardrails.WebhookRequest) guardrails.WebhookResponse {
		return guardrails.WebhookResponse{Action: "allow"}
	})
	e := guardrails.New()
	res, err := e.CheckInput(context.Background(), compile(t, e, webhookGuardrail(t, "wh", wh.URL, "wrong", false, "")), userReq("hi"))
	mustBlock(t, err, "wh")
	if wh.BadSignatures() != 1 || len(wh.Requests()) != 0 {
		t.Fatalf("bad signatures = %d, accepted = %d; want the fake to refuse the call", wh.BadSignatures(), len(wh.Requests()))
	}
	if v := res.Verdicts[0]; v.Action != guardrails.ActionError || v.Error != "unavailable" {
		t.Fatalf("verdict = %+v", v)
	}
}

// TestWebhookReplayAndStaleCalls: the receiver (guardrailstest.Webhook,
// verifying with the Standard Webhooks library) refuses a captured call
// sent again, and a call whose timestamp is outside the replay window.
func TestWebhookReplayAndStaleCalls(t *testing.T) {
	t.Parallel()
	secret, err := webhooks.GenerateSecret()
	if err != nil {
		t.Fatal(err)
	}
	allow := func(guardrails.WebhookRequest) guardrails.WebhookResponse {
		return guardrails.WebhookResponse{Action: "allow"}
	}
	t.Run("replayed", func(t *testing.T) {
		t.Parallel()
		wh := guardrailstest.NewWebhook(t, secret, allow)
		e := guardrails.New()
		if _, err := e.CheckInput(context.Background(), compile(t, e, webhookGuardrail(t, "wh", wh.URL, secret, false, "")), userReq("hi")); err != nil {
			t.Fatal(err)
		}
		body, h := wh.LastCall()
		if h.Get(webhooks.HeaderID) == "" || h.Get(webhooks.HeaderTimestamp) == "" || !strings.HasPrefix(h.Get(webhooks.HeaderSignature), "v1,") {
			t.Fatalf("call headers %v", h)
		}
		req, _ := http.NewRequest(http.MethodPost, wh.URL, bytes.NewReader(body))
		req.Header = h
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || wh.BadSignatures() != 1 || len(wh.Requests()) != 1 {
			t.Fatalf("replay answered %d; %d refused, %d accepted", resp.StatusCode, wh.BadSignatures(), len(wh.Requests()))
		}
	})
	t.Run("stale", func(t *testing.T) {
		t.Parallel()
		wh := guardrailstest.NewWebhook(t, secret, allow)
		e := guardrails.New(guardrails.WithClock(func() time.Time { return time.Now().Add(-webhooks.ReplayWindow - time.Minute) }))
		res, err := e.CheckInput(context.Background(), compile(t, e, webhookGuardrail(t, "wh", wh.URL, secret, false, "")), userReq("hi"))
		mustBlock(t, err, "wh")
		if wh.BadSignatures() != 1 || len(wh.Requests()) != 0 || res.Verdicts[0].Error != "unavailable" {
			t.Fatalf("refused %d, accepted %d, verdict %+v", wh.BadSignatures(), len(wh.Requests()), res.Verdicts[0])
		}
	})
	t.Run("secret that cannot sign", func(t *testing.T) {
		t.Parallel()
		e := guardrails.New()
		_, err := e.Compile(guardrails.Policy{ID: "p", Guardrails: []guardrails.Guardrail{
			webhookGuardrail(t, "wh", "https://example.com/hook", "whsec_not base64", false, "")}})
		if !errors.Is(err, guardrails.ErrInvalidPolicy) {
			t.Fatalf("Compile = %v, want ErrInvalidPolicy", err)
		}
	})
}

func TestWebhookTimeoutFailOpenClosed(t *testing.T) {
	t.Parallel()
	for _, failOpen := range []bool{true, false} {
		name := map[bool]string{true: "fail-open", false: "fail-closed"}[failOpen]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			wh := guardrailstest.NewWebhook(t, "k", func(guardrails.WebhookRequest) guardrails.WebhookResponse {
				return guardrails.WebhookResponse{Action: "block"}
			}, guardrailstest.WithDelay(5*time.Second))
			e := guardrails.New()
			res, err := e.CheckInput(context.Background(), compile(t, e, webhookGuardrail(t, "wh", wh.URL, "k", failOpen, "")), userReq("hi"))
			if failOpen {
				if err != nil || res.Blocked != nil {
					t.Fatalf("err = %v, blocked = %+v; fail-open must let it through", err, res.Blocked)
				}
			} else {
				be := mustBlock(t, err, "wh")
				if !sameStrings(be.Categories, []string{"guardrail_error"}) || !be.Failed {
					t.Fatalf("categories = %v", be.Categories)
				}
			}
			if len(res.Verdicts) != 1 || res.Verdicts[0].Action != guardrails.ActionError || res.Verdicts[0].Error != "timeout" {
				t.Fatalf("verdicts = %+v, want one timeout error", res.Verdicts)
			}
		})
	}
}

// TestExternalConcurrent proves the external checks run at the same time:
// each webhook answers allow only once both calls have arrived.
func TestExternalConcurrent(t *testing.T) {
	t.Parallel()
	var wg sync.WaitGroup
	wg.Add(2)
	both := make(chan struct{})
	go func() { wg.Wait(); close(both) }()
	respond := func(guardrails.WebhookRequest) guardrails.WebhookResponse {
		wg.Done()
		select {
		case <-both:
			return guardrails.WebhookResponse{Action: "allow"}
		case <-time.After(3 * time.Second):
			return guardrails.WebhookResponse{Action: "block", Categories: []string{"sequential"}}
		}
	}
	a := guardrailstest.NewWebhook(t, "k", respond)
	b := guardrailstest.NewWebhook(t, "k", respond)
	e := guardrails.New()
	set := compile(t, e,
		webhookWithTimeout(t, "a", a.URL, "k", false, "", "10s"),
		guardrails.Guardrail{Name: "pii", Kind: guardrails.KindPII, OnMatch: guardrails.ActionFlag},
		webhookWithTimeout(t, "b", b.URL, "k", false, "", "10s"),
	)
	res, err := e.CheckInput(context.Background(), set, userReq("mail a@b.io"))
	if err != nil {
		t.Fatalf("err = %v (verdicts %+v)", err, res.Verdicts)
	}
	// Local checks run first, then the external ones in policy order.
	if len(res.Verdicts) != 1 || res.Verdicts[0].Guardrail != "pii" {
		t.Fatalf("verdicts = %+v", res.Verdicts)
	}
}

func TestLocalBlockSkipsExternal(t *testing.T) {
	t.Parallel()
	wh := guardrailstest.NewWebhook(t, "k", func(guardrails.WebhookRequest) guardrails.WebhookResponse {
		return guardrails.WebhookResponse{Action: "allow"}
	})
	e := guardrails.New()
	set := compile(t, e, webhookGuardrail(t, "wh", wh.URL, "k", false, ""), guardrails.Guardrail{Name: "secrets", Kind: guardrails.KindSecrets})
	_, err := e.CheckInput(context.Background(), set, userReq("key "+awsKey))
	mustBlock(t, err, "secrets")
	if n := len(wh.Requests()); n != 0 {
		t.Fatalf("webhook called %d times after a local block", n)
	}
}

func TestModeration(t *testing.T) {
	t.Parallel()
	cl := &guardrailstest.Classifier{Words: map[string]string{"punch": "violence", "idiot": "harassment"}}
	e := guardrails.New(guardrails.WithClassifier("default", cl), guardrails.WithClassifier("broken", &guardrailstest.Classifier{Err: errors.New("upstream down: said idiot")}))
	tests := []struct {
		name    string
		g       guardrails.Guardrail
		text    string
		blocked bool
		cats    []string
	}{
		{"clean", guardrails.Guardrail{Name: "mod", Kind: guardrails.KindModeration}, "have a nice day", false, nil},
		{"flagged blocks", guardrails.Guardrail{Name: "mod", Kind: guardrails.KindModeration}, "I will punch you", true, []string{"violence"}},
		{"category filter", guardrails.Guardrail{Name: "mod", Kind: guardrails.KindModeration, Config: cfg(t, map[string]any{"categories": []string{"violence"}})}, "you idiot", false, nil},
		{"flag only", guardrails.Guardrail{Name: "mod", Kind: guardrails.KindModeration, OnMatch: guardrails.ActionFlag}, "you idiot", false, []string{"harassment"}},
		{"error fail-closed", guardrails.Guardrail{Name: "mod", Kind: guardrails.KindModeration, Config: cfg(t, map[string]any{"classifier": "broken"})}, "hi", true, []string{"guardrail_error"}},
		{"error fail-open", guardrails.Guardrail{Name: "mod", Kind: guardrails.KindModeration, FailOpen: true, Config: cfg(t, map[string]any{"classifier": "broken"})}, "hi", false, []string{"guardrail_error"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := e.CheckInput(context.Background(), compile(t, e, tt.g), userReq(tt.text))
			if tt.blocked {
				mustBlock(t, err, "mod")
			} else if err != nil {
				t.Fatalf("err = %v", err)
			}
			var cats []string
			for _, v := range res.Verdicts {
				cats = append(cats, v.Categories...)
				if strings.Contains(v.Error, "idiot") {
					t.Fatal("verdict error quotes the classifier's error")
				}
			}
			if !sameStrings(cats, tt.cats) {
				t.Fatalf("categories = %v, want %v", cats, tt.cats)
			}
		})
	}
}

// fakeProvider answers every chat with a fixed text.
type fakeProvider struct {
	answer string
	got    *providers.ChatRequest
}

var _ providers.Provider = (*fakeProvider)(nil)

func (p *fakeProvider) Chat(_ context.Context, req *providers.ChatRequest) (*providers.ChatResponse, error) {
	p.got = req
	return &providers.ChatResponse{Choices: []providers.Choice{{Message: providers.Message{Role: providers.RoleAssistant, Content: []providers.Part{providers.TextPart(p.answer)}}}}}, nil
}

func (p *fakeProvider) ChatStream(context.Context, *providers.ChatRequest) (providers.Stream, error) {
	return nil, errors.New("not supported")
}

func (p *fakeProvider) ID() string                           { return "fake" }
func (p *fakeProvider) Capabilities() providers.Capabilities { return providers.Capabilities{} }

func TestChatClassifier(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, answer string
		flagged      bool
		cats         []string
		wantErr      bool
	}{
		{"flagged", `{"flagged": true, "categories": ["violence", "made-up"]}`, true, []string{"violence"}, false},
		{"fenced clean", "```json\n{\"flagged\": false, \"categories\": []}\n```", false, nil, false},
		{"not json", "I think it is fine.", false, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := &fakeProvider{answer: tt.answer}
			c := &guardrails.ChatClassifier{Provider: p, Model: "mod-model"}
			flagged, cats, err := c.Classify(context.Background(), "some text")
			if (err != nil) != tt.wantErr || flagged != tt.flagged || !sameStrings(cats, tt.cats) {
				t.Fatalf("Classify = %v, %v, %v", flagged, cats, err)
			}
			if p.got.Model != "mod-model" || p.got.Messages[1].Text() != "some text" || p.got.Messages[0].Role != providers.RoleSystem {
				t.Fatalf("request = %+v", p.got)
			}
		})
	}
}

func TestOpenAIModeration(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path != "/v1/moderations" || r.Header.Get("Authorization") != "Bearer key" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		var req struct{ Model, Input string }
		_ = json.Unmarshal(body, &req)
		flagged := strings.Contains(req.Input, "punch")
		_ = json.NewEncoder(w).Encode(map[string]any{"id": "modr-1", "model": req.Model, "results": []any{map[string]any{
			"flagged": flagged, "categories": map[string]bool{"violence": flagged, "hate": false},
			"category_scores": map[string]float64{"violence": 0.9},
		}}})
	}))
	t.Cleanup(srv.Close)
	tests := []struct {
		name, key, text string
		flagged         bool
		cats            []string
		wantErr         bool
	}{
		{"flagged", "key", "I will punch you", true, []string{"violence"}, false},
		{"clean", "key", "hello", false, nil, false},
		{"unauthorized", "bad", "hello", false, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := &guardrails.OpenAIModeration{BaseURL: srv.URL + "/v1", APIKey: tt.key, Model: "omni-moderation-latest", Client: srv.Client()}
			flagged, cats, err := m.Classify(context.Background(), tt.text)
			if (err != nil) != tt.wantErr || flagged != tt.flagged || !sameStrings(cats, tt.cats) {
				t.Fatalf("Classify = %v, %v, %v", flagged, cats, err)
			}
		})
	}
}
