package sdk_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/gen/tollgate/v1/tollgatev1connect"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// pdf is a small PDF, base64-encoded as every dialect sends it.
var pdf = base64.StdEncoding.EncodeToString([]byte("%PDF-1.4\n1 0 obj <</Type /Catalog>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n"))

// losslessFixture serves a GPT model (the OpenAI fake) and a Claude model
// (the Anthropic fake), with a key that refuses what an upstream cannot
// honour and a key allowed to drop it.
type losslessFixture struct {
	*anthropicFixture
	dropKey string
	usage   tollgatev1connect.UsageServiceClient
}

func startLossless(t *testing.T) *losslessFixture {
	t.Helper()
	f := &losslessFixture{anthropicFixture: startAnthropicFixture(t, fakeupstream.WithReply(reply), fakeupstream.WithChunks(4))}
	resp, err := f.g.Admin.CreateKey(context.Background(), connect.NewRequest(&tollgatev1.CreateKeyRequest{Key: &tollgatev1.VirtualKey{
		Name: "drops", TeamId: servertest.TeamID, DropParams: true}}))
	if err != nil {
		t.Fatal(err)
	}
	f.dropKey = resp.Msg.GetSecret()
	f.usage = tollgatev1connect.NewUsageServiceClient(http.DefaultClient, f.g.URL,
		connect.WithInterceptors(servertest.BearerInterceptor(f.g.AdminToken)))
	return f
}

// sent records the bodies an SDK sends, through its middleware hook.
type sent struct{ bodies [][]byte }

func (s *sent) middleware(req *http.Request, next func(*http.Request) (*http.Response, error)) (*http.Response, error) {
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		s.bodies = append(s.bodies, b)
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	return next(req)
}

func (s *sent) last() []byte { return s.bodies[len(s.bodies)-1] }

// received returns the body of the latest request a fake received that
// contains marker.
func received(t *testing.T, reqs []fakeupstream.Request, marker string) []byte {
	t.Helper()
	for i := len(reqs) - 1; i >= 0; i-- {
		if bytes.Contains(reqs[i].Body, []byte(marker)) {
			return reqs[i].Body
		}
	}
	t.Fatalf("no request with %q reached the upstream", marker)
	return nil
}

// record waits for the request record of id and returns it.
func (f *losslessFixture) record(t *testing.T, id string) *tollgatev1.RequestRecord {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := f.usage.ListRequestRecords(context.Background(), connect.NewRequest(&tollgatev1.ListRequestRecordsRequest{PageSize: 1000}))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range resp.Msg.GetRecords() {
			if r.GetRequestId() == id {
				return r
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no record of %s", id)
		}
		time.Sleep(50 * time.Millisecond) // polling the store, not synchronising goroutines
	}
}

