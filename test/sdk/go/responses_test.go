package sdk_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/internal/testutil"
	"github.com/tollgate-dev/tollgate/providers/anthropic/anthropictest"
	"github.com/tollgate-dev/tollgate/providers/gemini/geminitest"
	"github.com/tollgate-dev/tollgate/service/responsesapi"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
	"github.com/tollgate-dev/tollgate/service/store/pgstore"
)

// PassthroughModel is served by an OpenAI provider with the setting
// responses_api: true: /v1/responses requests reach its /v1/responses.
const PassthroughModel = "gpt-4.1"

// responsesFixture is the common fixture plus an Anthropic, a Gemini and
// a Responses-serving OpenAI provider, whose fakes answer "echo: <last
// user text>" as the OpenAI fake does.
type responsesFixture struct {
	*fixture
	// passthrough is the fake behind PassthroughModel.
	passthrough *fakeupstream.OpenAI
}

func startResponsesFixture(t *testing.T) *responsesFixture {
	t.Helper()
	f := &responsesFixture{fixture: startFixture(t)}
	var purl string
	f.passthrough, purl = fakeupstream.StartOpenAI(t)
	if _, err := f.g.Admin.CreateProvider(context.Background(), connect.NewRequest(&tollgatev1.CreateProviderRequest{
		Provider: &tollgatev1.Provider{Id: "fake-openai-responses", Type: tollgatev1.ProviderType_PROVIDER_TYPE_OPENAI, BaseUrl: purl,
			Settings: map[string]string{"responses_api": "true"}},
		Credential: "sk-responses",
	})); err != nil {
		t.Fatal(err)
	}
	if _, err := f.g.Admin.CreateModel(context.Background(), connect.NewRequest(&tollgatev1.CreateModelRequest{Model: &tollgatev1.Model{
		Name: PassthroughModel, ProviderId: "fake-openai-responses", ContextWindow: 128000}})); err != nil {
		t.Fatal(err)
	}
	_, url := anthropictest.Start(t, anthropictest.WithAPIKey("sk-fake-anthropic"))
	f.addProvider(t, "fake-anthropic", tollgatev1.ProviderType_PROVIDER_TYPE_ANTHROPIC, url, ClaudeModel)
	_, url = geminitest.Start(t)
	f.addProvider(t, "fake-gemini", tollgatev1.ProviderType_PROVIDER_TYPE_GEMINI, url, GeminiModel)
	return f
}

var lookupTool = responses.ToolParamOfFunction("lookup", map[string]any{
	"type": "object", "properties": map[string]any{"text": map[string]any{"type": "string"}},
	"required": []string{"text"}, "additionalProperties": false,
}, true)

