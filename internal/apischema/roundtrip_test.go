package apischema_test

import (
	stdjson "encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	"github.com/tollgate-dev/tollgate/internal/apischema/anthropic"
	"github.com/tollgate-dev/tollgate/internal/apischema/gemini"
	"github.com/tollgate-dev/tollgate/internal/apischema/openai"
)

// probe is the member the tests add to every object of a fixture. Its
// value is the path of the object it was added to.
const probe = "x_tollgate_probe"

// withProbes returns v with a probe member added to every object.
func withProbes(v any, path string) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x)+1)
		for k, e := range x {
			p := k
			if path != "" {
				p = path + "." + k
			}
			out[k] = withProbes(e, p)
		}
		out[probe] = path
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = withProbes(e, path+"["+strconv.Itoa(i)+"]")
		}
		return out
	}
	return v
}

// fixture is a file of recorded-format bodies and what they decode into:
// one type for a single body, one per element for an array of bodies.
type fixture struct {
	file  string
	types []func() any
	// decode decodes with the dialect's options.
	decode func([]byte, any) error
	// want are probe paths Unknowns must report (deep ones especially).
	want []string
}

func each(n int, f func() any) []func() any {
	out := make([]func() any, n)
	for i := range out {
		out[i] = f
	}
	return out
}

func newOf[T any]() func() any { return func() any { return new(T) } }

var plain = func(b []byte, v any) error { return apischema.Unmarshal(b, v) }