// TestLosslessGo checks, with the official Go SDKs through the real
// server, that documents, files, betas, token arrays and parameters reach
// upstreams whole, or are refused (or dropped when allowed) out loud.
func TestLosslessGo(t *testing.T) {
	t.Parallel()
	f := startLossless(t)
	ctx := context.Background()

	t.Run("Anthropic PDF document to Claude, byte for byte", func(t *testing.T) {
		t.Parallel()
		var s sent
		c := anthropic.NewClient(aoption.WithBaseURL(f.g.URL), aoption.WithAPIKey(f.key), aoption.WithMaxRetries(0), aoption.WithMiddleware(s.middleware))
		doc := anthropic.NewDocumentBlock(anthropic.Base64PDFSourceParam{Data: pdf})
		doc.OfDocument.Title = anthropic.String("report.pdf")
		doc.OfDocument.Citations = anthropic.CitationsConfigParam{Enabled: anthropic.Bool(true)}
		doc.OfDocument.CacheControl = anthropic.NewCacheControlEphemeralParam()
		msg, err := c.Messages.New(ctx, anthropic.MessageNewParams{
			Model: ClaudeModel, MaxTokens: 256,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(doc, anthropic.NewTextBlock("summarise it"))},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(msg.Content) != 1 || !strings.Contains(msg.Content[0].Text, "[document: report.pdf]") {
			t.Errorf("answer %+v", msg.Content)
		}
		if got := received(t, f.claude.Requests(), pdf); !bytes.Equal(got, s.last()) {
			t.Errorf("the upstream received\n%s\nthe SDK sent\n%s", got, s.last())
		}
	})

	t.Run("anthropic-beta reaches the upstream", func(t *testing.T) {
		t.Parallel()
		c := f.anthropicClient(f.key)
		_, err := c.Beta.Messages.New(ctx, anthropic.BetaMessageNewParams{
			Model: ClaudeModel, MaxTokens: 64, Betas: []anthropic.AnthropicBeta{anthropic.AnthropicBetaContext1m2025_08_07},
			Messages: []anthropic.BetaMessageParam{anthropic.NewBetaUserMessage(anthropic.NewBetaTextBlock("beta hello"))},
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range f.claude.Requests() {
			if bytes.Contains(r.Body, []byte("beta hello")) {
				if got := r.Header.Get("Anthropic-Beta"); !strings.Contains(got, string(anthropic.AnthropicBetaContext1m2025_08_07)) {
					t.Errorf("anthropic-beta = %q", got)
				}
				if r.Header.Get("X-Api-Key") != "sk-fake-anthropic" {
					t.Errorf("the upstream got the client's credential, not the provider's")
				}
				return
			}
		}
		t.Fatal("the request did not reach the upstream")
	})

	fileMessage := func(text string) openai.ChatCompletionMessageParamUnion {
		return openai.UserMessage([]openai.ChatCompletionContentPartUnionParam{
			openai.FileContentPart(openai.ChatCompletionContentPartFileFileParam{
				FileData: openai.String("data:application/pdf;base64," + pdf), Filename: openai.String("report.pdf")}),
			openai.TextContentPart(text),
		})
	}

	t.Run("OpenAI file part to GPT, byte for byte", func(t *testing.T) {
		t.Parallel()
		var s sent
		c := f.client(f.key, option.WithMiddleware(s.middleware))
		resp, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: servertest.ChatModel,
			Messages: []openai.ChatCompletionMessageParamUnion{fileMessage("gpt: what is in the file?")}})
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.Choices[0].Message.Content; !strings.Contains(got, "[file: report.pdf]") {
			t.Errorf("answer %q", got)
		}
		if got := received(t, f.fake.Requests(), "gpt: what is in the file?"); !bytes.Equal(got, s.last()) {
			t.Errorf("the upstream received\n%s\nthe SDK sent\n%s", got, s.last())
		}
	})

	t.Run("OpenAI file part to Claude becomes a document", func(t *testing.T) {
		t.Parallel()
		c := f.client(f.key)
		resp, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: ClaudeModel,
			Messages: []openai.ChatCompletionMessageParamUnion{fileMessage("claude: what is in the file?")}})
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.Choices[0].Message.Content; !strings.Contains(got, "[document: report.pdf]") {
			t.Errorf("answer %q", got)
		}
		want := `{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"` + pdf + `"},"title":"report.pdf"}`
		if got := received(t, f.claude.Requests(), "claude: what is in the file?"); !bytes.Contains(got, []byte(want)) {
			t.Errorf("the upstream received %s", got)
		}
	})

	t.Run("token-array embeddings to an OpenAI-dialect upstream", func(t *testing.T) {
		t.Parallel()
		c := f.client(f.key)
		resp, err := c.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: servertest.EmbeddingModel,
			Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfTokenArrays: [][]int64{{1212, 318, 257}, {9906}}}})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Data) != 2 || len(resp.Data[0].Embedding) == 0 {
			t.Fatalf("embeddings %+v", resp.Data)
		}
		if !slices.ContainsFunc(f.fake.Requests(), func(r fakeupstream.Request) bool {
			return bytes.Contains(r.Body, []byte(`[[1212,318,257],[9906]]`))
		}) {
			t.Error("the token arrays did not reach the upstream")
		}
	})

	logprobs := openai.ChatCompletionNewParams{Model: ClaudeModel, Logprobs: openai.Bool(true),
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("logprobs please")}}

	t.Run("logprobs to Claude is refused", func(t *testing.T) {
		t.Parallel()
		c := f.client(f.key, option.WithMaxRetries(0))
		_, err := c.Chat.Completions.New(ctx, logprobs)
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) {
			t.Fatalf("err = %v", err)
		}
		if apiErr.StatusCode != http.StatusBadRequest || apiErr.Param != "logprobs" || !strings.Contains(apiErr.Message, ClaudeModel) ||
			!strings.Contains(apiErr.Message, "log probabilities") {
			t.Errorf("error %d param %q: %s", apiErr.StatusCode, apiErr.Param, apiErr.Message)
		}
	})

	t.Run("logprobs to Claude is dropped when the key allows it", func(t *testing.T) {
		t.Parallel()
		var httpResp *http.Response
		c := f.client(f.dropKey)
		resp, err := c.Chat.Completions.New(ctx, logprobs, option.WithResponseInto(&httpResp))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Choices[0].Message.Content != reply || httpResp.Header.Get("X-Tollgate-Dropped-Params") != "logprobs" {
			t.Errorf("answer %q, dropped %q", resp.Choices[0].Message.Content, httpResp.Header.Get("X-Tollgate-Dropped-Params"))
		}
		rec := f.record(t, httpResp.Header.Get("X-Request-Id"))
		if !slices.Equal(rec.GetDroppedParams(), []string{"logprobs"}) {
			t.Errorf("record's dropped params %q", rec.GetDroppedParams())
		}
	})

	t.Run("json_schema to Claude through a forced tool", func(t *testing.T) {
		t.Parallel()
		c := f.client(f.key)
		resp, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: ClaudeModel,
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("structured please")},
			ResponseFormat: openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{
				JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{Name: "answer",
					Schema: map[string]any{"type": "object", "properties": map[string]any{"text": map[string]any{"type": "string"}}}}}}})
		if err != nil {
			t.Fatal(err)
		}
		msg := resp.Choices[0]
		var v struct {
			Text string `json:"text"`
		}
		if err := json.Unmarshal([]byte(msg.Message.Content), &v); err != nil || v.Text != "structured please" ||
			msg.FinishReason != "stop" || len(msg.Message.ToolCalls) != 0 {
			t.Errorf("answer %+v (%v)", msg, err)
		}
		body := received(t, f.claude.Requests(), "structured please")
		if !bytes.Contains(body, []byte(`"tool_choice":{"type":"tool","name":"answer"}`)) || !bytes.Contains(body, []byte(`"name":"answer"`)) {
			t.Errorf("the upstream received %s", body)
		}
	})

	t.Run("thinking and reasoning_effort map both ways", func(t *testing.T) {
		t.Parallel()
		c := f.client(f.key)
		_, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: ClaudeModel,
			ReasoningEffort: shared.ReasoningEffortHigh, MaxCompletionTokens: openai.Int(20000),
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("effort to thinking")}})
		if err != nil {
			t.Fatal(err)
		}
		if got := received(t, f.claude.Requests(), "effort to thinking"); !bytes.Contains(got, []byte(`"thinking":{"type":"enabled","budget_tokens":16384}`)) {
			t.Errorf("Claude received %s", got)
		}
		ac := f.anthropicClient(f.key)
		_, err = ac.Messages.New(ctx, anthropic.MessageNewParams{Model: servertest.ChatModel, MaxTokens: 8192,
			Thinking: anthropic.ThinkingConfigParamOfEnabled(4096),
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("thinking to effort"))}})
		if err != nil {
			t.Fatal(err)
		}
		if got := received(t, f.fake.Requests(), "thinking to effort"); !bytes.Contains(got, []byte(`"reasoning_effort":"medium"`)) {
			t.Errorf("GPT received %s", got)
		}
	})
}

