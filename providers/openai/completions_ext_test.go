package openai_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/providers"
)

// completionReq is what the /v1/completions surface makes of body.
func completionReq(body string) *providers.ChatRequest {
	return &providers.ChatRequest{Model: "gpt-3.5-turbo-instruct",
		Messages: []providers.Message{{Role: providers.RoleUser, Content: []providers.Part{providers.TextPart("Say hi")}}},
		Source:   &providers.Source{Dialect: providers.DialectOpenAICompletions, Body: []byte(body)}}
}

func TestCompletionsPassthroughOrChat(t *testing.T) {
	t.Parallel()
	const body = `{"model":"alias","prompt":"Say hi","max_tokens":64,"echo":true}`
	for _, tc := range []struct {
		name     string
		settings map[string]string
		path     string
		raw      bool
	}{
		{"serves completions", nil, "/v1/completions", true},
		{"chat only", map[string]string{"completions": "false"}, "/v1/chat/completions", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake, p := startFake(t, tc.settings, fakeupstream.WithReply("hello"))
			resp, err := p.Chat(context.Background(), completionReq(body))
			if err != nil {
				t.Fatal(err)
			}
			got, _ := fake.LastRequest()
			if got.Path != tc.path || (resp.Raw != nil) != tc.raw || resp.Choices[0].Message.Text() == "" {
				t.Fatalf("path %s, raw %s, answer %+v", got.Path, resp.Raw, resp.Choices)
			}
			if tc.raw && (string(got.Body) != strings.Replace(body, `"alias"`, `"gpt-3.5-turbo-instruct"`, 1) ||
				resp.Choices[0].Message.Text() != "Say hihello" || resp.Usage.OutputTokens == 0) {
				t.Errorf("sent %s, answer %q, usage %+v", got.Body, resp.Choices[0].Message.Text(), resp.Usage)
			}
			s, err := p.ChatStream(context.Background(), completionReq(strings.Replace(body, `"echo":true`, `"stream":true`, 1)))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			var text strings.Builder
			var usage *providers.Usage
			for {
				c, err := s.Recv()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if tc.raw && c.Raw == nil {
					t.Error("a passed-through event without its bytes")
				}
				for _, d := range c.Choices {
					text.WriteString(d.Text)
				}
				if c.Usage != nil {
					usage = c.Usage
				}
			}
			if text.String() != "hello" || usage == nil || usage.OutputTokens == 0 {
				t.Errorf("streamed %q, usage %+v", text.String(), usage)
			}
		})
	}
}

func TestModerate(t *testing.T) {
	t.Parallel()
	fake, p := startFake(t, nil)
	resp, err := p.Moderate(context.Background(), &providers.ModerationRequest{Model: "omni-moderation-latest", Inputs: []string{"attack", "fine"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := fake.LastRequest(); got.Path != "/v1/moderations" || resp.Raw != nil || len(resp.Results) != 2 ||
		!resp.Results[0].Categories["violence"] || resp.Results[1].Flagged || resp.Results[0].Scores["violence"] < 0.5 {
		t.Errorf("request %s, answer %+v", got.Path, resp)
	}
	body := `{"model":"x","input":"an idiot","extra":1}`
	resp, err = p.Moderate(context.Background(), &providers.ModerationRequest{Model: "omni-moderation-latest", Inputs: []string{"an idiot"},
		Source: &providers.Source{Dialect: providers.DialectOpenAI, Body: []byte(body)}})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := fake.LastRequest(); string(got.Body) != `{"model":"omni-moderation-latest","input":"an idiot","extra":1}` || resp.Raw == nil {
		t.Errorf("sent %s", got.Body)
	}
}
