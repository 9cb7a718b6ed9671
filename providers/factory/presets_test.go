package factory_test

import (
	"context"
	"errors"
	"io"
	"net/url"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/providers/factory"
)

// upstreamQuirks is how each preset's upstream differs from OpenAI, as
// the fake mimics it (Prefix is the path of the preset's base URL).
var upstreamQuirks = map[string]fakeupstream.Quirks{
	factory.TypeMistral:    {RejectStreamOptions: true, RejectMaxCompletionTokens: true, UsageAlways: true},
	factory.TypeGroq:       {RejectStreamOptions: true, GroqUsage: true},
	factory.TypeDeepSeek:   {RejectMaxCompletionTokens: true},
	factory.TypeTogether:   {RejectMaxCompletionTokens: true},
	factory.TypeFireworks:  {RejectStreamOptions: true, RejectMaxCompletionTokens: true, UsageAlways: true},
	factory.TypeOpenRouter: {RejectMaxCompletionTokens: true},
	factory.TypeXAI:        {RejectMaxCompletionTokens: true},
	factory.TypeCerebras:   {RejectStreamOptions: true, UsageAlways: true},
	factory.TypePerplexity: {RejectStreamOptions: true, RejectMaxCompletionTokens: true, UsageEveryChunk: true, NoModels: true},
	factory.TypeOllama:     {RejectMaxCompletionTokens: true},
	factory.TypeVLLM:       {RejectMaxCompletionTokens: true},
	factory.TypeLlamaCpp:   {RejectMaxCompletionTokens: true, RejectStreamOptions: true, NoStreamUsage: true},
	factory.TypeLMStudio:   {RejectMaxCompletionTokens: true},
	factory.TypeTGI:        {RejectMaxCompletionTokens: true, RejectStreamOptions: true, NoStreamUsage: true},
}

// TestPresetsAgainstQuirkyFakes runs every preset against the compatible
// fake behaving like that upstream: its path, its max-tokens field, its
// way of reporting stream usage and its model list.
func TestPresetsAgainstQuirkyFakes(t *testing.T) {
	t.Parallel()
	for _, typ := range factory.Types() {
		preset, ok := factory.PresetOf(typ)
		if !ok {
			continue
		}
		q, ok := upstreamQuirks[typ]
		if !ok {
			t.Errorf("preset %s has no quirks in this test", typ)
			continue
		}
		t.Run(typ, func(t *testing.T) {
			t.Parallel()
			base, err := url.Parse(preset.BaseURL)
			if err != nil {
				t.Fatal(err)
			}
			q.Prefix = base.Path
			const key = "sk-preset-SECRET-7d1"
			fakeOpts := []fakeupstream.Option{fakeupstream.WithQuirks(q), fakeupstream.WithModels("m1", "m2")}
			if !preset.SelfHosted {
				fakeOpts = append(fakeOpts, fakeupstream.WithAPIKey(key))
			}
			fake, fakeURL := fakeupstream.StartOpenAI(t, fakeOpts...)
			host, _ := url.Parse(fakeURL)
			base.Scheme, base.Host = host.Scheme, host.Host // the preset's path on the fake's host
			cfg := providers.Config{ID: "p-" + typ, Type: typ, BaseURL: base.String()}
			if !preset.SelfHosted {
				cfg.APIKey = key
			}
			p, err := factory.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			maxTokens := 50
			req := &providers.ChatRequest{Model: "m1", MaxTokens: &maxTokens,
				Messages: []providers.Message{{Role: providers.RoleUser, Content: []providers.Part{providers.TextPart("hello preset")}}}}
			resp, err := p.Chat(ctx, req)
			if err != nil {
				t.Fatalf("Chat: %v", err)
			}
			if resp.Usage.InputTokens == 0 || resp.Choices[0].Message.Text() == "" {
				t.Errorf("Chat = %+v", resp)
			}

			s, err := p.ChatStream(ctx, req)
			if err != nil {
				t.Fatalf("ChatStream: %v", err)
			}
			var text strings.Builder
			var usage *providers.Usage
			for {
				c, err := s.Recv()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatalf("Recv: %v", err)
				}
				for _, d := range c.Choices {
					text.WriteString(d.Text)
				}
				if c.Usage != nil {
					usage = c.Usage
				}
			}
			_ = s.Close()
			if text.String() != resp.Choices[0].Message.Text() {
				t.Errorf("streamed %q, unary %q", text.String(), resp.Choices[0].Message.Text())
			}
			if want := p.Capabilities().StreamUsage; want != (usage != nil) {
				t.Errorf("stream usage %v, capability StreamUsage %v", usage, want)
			}
			if usage != nil && *usage != resp.Usage {
				t.Errorf("stream usage %+v, unary %+v", *usage, resp.Usage)
			}

			before := len(fake.Requests())
			ids, err := p.(providers.ModelLister).ListModels(ctx)
			var pe *providers.Error
			switch {
			case q.NoModels:
				if !errors.As(err, &pe) || pe.Kind != providers.KindNotFound || len(fake.Requests()) != before {
					t.Errorf("ListModels on an upstream without a list = %v, %v (requests %d→%d)", ids, err, before, len(fake.Requests()))
				}
			case err != nil || strings.Join(ids, ",") != "m1,m2":
				t.Errorf("ListModels = %v, %v", ids, err)
			}
		})
	}
}

// TestPresetSettingsYield: a provider's own base URL and settings win over
// its preset's.
func TestPresetSettingsYield(t *testing.T) {
	t.Parallel()
	fake, url := fakeupstream.StartOpenAI(t)
	p, err := factory.New(providers.Config{ID: "p", Type: factory.TypeMistral, BaseURL: url,
		Settings: map[string]string{"max_tokens_field": "max_completion_tokens"}})
	if err != nil {
		t.Fatal(err)
	}
	n := 5
	if _, err := p.Chat(context.Background(), &providers.ChatRequest{Model: "gpt-4o-mini", MaxTokens: &n,
		Messages: []providers.Message{{Role: providers.RoleUser, Content: []providers.Part{providers.TextPart("x")}}}}); err != nil {
		t.Fatal(err)
	}
	r, _ := fake.LastRequest()
	if !strings.Contains(string(r.Body), `"max_completion_tokens":5`) {
		t.Errorf("body %s: the provider's max_tokens_field setting did not win", r.Body)
	}
}