// TestLosslessNode runs test/sdk/node/lossless.test.mjs (the official
// OpenAI and Anthropic TypeScript SDKs) against the same fixture, then
// checks what the fakes received.
func TestLosslessNode(t *testing.T) {
	t.Parallel()
	node, dir := nodeWithSDKs(t)
	f := startLossless(t)
	cmd := exec.CommandContext(t.Context(), node, "--test", "--test-reporter=spec", "lossless.test.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"TOLLGATE_URL="+f.g.URL, "TOLLGATE_KEY="+f.key, "TOLLGATE_DROP_KEY="+f.dropKey, "TOLLGATE_REPLY="+reply,
		"TOLLGATE_CHAT_MODEL="+servertest.ChatModel, "TOLLGATE_EMBEDDING_MODEL="+servertest.EmbeddingModel,
		"TOLLGATE_ANTHROPIC_MODEL="+ClaudeModel, "TOLLGATE_PDF="+pdf)
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("node --test lossless.test.mjs: %v", err)
	}
	// What the fakes received from the Node SDKs.
	var beta, doc bool
	for _, r := range f.claude.Requests() {
		if bytes.Contains(r.Body, []byte("node beta")) && strings.Contains(r.Header.Get("Anthropic-Beta"), "context-1m-2025-08-07") {
			beta = true
		}
		if bytes.Contains(r.Body, []byte("node pdf")) && bytes.Contains(r.Body, []byte(`"data":"`+pdf+`"`)) {
			doc = true
		}
	}
	if !beta || !doc {
		t.Errorf("Claude fake: anthropic-beta seen %v, PDF document seen %v", beta, doc)
	}
	var file bool
	for _, r := range f.fake.Requests() {
		if bytes.Contains(r.Body, []byte("node file to gpt")) && bytes.Contains(r.Body, []byte(`"file_data":"data:application/pdf;base64,`+pdf+`"`)) {
			file = true
		}
	}
	if !file {
		t.Error("OpenAI fake: the file part did not arrive")
	}
}