var fixtures = []fixture{
	{file: "openai/chat_request.json", types: each(1, newOf[openai.ChatCompletionRequest]()), decode: plain, want: []string{
		"", "messages[2]", "messages[2].content[2]", "messages[2].content[2].file", "messages[2].content[1].image_url",
		"messages[2].content[4].input_audio", "messages[3].tool_calls[0].function", "messages[3].tool_calls[1].custom",
		"messages[5].content[0]", "tools[0].function", "tool_choice", "tool_choice.function", "response_format.json_schema",
		"stream_options",
	}},
	{file: "openai/chat_request_legacy.json", types: each(1, newOf[openai.ChatCompletionRequest]()), decode: plain, want: []string{
		"messages[1].function_call", "functions[0]", "function_call",
	}},
	{file: "openai/chat_completion.json", types: each(1, newOf[openai.ChatCompletion]()), decode: plain, want: []string{
		"choices[1].message.tool_calls[0].function", "usage.prompt_tokens_details", "usage.completion_tokens_details",
	}},
	{file: "openai/chat_chunks.json", types: each(4, newOf[openai.Chunk]()), decode: plain, want: []string{
		"choices[0].delta", "choices[0].delta.tool_calls[0].function", "usage.prompt_tokens_details",
	}},
	{file: "openai/embedding_requests.json", types: each(4, newOf[openai.EmbeddingRequest]()), decode: plain, want: []string{""}},
	{file: "openai/embedding_list.json", types: each(1, newOf[openai.EmbeddingList]()), decode: plain, want: []string{"data[1]", "usage"}},
	{file: "openai/errors.json", types: each(5, newOf[openai.ErrorBody]()), decode: plain, want: []string{"error"}},
	{file: "openai/models.json", types: each(1, newOf[openai.ModelList]()), decode: plain, want: []string{"data[1]"}},
	{file: "openai/responses_request.json", types: each(1, newOf[openai.ResponsesRequest]()), decode: plain, want: []string{
		"", "input[1].content[1]", "input[1].content[2]", "input[2].summary[0]", "input[3]", "input[5].content[0]",
		"tools[1]", "tool_choice", "text.format", "reasoning",
	}},
	{file: "openai/response.json", types: each(1, newOf[openai.Response]()), decode: plain, want: []string{
		"output[0].summary[0]", "output[1].content[0]", "output[2]", "incomplete_details", "usage.output_tokens_details", "text.format",
	}},
	{file: "openai/responses_events.json", types: each(7, newOf[openai.StreamEvent]()), decode: plain, want: []string{
		"response", "item", "part", "",
	}},

	{file: "anthropic/messages_request.json", types: each(1, newOf[anthropic.MessagesRequest]()), decode: plain, want: []string{
		"", "system[0]", "system[0].cache_control", "messages[0]", "messages[0].content[0]", "messages[0].content[0].source",
		"messages[0].content[3].source.content[1]", "messages[0].content[7]", "messages[1].content[4].content[0]",
		"messages[2].content[0].content[1].source", "tools[1]", "tool_choice", "thinking", "output_config.format", "metadata",
	}},
	{file: "anthropic/message.json", types: each(1, newOf[anthropic.Message]()), decode: plain, want: []string{
		"content[3].content[0]", "content[4]", "usage",
	}},
	{file: "anthropic/stream_events.json", types: each(16, newOf[anthropic.StreamEvent]()), decode: plain, want: []string{
		"message.usage", "content_block", "delta", "usage", "error",
	}},
	{file: "anthropic/misc.json", types: []func() any{newOf[anthropic.ErrorBody](), newOf[anthropic.CountTokensResponse](), newOf[anthropic.ModelList]()},
		decode: plain, want: []string{"error.details", "data[0]"}},

	{file: "gemini/generate_request.json", types: each(1, newOf[gemini.GenerateContentRequest]()), decode: gemini.Unmarshal, want: []string{
		"contents[0].parts[1].inlineData", "contents[0].parts[2].fileData", "contents[1].parts[1].functionCall",
		"contents[2].parts[0].functionResponse", "tools[0].functionDeclarations[0]", "toolConfig.functionCallingConfig",
		"generationConfig.thinkingConfig", "safetySettings[0]", "systemInstruction",
	}},
	{file: "gemini/generate_response.json", types: each(1, newOf[gemini.GenerateContentResponse]()), decode: gemini.Unmarshal, want: []string{
		"candidates[0].content.parts[2].functionCall", "candidates[1]", "usageMetadata", "promptFeedback",
	}},
	{file: "gemini/misc.json", types: []func() any{newOf[gemini.ErrorBody](), newOf[gemini.EmbedContentRequest](), newOf[gemini.BatchEmbedContentsRequest](),
		newOf[gemini.EmbedContentResponse](), newOf[gemini.BatchEmbedContentsResponse](), newOf[gemini.CountTokensRequest](),
		newOf[gemini.CountTokensResponse](), newOf[gemini.ModelList]()},
		decode: gemini.Unmarshal, want: []string{"error.details[1]", "content", "requests[0].content", "embeddings[1]", "models[0]"}},
}

// TestRoundTrip decodes every recorded-format body, with an unknown member
// added to every object at every nesting level, encodes it again and
// checks that nothing was lost or changed, and that Unknowns names the
// added members where a schema type held them.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	for _, fx := range fixtures {
		t.Run(fx.file, func(t *testing.T) {
			t.Parallel()
			raw, err := os.ReadFile(filepath.Join("testdata", fx.file))
			if err != nil {
				t.Fatal(err)
			}
			var doc any
			if err := stdjson.Unmarshal(raw, &doc); err != nil {
				t.Fatal(err)
			}
			bodies := []any{doc}
			if arr, ok := doc.([]any); ok && len(fx.types) != 1 || len(fx.types) > 1 {
				bodies = arr
			}
			if len(bodies) != len(fx.types) {
				t.Fatalf("%d bodies for %d types", len(bodies), len(fx.types))
			}
			var reported []string
			for i, body := range bodies {
				in, err := stdjson.Marshal(withProbes(body, ""))
				if err != nil {
					t.Fatal(err)
				}
				v := fx.types[i]()
				if err := fx.decode(in, v); err != nil {
					t.Fatalf("body %d: decode: %v", i, err)
				}
				out, err := apischema.Marshal(v)
				if err != nil {
					t.Fatalf("body %d: encode: %v", i, err)
				}
				var want, got any
				_ = stdjson.Unmarshal(in, &want)
				if err := stdjson.Unmarshal(out, &got); err != nil {
					t.Fatalf("body %d: re-encoded body is not JSON: %v\n%s", i, err, out)
				}
				if !reflect.DeepEqual(want, got) {
					t.Fatalf("body %d changed in a round trip:\n in: %s\nout: %s\n%s", i, in, out, diff(want, got, ""))
				}
				for _, m := range apischema.Unknowns(v) {
					name := m.Path[strings.LastIndexByte(m.Path, '.')+1:]
					if name != probe {
						continue // a member the schema leaves undeclared
					}
					at := strings.TrimSuffix(strings.TrimSuffix(m.Path, probe), ".")
					if got := apischema.Text(m.Value); got != at {
						t.Errorf("body %d: probe of %q reported at %q", i, got, at)
					}
					reported = append(reported, at)
				}
			}
			for _, w := range fx.want {
				if !slices.Contains(reported, w) {
					t.Errorf("Unknowns did not report the probe of %q; reported %q", w, reported)
				}
			}
		})
	}
}