// streamed runs a streamed request, checks the event sequence (sequence
// numbers from 0, created first, a completed or incomplete event last,
// every event accepted by the SDK's response accumulator) and returns
// the final response and the text of the output_text deltas.
func streamed(t *testing.T, c openai.Client, params responses.ResponseNewParams) (*responses.Response, string) {
	t.Helper()
	s := c.Responses.NewStreaming(context.Background(), params)
	var acc responses.ResponseAccumulator
	var deltas strings.Builder
	var final *responses.Response
	var types []string
	for s.Next() {
		ev := s.Current()
		if ev.SequenceNumber != int64(len(types)) {
			t.Fatalf("event %d (%s) has sequence_number %d", len(types), ev.Type, ev.SequenceNumber)
		}
		types = append(types, ev.Type)
		var se responses.ResponsesServerEventUnion
		if err := json.Unmarshal([]byte(ev.RawJSON()), &se); err != nil {
			t.Fatal(err)
		}
		if err := acc.AddEvent(se); err != nil {
			t.Fatalf("the SDK's accumulator refused %s: %v", ev.Type, err)
		}
		switch e := ev.AsAny().(type) {
		case responses.ResponseTextDeltaEvent:
			deltas.WriteString(e.Delta)
		case responses.ResponseCompletedEvent:
			final = &e.Response
		case responses.ResponseIncompleteEvent:
			final = &e.Response
		case responses.ResponseErrorEvent:
			t.Fatalf("error event: %s", e.Message)
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if len(types) < 3 || types[0] != "response.created" || types[1] != "response.in_progress" || final == nil {
		t.Fatalf("event sequence %v", types)
	}
	rebuilt, err := acc.ReconstructedResponse()
	if err != nil {
		t.Fatal(err)
	}
	if rebuilt.ID != final.ID || rebuilt.OutputText() != final.OutputText() {
		t.Errorf("accumulated %q (%s), final %q (%s)", rebuilt.OutputText(), rebuilt.ID, final.OutputText(), final.ID)
	}
	return final, deltas.String()
}

func hasUsage(r *responses.Response) bool {
	return r.Usage.InputTokens > 0 && r.Usage.OutputTokens > 0 && r.Usage.TotalTokens == r.Usage.InputTokens+r.Usage.OutputTokens
}

func TestResponsesGo(t *testing.T) {
	t.Parallel()
	f := startResponsesFixture(t)
	ctx := context.Background()
	c := f.client(f.key)

	for _, model := range []string{servertest.ChatModel, ClaudeModel, GeminiModel, PassthroughModel} {
		t.Run(model, func(t *testing.T) {
			t.Parallel()
			t.Run("unary", func(t *testing.T) {
				t.Parallel()
				r, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: model, Instructions: openai.String("be brief"),
					Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("hello there")}})
				if err != nil {
					t.Fatal(err)
				}
				if r.Status != "completed" || r.OutputText() != "echo: hello there" || !hasUsage(r) || !strings.HasPrefix(r.ID, "resp_") ||
					r.Model != model {
					t.Errorf("response %s", r.RawJSON())
				}
			})
			t.Run("stream", func(t *testing.T) {
				t.Parallel()
				r, deltas := streamed(t, c, responses.ResponseNewParams{Model: model,
					Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("stream please")}})
				if r.Status != "completed" || r.OutputText() != "echo: stream please" || deltas != r.OutputText() || !hasUsage(r) {
					t.Errorf("final %s, deltas %q", r.RawJSON(), deltas)
				}
			})
			t.Run("function call round trip", func(t *testing.T) {
				t.Parallel()
				for _, stream := range []bool{false, true} {
					params := responses.ResponseNewParams{Model: model, Tools: []responses.ToolUnionParam{lookupTool},
						Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{
							responses.ResponseInputItemParamOfMessage("please call lookup", responses.EasyInputMessageRoleUser)}}}
					var r *responses.Response
					if stream {
						r, _ = streamed(t, c, params)
					} else {
						var err error
						if r, err = c.Responses.New(ctx, params); err != nil {
							t.Fatal(err)
						}
					}
					var call responses.ResponseFunctionToolCall
					for _, it := range r.Output {
						if it.Type == "function_call" {
							call = it.AsFunctionCall()
						}
					}
					if call.Name != "lookup" || call.CallID == "" || !strings.Contains(call.Arguments, "please call lookup") {
						t.Fatalf("stream=%v: want a lookup call, got %s", stream, r.RawJSON())
					}
					// Round trip: the call and its output sent back as items.
					out := responses.ResponseInputItemParamOfFunctionCallOutput("42 apples")
					out.OfFunctionCallOutput.CallID = openai.String(call.CallID)
					params.Input.OfInputItemList = append(params.Input.OfInputItemList,
						responses.ResponseInputItemParamOfFunctionCall(call.Arguments, call.CallID, call.Name), out)
					r2, err := c.Responses.New(ctx, params)
					if err != nil {
						t.Fatal(err)
					}
					if !strings.Contains(r2.OutputText(), "42 apples") {
						t.Errorf("stream=%v: final answer %q does not use the tool output", stream, r2.OutputText())
					}
				}
			})
			t.Run("structured output", func(t *testing.T) {
				t.Parallel()
				params := responses.ResponseNewParams{Model: model,
					Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Paris")},
					Text: responses.ResponseTextConfigParam{Format: responses.ResponseFormatTextConfigParamOfJSONSchema("answer", map[string]any{
						"type": "object", "properties": map[string]any{"text": map[string]any{"type": "string"}},
						"required": []string{"text"}, "additionalProperties": false,
					})}}
				r, err := c.Responses.New(ctx, params)
				if err != nil {
					t.Fatal(err)
				}
				var out struct{ Text string }
				if err := json.Unmarshal([]byte(r.OutputText()), &out); err != nil || out.Text != "Paris" {
					t.Errorf("structured output %q: %v", r.OutputText(), err)
				}
				rs, _ := streamed(t, c, params)
				if rs.OutputText() != r.OutputText() {
					t.Errorf("streamed structured output %q, unary %q", rs.OutputText(), r.OutputText())
				}
			})
			t.Run("conversation", func(t *testing.T) {
				t.Parallel()
				r1, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: model,
					Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("my name is Ada")}})
				if err != nil {
					t.Fatal(err)
				}
				r2, _ := streamed(t, c, responses.ResponseNewParams{Model: model, PreviousResponseID: openai.String(r1.ID),
					Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("what is my name?")}})
				r3, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: model, PreviousResponseID: openai.String(r2.ID),
					Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("and again?")}})
				if err != nil {
					t.Fatal(err)
				}
				if r3.OutputText() != "echo: and again?" || r3.PreviousResponseID != r2.ID {
					t.Errorf("third turn %s", r3.RawJSON())
				}
				// The model saw the whole conversation: five items before the last input.
				page, err := c.Responses.InputItems.List(ctx, r3.ID, responses.InputItemListParams{Order: responses.InputItemListParamsOrderAsc})
				if err != nil {
					t.Fatal(err)
				}
				var texts []string
				for _, it := range page.Data {
					m := it.AsMessage()
					for _, p := range m.Content {
						texts = append(texts, p.Text)
					}
				}
				want := "my name is Ada|echo: my name is Ada|what is my name?|echo: what is my name?|and again?"
				if strings.Join(texts, "|") != want {
					t.Errorf("input items %q, want %q", strings.Join(texts, "|"), want)
				}
				// The usage grows with the history: the upstream saw it.
				if r3.Usage.InputTokens <= r1.Usage.InputTokens {
					t.Errorf("third turn's input tokens %d not above the first's %d", r3.Usage.InputTokens, r1.Usage.InputTokens)
				}
				got, err := c.Responses.Get(ctx, r2.ID, responses.ResponseGetParams{})
				if err != nil || got.OutputText() != r2.OutputText() {
					t.Errorf("Get = %v, %v", got, err)
				}
			})
		})
	}
}

