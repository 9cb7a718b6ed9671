package guardrails_test

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/gen/tollgate/v1/tollgatev1connect"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/service/guardrails"
	"github.com/tollgate-dev/tollgate/service/guardrails/guardrailstest"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
	"github.com/tollgate-dev/tollgate/service/store"
)

// outcome is a surface's answer, reduced to what the tests compare.
type outcome struct {
	// blocked is the dialect's refusal: OpenAI error code, Anthropic error
	// type or Connect code; "" when the request was answered.
	blocked string
	// status is the HTTP status (0 for the RPC).
	status int
	// verdicts is the x-tollgate-guardrails header.
	verdicts string
	// rpcVerdicts is ChatResponse.guardrail_verdicts, as "policy/guardrail:action".
	rpcVerdicts string
	// violation is the GuardrailViolation detail's guardrail (RPC only).
	violation string
	requestID string
	text      string
}

// surface sends one user message through one API.
type surface struct {
	name string
	send func(t *testing.T, e *env, key, text string) outcome
}

var surfaces = []surface{
	{name: "openai", send: func(t *testing.T, e *env, key, text string) outcome {
		r := e.openai(t, key, false, user(text))
		o := outcome{status: r.status, verdicts: r.header.Get("X-Tollgate-Guardrails"), requestID: r.header.Get("X-Request-Id")}
		if r.status != http.StatusOK {
			er := r.errorOf(t)
			code, _ := er["code"].(string)
			typ, _ := er["type"].(string)
			if _, ok := er["param"]; !ok || er["param"] != nil {
				t.Errorf("error param = %v, want null", er["param"])
			}
			o.blocked = typ + "/" + code
			return o
		}
		var body struct {
			Choices []struct {
				Message struct{ Content string } `json:"message"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(r.body), &body); err != nil || len(body.Choices) == 0 {
			t.Fatalf("bad completion %v: %s", err, r.body)
		}
		o.text = body.Choices[0].Message.Content
		return o
	}},
	{name: "anthropic", send: func(t *testing.T, e *env, key, text string) outcome {
		r := e.anthropic(t, key, false, user(text))
		o := outcome{status: r.status, verdicts: r.header.Get("X-Tollgate-Guardrails"), requestID: r.header.Get("X-Request-Id")}
		if r.status != http.StatusOK {
			if r.json(t)["type"] != "error" {
				t.Errorf("error body type = %v, want error", r.json(t)["type"])
			}
			typ, _ := r.errorOf(t)["type"].(string)
			o.blocked = typ
			return o
		}
		var body struct {
			Content []struct{ Text string } `json:"content"`
		}
		if err := json.Unmarshal([]byte(r.body), &body); err != nil || len(body.Content) == 0 {
			t.Fatalf("bad message %v: %s", err, r.body)
		}
		o.text = body.Content[0].Text
		return o
	}},
	{name: "responses", send: func(t *testing.T, e *env, key, text string) outcome {
		r := post(t, e.g.URL+"/v1/responses", map[string]string{"Authorization": "Bearer " + key},
			map[string]any{"model": servertest.ChatModel, "input": text})
		o := outcome{status: r.status, verdicts: r.header.Get("X-Tollgate-Guardrails"), requestID: r.header.Get("X-Request-Id")}
		if r.status != http.StatusOK {
			er := r.errorOf(t)
			code, _ := er["code"].(string)
			typ, _ := er["type"].(string)
			o.blocked = typ + "/" + code
			return o
		}
		var body struct {
			Output []struct {
				Content []struct{ Text string } `json:"content"`
			} `json:"output"`
		}
		if err := json.Unmarshal([]byte(r.body), &body); err != nil || len(body.Output) == 0 || len(body.Output[0].Content) == 0 {
			t.Fatalf("bad response %v: %s", err, r.body)
		}
		o.text = body.Output[0].Content[0].Text
		return o
	}},
	{name: "rpc", send: func(t *testing.T, e *env, key, text string) outcome {
		resp, err := e.rpc(key).Chat(context.Background(), connect.NewRequest(rpcChat(rpcText(tollgatev1.Role_ROLE_USER, text))))
		if err != nil {
			return rpcFailure(t, err)
		}
		o := outcome{verdicts: resp.Header().Get("X-Tollgate-Guardrails"), requestID: resp.Msg.GetId(),
			rpcVerdicts: protoVerdicts(resp.Msg.GetGuardrailVerdicts())}
		if cs := resp.Msg.GetChoices(); len(cs) > 0 {
			for _, p := range cs[0].GetMessage().GetContent() {
				o.text += p.GetText()
			}
		}
		return o
	}},
}

func rpcFailure(t *testing.T, err error) outcome {
	t.Helper()
	var ce *connect.Error
	if !errors.As(err, &ce) {
		t.Fatalf("rpc: %v", err)
	}
	o := outcome{blocked: ce.Code().String(), requestID: ce.Meta().Get("X-Request-Id")}
	for _, d := range ce.Details() {
		if v, err := d.Value(); err == nil {
			if gv, ok := v.(*tollgatev1.GuardrailViolation); ok {
				o.violation = gv.GetPolicy() + "/" + gv.GetGuardrail()
			}
		}
	}
	return o
}

func protoVerdicts(vs []*tollgatev1.GuardrailVerdict) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = v.GetPolicy() + "/" + v.GetGuardrail() + ":" + v.GetAction()
	}
	return strings.Join(s, ",")
}

// recordVerdicts decodes a record's guardrails column.
func recordVerdicts(t *testing.T, col string) []store.GuardrailVerdict {
	t.Helper()
	var vs []store.GuardrailVerdict
	if err := json.Unmarshal([]byte(col), &vs); err != nil {
		t.Fatalf("guardrails column %q: %v", col, err)
	}
	return vs
}

// TestPersonalData sends an email address and a card number under mutate,
// block and flag PII policies through every surface.
func TestPersonalData(t *testing.T) {
	t.Parallel()
	e := start(t)
	keys := map[string]string{
		"mutate":     e.keyWith(t, "pii-mutate", guardrail(t, "pii", "pii", input, true, false, piiConfig())),
		"block":      e.keyWith(t, "pii-block", guardrail(t, "pii", "pii", input, false, true, piiConfig())),
		"flag":       e.keyWith(t, "pii-flag", guardrail(t, "pii", "pii", input, false, false, piiConfig())),
		"reversible": e.keyWith(t, "pii-reversible", guardrail(t, "pii", "pii", input, true, false, map[string]any{"types": []any{"email", "card"}, "reversible": true})),
	}
	wantBlocked := map[string]string{"openai": "invalid_request_error/guardrail_blocked", "anthropic": "invalid_request_error", "rpc": "permission_denied",
		"responses": "invalid_request_error/guardrail_blocked"}
	t.Run("requests", func(t *testing.T) { testPersonalData(t, e, keys, wantBlocked) })
	e.assertNoLeak(t, 4*len(surfaces), email, card)
	t.Run("usage", func(t *testing.T) { testGuardrailUsage(t, e) })
}

// testGuardrailUsage reads the verdicts back through UsageService: in
// the records list, and counted by team, key and guardrail.
func testGuardrailUsage(t *testing.T, e *env) {
	ctx := context.Background()
	usage := tollgatev1connect.NewUsageServiceClient(http.DefaultClient, e.g.URL,
		connect.WithInterceptors(servertest.BearerInterceptor(e.g.AdminToken)))
	list, err := usage.ListRequestRecords(ctx, connect.NewRequest(&tollgatev1.ListRequestRecordsRequest{PageSize: 100}))
	if err != nil {
		t.Fatal(err)
	}
	actions := map[string]int{}
	for _, r := range list.Msg.GetRecords() {
		for _, v := range r.GetGuardrailVerdicts() {
			actions[v.GetPolicy()+":"+v.GetAction()+":"+strings.Join(v.GetCategories(), "+")]++
		}
	}
	n := len(surfaces)
	want := map[string]int{"pii-mutate:mutate:card+email": n, "pii-block:block:card+email": n, "pii-flag:flag:card+email": n,
		"pii-reversible:mutate:card+email": n}
	if !maps.Equal(actions, want) {
		t.Errorf("record verdicts = %v, want %v", actions, want)
	}
	sum, err := usage.GetUsageSummary(ctx, connect.NewRequest(&tollgatev1.GetUsageSummaryRequest{
		StartTime: timestamppb.New(time.Now().Add(-time.Hour)), EndTime: timestamppb.New(time.Now().Add(time.Hour)),
		GroupBy: []tollgatev1.UsageDimension{tollgatev1.UsageDimension_USAGE_DIMENSION_TEAM, tollgatev1.UsageDimension_USAGE_DIMENSION_GUARDRAIL},
	}))
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int64{}
	for _, g := range sum.Msg.GetGroups() {
		counts[strings.Join(g.GetKeys(), " ")] = g.GetRequests()
	}
	wantCounts := map[string]int64{}
	for _, p := range []string{"pii-mutate/pii:mutate", "pii-block/pii:block", "pii-flag/pii:flag", "pii-reversible/pii:mutate"} {
		wantCounts[servertest.TeamID+" "+p] = int64(n)
	}
	if !maps.Equal(counts, wantCounts) {
		t.Errorf("guardrail actions by team = %v, want %v", counts, wantCounts)
	}
}

func testPersonalData(t *testing.T, e *env, keys, wantBlocked map[string]string) {
	for _, s := range surfaces {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			prompt := func(mode string) (string, string) {
				marker := "case-" + s.name + "-" + mode
				return marker, marker + ": mail " + email + " and charge card " + card + " please."
			}
			t.Run("mutate sends placeholders upstream", func(t *testing.T) {
				t.Parallel()
				marker, text := prompt("mutate")
				o := s.send(t, e, keys["mutate"], text)
				if o.blocked != "" {
					t.Fatalf("refused: %+v", o)
				}
				up := e.upstreamBody(t, marker)
				if strings.Contains(up, email) || strings.Contains(up, "4111") || !strings.Contains(up, "[EMAIL_1]") || !strings.Contains(up, "[CARD_1]") {
					t.Fatalf("upstream received %s", up)
				}
				if o.verdicts != "pii-mutate/pii:mutate" {
					t.Errorf("verdict header = %q", o.verdicts)
				}
				if r := e.recordOf(t, o.requestID); r.status != int16(store.StatusOK) || len(recordVerdicts(t, r.guardrails)) != 1 ||
					recordVerdicts(t, r.guardrails)[0].Action != "mutate" {
					t.Errorf("record = %+v", r)
				}
			})
			t.Run("reversible mutate restores the answer", func(t *testing.T) {
				t.Parallel()
				marker, text := prompt("reversible")
				o := s.send(t, e, keys["reversible"], text) // the fake echoes the prompt
				up := e.upstreamBody(t, marker)
				if strings.Contains(up, email) || !strings.Contains(up, "[EMAIL_1]") {
					t.Fatalf("upstream received %s", up)
				}
				if o.blocked != "" || !strings.Contains(o.text, email) || strings.Contains(o.text, "[EMAIL_1]") {
					t.Fatalf("answer %+v, want the placeholder restored", o)
				}
			})
			t.Run("block refuses", func(t *testing.T) {
				t.Parallel()
				marker, text := prompt("block")
				o := s.send(t, e, keys["block"], text)
				if o.blocked != wantBlocked[s.name] {
					t.Fatalf("outcome %+v, want refusal %q", o, wantBlocked[s.name])
				}
				if s.name != "rpc" && o.status != http.StatusBadRequest {
					t.Errorf("status = %d, want 400", o.status)
				}
				if s.name == "rpc" && o.violation != "pii-block/pii" {
					t.Errorf("GuardrailViolation = %q", o.violation)
				}
				if n := e.upstreamCount(marker); n != 0 {
					t.Errorf("upstream received %d blocked requests", n)
				}
				r := e.recordOf(t, o.requestID)
				if r.status != int16(store.StatusForbidden) || r.errorCode != "guardrail_blocked" {
					t.Errorf("record = %+v", r)
				}
				if vs := recordVerdicts(t, r.guardrails); len(vs) != 1 || vs[0].Action != "block" ||
					strings.Join(vs[0].Categories, ",") != "card,email" {
					t.Errorf("record verdicts = %+v", vs)
				}
			})
			t.Run("flag passes and tells", func(t *testing.T) {
				t.Parallel()
				marker, text := prompt("flag")
				o := s.send(t, e, keys["flag"], text)
				if o.blocked != "" {
					t.Fatalf("refused: %+v", o)
				}
				if !strings.Contains(e.upstreamBody(t, marker), email) {
					t.Error("a flagged prompt was changed")
				}
				if o.verdicts != "pii-flag/pii:flag" {
					t.Errorf("verdict header = %q", o.verdicts)
				}
				if s.name == "rpc" && o.rpcVerdicts != "pii-flag/pii:flag" {
					t.Errorf("guardrail_verdicts = %q", o.rpcVerdicts)
				}
				r := e.recordOf(t, o.requestID)
				if vs := recordVerdicts(t, r.guardrails); r.status != int16(store.StatusOK) || len(vs) != 1 ||
					vs[0].Policy != "pii-flag" || vs[0].Action != "flag" || vs[0].Stage != "input" || vs[0].Count != 2 {
					t.Errorf("record = %+v", r)
				}
			})
		})
	}
}

// TestInjectionInToolResults blocks an injection in a tool result, while
// the same text in a user message (outside the guardrail's scope) passes.
func TestInjectionInToolResults(t *testing.T) {
	t.Parallel()
	e := start(t)
	g := guardrail(t, "tools", "injection", input, false, true, map[string]any{})
	g.Scope = []string{"tool"}
	key := e.keyWith(t, "injection", g)
	tests := []struct {
		name        string
		send        func(t *testing.T) outcome
		wantBlocked string
	}{
		{name: "openai user", send: func(t *testing.T) outcome {
			return surfaces[0].send(t, e, key, injection)
		}},
		{name: "openai tool result", wantBlocked: "invalid_request_error/guardrail_blocked", send: func(t *testing.T) outcome {
			r := e.openai(t, key, false, user("look it up"),
				map[string]any{"role": "assistant", "content": nil, "tool_calls": []any{map[string]any{
					"id": "call_1", "type": "function", "function": map[string]any{"name": "fetch", "arguments": "{}"}}}},
				map[string]any{"role": "tool", "tool_call_id": "call_1", "content": injection})
			o := outcome{status: r.status, requestID: r.header.Get("X-Request-Id")}
			if r.status != http.StatusOK {
				er := r.errorOf(t)
				o.blocked = er["type"].(string) + "/" + er["code"].(string)
			}
			return o
		}},
		{name: "anthropic user", send: func(t *testing.T) outcome {
			return surfaces[1].send(t, e, key, injection)
		}},
		{name: "anthropic tool result", wantBlocked: "invalid_request_error", send: func(t *testing.T) outcome {
			r := e.anthropic(t, key, false, user("look it up"),
				map[string]any{"role": "assistant", "content": []any{map[string]any{"type": "tool_use", "id": "toolu_1", "name": "fetch", "input": map[string]any{}}}},
				map[string]any{"role": "user", "content": []any{map[string]any{"type": "tool_result", "tool_use_id": "toolu_1", "content": injection}}})
			o := outcome{status: r.status, requestID: r.header.Get("X-Request-Id")}
			if r.status != http.StatusOK {
				o.blocked, _ = r.errorOf(t)["type"].(string)
			}
			return o
		}},
		{name: "rpc user", send: func(t *testing.T) outcome {
			return surfaces[2].send(t, e, key, injection)
		}},
		{name: "rpc tool result", wantBlocked: "permission_denied", send: func(t *testing.T) outcome {
			asst := &tollgatev1.Message{Role: tollgatev1.Role_ROLE_ASSISTANT, ToolCalls: []*tollgatev1.ToolCall{{Id: "call_1", Name: "fetch", Arguments: "{}"}}}
			tool := rpcText(tollgatev1.Role_ROLE_TOOL, injection)
			tool.ToolCallId = "call_1"
			_, err := e.rpc(key).Chat(context.Background(), connect.NewRequest(rpcChat(rpcText(tollgatev1.Role_ROLE_USER, "look it up"), asst, tool)))
			if err != nil {
				return rpcFailure(t, err)
			}
			return outcome{}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := tt.send(t)
			if o.blocked != tt.wantBlocked {
				t.Fatalf("outcome %+v, want refusal %q", o, tt.wantBlocked)
			}
			if tt.wantBlocked != "" && o.status != 0 && o.status != http.StatusBadRequest {
				t.Errorf("status = %d, want 400", o.status)
			}
		})
	}
}

// streamer reads a streamed answer on one surface: the raw bytes the
// client received, the answer's text (its deltas joined) and the dialect's
// error if the stream ended with one.
type streamer struct {
	name string
	read func(t *testing.T, e *env, key string) (raw, text, failure string)
}

var streamers = []streamer{
	{name: "openai", read: func(t *testing.T, e *env, key string) (string, string, string) {
		r := e.openai(t, key, true, user("tell me the key"))
		if r.status != http.StatusOK {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		var text strings.Builder
		failure := ""
		for line := range strings.Lines(r.body) {
			data, ok := strings.CutPrefix(strings.TrimSpace(line), "data: ")
			if !ok || data == "[DONE]" {
				continue
			}
			var ev struct {
				Error   struct{ Code string } `json:"error"`
				Choices []struct {
					Delta struct{ Content string } `json:"delta"`
				} `json:"choices"`
			}
			if err := json.Unmarshal([]byte(data), &ev); err != nil {
				t.Fatalf("bad event %q: %v", data, err)
			}
			failure = cmp.Or(ev.Error.Code, failure)
			for _, c := range ev.Choices {
				text.WriteString(c.Delta.Content)
			}
		}
		return r.body, text.String(), failure
	}},
	{name: "anthropic", read: func(t *testing.T, e *env, key string) (string, string, string) {
		r := e.anthropic(t, key, true, user("tell me the key"))
		if r.status != http.StatusOK {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		var text strings.Builder
		failure := ""
		for line := range strings.Lines(r.body) {
			data, ok := strings.CutPrefix(strings.TrimSpace(line), "data: ")
			if !ok {
				continue
			}
			var ev struct {
				Type  string
				Error struct{ Type string } `json:"error"`
				Delta struct{ Text string } `json:"delta"`
			}
			if err := json.Unmarshal([]byte(data), &ev); err != nil {
				t.Fatalf("bad event %q: %v", data, err)
			}
			if ev.Type == "error" {
				failure = ev.Error.Type
			}
			text.WriteString(ev.Delta.Text)
		}
		return r.body, text.String(), failure
	}},
	{name: "rpc", read: func(t *testing.T, e *env, key string) (string, string, string) {
		st, err := e.rpc(key).ChatStream(context.Background(), connect.NewRequest(&tollgatev1.ChatStreamRequest{
			Request: rpcChat(rpcText(tollgatev1.Role_ROLE_USER, "tell me the key"))}))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		var text strings.Builder
		verdicts := ""
		for st.Receive() {
			for _, c := range st.Msg().GetChoices() {
				text.WriteString(c.GetText())
			}
			verdicts = cmp.Or(protoVerdicts(st.Msg().GetGuardrailVerdicts()), verdicts)
		}
		failure := ""
		if err := st.Err(); err != nil {
			failure = connect.CodeOf(err).String()
		} else if verdicts != "secrets-redact/secrets:mutate" {
			t.Errorf("final guardrail_verdicts = %q", verdicts)
		}
		return text.String(), text.String(), failure
	}},
}

// TestStreamedSecret has the model produce an API key in the middle of a
// streamed answer, split over several chunks: the client never sees it.
func TestStreamedSecret(t *testing.T) {
	t.Parallel()
	reply := "Sure, here it is: " + secret + " and keep it safe, it grants access to everything we have."
	e := start(t, fakeupstream.WithReply(reply), fakeupstream.WithChunks(12))
	secrets := map[string]any{"types": []any{"openai_key"}}
	blockKey := e.keyWith(t, "secrets-block", guardrail(t, "secrets", "secrets", output, false, true, secrets))
	redactKey := e.keyWith(t, "secrets-redact", guardrail(t, "secrets", "secrets", output, true, false, secrets))
	wantFailure := map[string]string{"openai": "guardrail_blocked", "anthropic": "invalid_request_error", "rpc": "permission_denied"}
	// Any 12 consecutive characters of the key would be a leak.
	leaked := func(received string) bool {
		for i := 0; i+12 <= len(secret); i++ {
			if strings.Contains(received, secret[i:i+12]) {
				return true
			}
		}
		return false
	}
	for _, s := range streamers {
		t.Run(s.name+" block", func(t *testing.T) {
			t.Parallel()
			raw, text, failure := s.read(t, e, blockKey)
			if leaked(raw) || leaked(text) {
				t.Fatalf("the client received the secret:\n%s", raw)
			}
			if failure != wantFailure[s.name] {
				t.Fatalf("stream failure = %q, want %q:\n%s", failure, wantFailure[s.name], raw)
			}
		})
		t.Run(s.name+" redact", func(t *testing.T) {
			t.Parallel()
			raw, text, failure := s.read(t, e, redactKey)
			if leaked(raw) || leaked(text) || failure != "" {
				t.Fatalf("failure %q; received:\n%s", failure, raw)
			}
			if want := strings.Replace(reply, secret, "[API_KEY_1]", 1); text != want {
				t.Fatalf("answer = %q, want %q", text, want)
			}
		})
	}
	t.Cleanup(func() { e.assertNoLeak(t, 2*len(streamers), secret) })
}

// TestWebhookTimeout makes a webhook guardrail time out: fail-open lets the
// request through with an error verdict, fail-closed refuses it as
// unavailable.
func TestWebhookTimeout(t *testing.T) {
	t.Parallel()
	e := start(t)
	hook := guardrailstest.NewWebhook(t, "whsec-test", func(guardrails.WebhookRequest) guardrails.WebhookResponse {
		return guardrails.WebhookResponse{Action: "allow"}
	}, guardrailstest.WithDelay(2*time.Second))
	cfg := map[string]any{"url": hook.URL, "secret": "whsec-test", "timeout": "100ms"}
	open := guardrail(t, "hook", "webhook", input, false, true, cfg)
	open.FailOpen = true
	openKey := e.keyWith(t, "hook-open", open)
	closedKey := e.keyWith(t, "hook-closed", guardrail(t, "hook", "webhook", input, false, true, cfg))
	wantUnavailable := map[string]string{"openai": "server_error/guardrail_unavailable", "anthropic": "api_error", "rpc": "unavailable",
		"responses": "server_error/guardrail_unavailable"}
	for _, s := range surfaces {
		t.Run(s.name+" fail-open", func(t *testing.T) {
			t.Parallel()
			o := s.send(t, e, openKey, "hello "+s.name)
			if o.blocked != "" || o.verdicts != "hook-open/hook:error" {
				t.Fatalf("outcome %+v", o)
			}
			if vs := recordVerdicts(t, e.recordOf(t, o.requestID).guardrails); len(vs) != 1 || vs[0].Action != "error" {
				t.Errorf("record verdicts = %+v", vs)
			}
		})
		t.Run(s.name+" fail-closed", func(t *testing.T) {
			t.Parallel()
			o := s.send(t, e, closedKey, "hello "+s.name)
			if o.blocked != wantUnavailable[s.name] {
				t.Fatalf("outcome %+v, want %q", o, wantUnavailable[s.name])
			}
			if s.name != "rpc" && o.status != http.StatusServiceUnavailable {
				t.Errorf("status = %d, want 503", o.status)
			}
			if r := e.recordOf(t, o.requestID); r.errorCode != "guardrail_error" {
				t.Errorf("record = %+v", r)
			}
		})
	}
}