// diff describes the first difference between two decoded JSON values.
func diff(a, b any, path string) string {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s: %T vs %T", path, a, b)
		}
		for k := range x {
			if _, ok := y[k]; !ok {
				return fmt.Sprintf("%s.%s: missing", path, k)
			}
			if d := diff(x[k], y[k], path+"."+k); d != "" {
				return d
			}
		}
		for k := range y {
			if _, ok := x[k]; !ok {
				return fmt.Sprintf("%s.%s: added", path, k)
			}
		}
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return fmt.Sprintf("%s: %v vs %v", path, a, b)
		}
		for i := range x {
			if d := diff(x[i], y[i], path+"["+strconv.Itoa(i)+"]"); d != "" {
				return d
			}
		}
	default:
		if !reflect.DeepEqual(a, b) {
			return fmt.Sprintf("%s: %v vs %v", path, a, b)
		}
	}
	return ""
}

// TestGeminiSnakeCase checks that the snake_case spelling the REST API
// accepts decodes like camelCase.
func TestGeminiSnakeCase(t *testing.T) {
	t.Parallel()
	var snake, camel gemini.GenerateContentRequest
	if err := gemini.Unmarshal([]byte(`{"contents":[{"role":"user","parts":[{"inline_data":{"mime_type":"application/pdf","data":"JVBE"}},{"file_data":{"file_uri":"gs://b/o","mime_type":"application/pdf"}}]}],"system_instruction":{"parts":[{"text":"x"}]},"generation_config":{"max_output_tokens":5,"thinking_config":{"thinking_budget":0}}}`), &snake); err != nil {
		t.Fatal(err)
	}
	if err := gemini.Unmarshal([]byte(`{"contents":[{"role":"user","parts":[{"inlineData":{"mimeType":"application/pdf","data":"JVBE"}},{"fileData":{"fileUri":"gs://b/o","mimeType":"application/pdf"}}]}],"systemInstruction":{"parts":[{"text":"x"}]},"generationConfig":{"maxOutputTokens":5,"thinkingConfig":{"thinkingBudget":0}}}`), &camel); err != nil {
		t.Fatal(err)
	}
	a, _ := apischema.Marshal(&snake)
	b, _ := apischema.Marshal(&camel)
	if string(a) != string(b) {
		t.Fatalf("snake_case decodes as\n%s\ncamelCase as\n%s", a, b)
	}
	if u := apischema.Unknowns(&snake); len(u) != 0 {
		t.Fatalf("unknown members %v", u)
	}
}

// TestDuplicateNames checks that a body naming a member twice is refused:
// the gateway must not read one "model" while an upstream reads another.
func TestDuplicateNames(t *testing.T) {
	t.Parallel()
	var r openai.ChatCompletionRequest
	err := apischema.Unmarshal([]byte(`{"model":"cheap","messages":[],"model":"expensive"}`), &r)
	if err == nil {
		t.Fatal("duplicate model accepted")
	}
}