// TestResponsesGoStoredState: another team's key and a deleted response
// get 404 in OpenAI's shape, for GET, input items and previous_response_id.
func TestResponsesGoStoredState(t *testing.T) {
	t.Parallel()
	f := startFixture(t)
	ctx := context.Background()
	c := f.client(f.key)
	if _, err := f.g.Admin.CreateTeam(ctx, connect.NewRequest(&tollgatev1.CreateTeamRequest{Team: &tollgatev1.Team{Id: "team-b"}})); err != nil {
		t.Fatal(err)
	}
	_, otherKey := f.g.CreateKey(t, "team-b")
	other := f.client(otherKey)

	r, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: servertest.ChatModel,
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("secret of team a")}})
	if err != nil {
		t.Fatal(err)
	}
	want404 := func(name string, err error, param string) {
		t.Helper()
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound || apiErr.Param != param {
			t.Errorf("%s: error %v, want 404 (param %q)", name, err, param)
		}
	}
	_, err = other.Responses.Get(ctx, r.ID, responses.ResponseGetParams{})
	want404("another team's Get", err, "")
	_, err = other.Responses.InputItems.List(ctx, r.ID, responses.InputItemListParams{})
	want404("another team's input items", err, "")
	_, err = other.Responses.New(ctx, responses.ResponseNewParams{Model: servertest.ChatModel, PreviousResponseID: openai.String(r.ID),
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("tell me")}})
	want404("another team's previous_response_id", err, "previous_response_id")
	want404("another team's Delete", other.Responses.Delete(ctx, r.ID), "")

	// store: false keeps nothing.
	unstored, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: servertest.ChatModel, Store: openai.Bool(false),
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("forget me")}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Responses.Get(ctx, unstored.ID, responses.ResponseGetParams{})
	want404("store: false", err, "")

	if err := c.Responses.Delete(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	_, err = c.Responses.Get(ctx, r.ID, responses.ResponseGetParams{})
	want404("deleted Get", err, "")
	_, err = c.Responses.New(ctx, responses.ResponseNewParams{Model: servertest.ChatModel, PreviousResponseID: openai.String(r.ID),
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("again")}})
	want404("deleted previous_response_id", err, "previous_response_id")

	// Records: surface "responses", usage and cost, for unary and streams.
	streamedResp, _ := streamed(t, c, responses.ResponseNewParams{Model: servertest.ChatModel,
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("record me")}})
	conn, err := pgx.Connect(ctx, f.g.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, resp := range []*responses.Response{unstored, streamedResp} {
		requestID := "req_" + strings.TrimPrefix(resp.ID, "resp_")
		var surface, op string
		var stream bool
		var in, out, cost int64
		testutil.Eventually(t, func() error {
			return conn.QueryRow(ctx, `SELECT surface, operation, stream, input_tokens, output_tokens, cost_nanos
				FROM request_records WHERE request_id = $1`, requestID).Scan(&surface, &op, &stream, &in, &out, &cost)
		})
		if surface != "responses" || op != "chat" || stream != (resp == streamedResp) || in != resp.Usage.InputTokens ||
			out != resp.Usage.OutputTokens || cost <= 0 {
			t.Errorf("record of %s: surface %q op %q stream %v tokens %d/%d cost %d; usage %+v", requestID, surface, op, stream, in, out, cost, resp.Usage)
		}
	}
}

