package openaiapi

import (
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/providers"
)

func TestDecodeCompletion(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, body string
		prompts    []string
		maxTokens  int
		unmapped   string
		err        string
	}{
		{name: "string prompt, default max_tokens", body: `{"model":"m","prompt":"hi"}`, prompts: []string{"hi"}, maxTokens: 16},
		{name: "prompt list, echo, logprobs, suffix, best_of", body: `{"model":"m","prompt":["a","b"],"echo":true,"logprobs":2,"suffix":"z","best_of":3,"max_tokens":5}`,
			prompts: []string{"a", "b"}, maxTokens: 5, unmapped: "prompt,echo,suffix,logprobs,best_of"},
		{name: "token ids", body: `{"model":"m","prompt":[1,2,3]}`, prompts: []string{"1 2 3"}, maxTokens: 16, unmapped: "prompt"},
		{name: "token-id arrays", body: `{"model":"m","prompt":[[1],[2,3]]}`, prompts: []string{"1", "2 3"}, maxTokens: 16, unmapped: "prompt"},
		{name: "unknown member", body: `{"model":"m","prompt":"x","guided_json":{}}`, prompts: []string{"x"}, maxTokens: 16, unmapped: "guided_json"},
		{name: "no prompt", body: `{"model":"m"}`, err: "prompt"},
		{name: "empty prompt list", body: `{"model":"m","prompt":[]}`, err: "prompt"},
		{name: "bad prompt", body: `{"model":"m","prompt":{"a":1}}`, err: "prompt"},
		{name: "no model", body: `{"prompt":"x"}`, err: "model"},
		{name: "stream_options without stream", body: `{"model":"m","prompt":"x","stream_options":{"include_usage":true}}`, err: "stream_options"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var d completionDecoded
			err := decodeCompletion([]byte(tc.body), &d)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var prompts []string
			for i := range d.req.Messages {
				prompts = append(prompts, d.req.Messages[i].Text())
			}
			if strings.Join(prompts, "|") != strings.Join(tc.prompts, "|") || *d.req.MaxTokens != tc.maxTokens {
				t.Errorf("prompts %q max_tokens %d", prompts, *d.req.MaxTokens)
			}
			var names []string
			for _, f := range d.req.Source.Unmapped() {
				names = append(names, f.Name)
			}
			if strings.Join(names, ",") != tc.unmapped {
				t.Errorf("unmapped %v, want %s", names, tc.unmapped)
			}
		})
	}
}

func TestCompletionRewrite(t *testing.T) {
	t.Parallel()
	var d completionDecoded
	if err := decodeCompletion([]byte(`{"model":"m","prompt":["mail a@b.c","x"],"echo":true,"extra":1}`), &d); err != nil {
		t.Fatal(err)
	}
	r := d.req
	r.Messages = []providers.Message{
		{Role: providers.RoleUser, Content: []providers.Part{providers.TextPart("mail <EMAIL>")}},
		{Role: providers.RoleUser, Content: []providers.Part{providers.TextPart("x")}},
	}
	b, err := d.req.Source.Wire.Rewrite(&r)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"model":"m","prompt":["mail <EMAIL>","x"],"echo":true,"extra":1}`; string(b) != want {
		t.Errorf("rewritten %s, want %s", b, want)
	}
	var tok completionDecoded
	if err := decodeCompletion([]byte(`{"model":"m","prompt":[1,2]}`), &tok); err != nil {
		t.Fatal(err)
	}
	if _, err := tok.req.Source.Wire.Rewrite(&tok.req); err == nil {
		t.Error("a token prompt was rewritten")
	}
}