// TestResponsesNode runs test/sdk/node/responses.test.mjs (the official
// OpenAI Node SDK's responses.create and responses.stream) against the
// three upstream dialects.
func TestResponsesNode(t *testing.T) {
	t.Parallel()
	node, dir := nodeWithSDKs(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f := startResponsesFixture(t)
	if _, err := f.g.Admin.CreateTeam(ctx, connect.NewRequest(&tollgatev1.CreateTeamRequest{Team: &tollgatev1.Team{Id: "team-b"}})); err != nil {
		t.Fatal(err)
	}
	_, otherKey := f.g.CreateKey(t, "team-b")
	env := map[string]string{
		"TOLLGATE_URL":       f.g.URL,
		"TOLLGATE_KEY":       f.key,
		"TOLLGATE_OTHER_KEY": otherKey,
		"TOLLGATE_MODELS":    strings.Join([]string{servertest.ChatModel, ClaudeModel, GeminiModel, PassthroughModel}, ","),
	}
	run(t, exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", "responses.test.mjs"), dir, env)
}

// TestResponsesRetention: stored responses older than the retention are
// pruned (responsesapi.Prune, which the server runs every hour), on the
// gateway's injected clock; younger ones stay.
func TestResponsesRetention(t *testing.T) {
	t.Parallel()
	clock := &testutil.Clock{}
	_, url := fakeupstream.StartOpenAI(t)
	g := servertest.Start(t, servertest.Options{Clock: clock.Now})
	key := g.Setup(t, url)
	c := openai.NewClient(option.WithBaseURL(g.URL+"/v1/"), option.WithAPIKey(key), option.WithMaxRetries(0))
	ctx := context.Background()
	create := func(text string) *responses.Response {
		r, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: servertest.ChatModel,
			Input: responses.ResponseNewParamsInputUnion{OfString: openai.String(text)}})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	old := create("old")
	clock.Advance(2 * 24 * time.Hour)
	young := create("young")
	st, err := pgstore.Open(ctx, g.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	retention := g.Config.Responses.Retention // the default: 30 days
	if n, err := responsesapi.Prune(ctx, st, clock.Now(), retention); err != nil || n != 0 {
		t.Fatalf("Prune within the retention = %d, %v", n, err)
	}
	clock.Advance(retention - 24*time.Hour) // old is 31 days old, young 29
	if n, err := responsesapi.Prune(ctx, st, clock.Now(), retention); err != nil || n != 1 {
		t.Fatalf("Prune = %d, %v; want 1", n, err)
	}
	var apiErr *openai.Error
	if _, err := c.Responses.Get(ctx, old.ID, responses.ResponseGetParams{}); !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound {
		t.Errorf("Get of a pruned response: %v", err)
	}
	if r, err := c.Responses.Get(ctx, young.ID, responses.ResponseGetParams{}); err != nil || r.OutputText() != "echo: young" {
		t.Errorf("Get of a young response = %v, %v", r, err)
	}
}

// TestResponsesPassthrough: to an OpenAI provider serving the Responses
// API the client's body goes upstream byte for byte (built-in tools
// included), previous_response_id is expanded by the gateway (the
// upstream never sees the gateway's ids), and built-in tools are refused
// for a model that cannot take them.
func TestResponsesPassthrough(t *testing.T) {
	t.Parallel()
	f := startResponsesFixture(t)
	auth := map[string]string{"Authorization": "Bearer " + f.key}
	body := `{"model":"` + PassthroughModel + `",  "input":"search the web","tools":[{"type":"web_search","search_context_size":"low"}],"x_future":{"a":1}}`
	resp, out := postJSON(t, f.g.URL+"/v1/responses", auth, strings.Replace(body, `,"x_future":{"a":1}`, "", 1))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %v", resp.StatusCode, out)
	}
	last, _ := f.passthrough.LastRequest()
	if last.Path != "/v1/responses" || string(last.Body) != strings.Replace(body, `,"x_future":{"a":1}`, "", 1) {
		t.Errorf("upstream received %s %s", last.Path, last.Body)
	}
	first, _ := out["id"].(string)

	// Continued by the upstream's id: the gateway sends the conversation.
	resp, out = postJSON(t, f.g.URL+"/v1/responses", auth, `{"model":"`+PassthroughModel+`","previous_response_id":"`+first+`","input":"more"}`)
	if resp.StatusCode != http.StatusOK || out["previous_response_id"] != first {
		t.Fatalf("status %d: %v", resp.StatusCode, out)
	}
	last, _ = f.passthrough.LastRequest()
	if strings.Contains(string(last.Body), "previous_response_id") || !strings.Contains(string(last.Body), `"search the web"`) ||
		!strings.Contains(string(last.Body), `"echo: search the web"`) || !strings.HasSuffix(string(last.Body), `{"role":"user","content":"more"}]}`) {
		t.Errorf("upstream received %s", last.Body)
	}

	// A stream is relayed as the upstream sent it (its ids), and stored.
	c := f.client(f.key)
	final, _ := streamed(t, c, responses.ResponseNewParams{Model: PassthroughModel,
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("relay me")}})
	last, _ = f.passthrough.LastRequest()
	if last.Path != "/v1/responses" || !strings.HasPrefix(final.ID, "resp_fake") || final.OutputText() != "echo: relay me" {
		t.Errorf("stream: upstream %s, final %s", last.Path, final.RawJSON())
	}
	if got, err := c.Responses.Get(context.Background(), final.ID, responses.ResponseGetParams{}); err != nil || got.OutputText() != "echo: relay me" {
		t.Errorf("Get of a relayed stream's response = %v, %v", got, err)
	}

	// Unknown parameters are refused; built-in tools to Claude too.
	resp, out = postJSON(t, f.g.URL+"/v1/responses", auth, body)
	if e, _ := out["error"].(map[string]any); resp.StatusCode != http.StatusBadRequest || e["param"] != "x_future" {
		t.Errorf("unknown parameter: status %d: %v", resp.StatusCode, out)
	}
	resp, out = postJSON(t, f.g.URL+"/v1/responses", auth, `{"model":"`+ClaudeModel+`","input":"x","tools":[{"type":"web_search"}]}`)
	if e, _ := out["error"].(map[string]any); resp.StatusCode != http.StatusBadRequest || e["param"] != "tools[0]" {
		t.Errorf("built-in tool to Claude: status %d: %v", resp.StatusCode, out)
	}
}

// postJSON posts body and decodes the JSON answer.
func postJSON(t *testing.T, url string, header map[string]string, body string) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
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
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return resp, out
}
