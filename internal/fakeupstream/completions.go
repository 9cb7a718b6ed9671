package fakeupstream

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/openai"
)

// completions answers POST /v1/completions as OpenAI and vLLM do: one
// choice per prompt and n (index prompt×n + j), the reply (or an echo of
// the prompt) as text, the prompt prefixed when echo is set, legacy
// logprobs when asked for, and a text_completion event stream.
func (x *exchange) completions() {
	var req schema.CompletionRequest
	if !x.decode(&req, "") {
		return
	}
	switch {
	case req.Model == "":
		x.badRequest("model", "you must provide a model parameter")
		return
	case req.Prompt.IsZero():
		x.badRequest("prompt", "you must provide a prompt parameter")
		return
	case req.StreamOptions != nil && !req.Stream:
		x.badRequest("stream_options", "The 'stream_options' parameter is only allowed when 'stream' is enabled.")
		return
	case req.Logprobs != nil && (*req.Logprobs < 0 || *req.Logprobs > 5):
		x.badRequest("logprobs", "logprobs must be between 0 and 5")
		return
	}
	n := 1
	if req.N != nil {
		n = *req.N
	}
	prompts := req.Prompt.Texts
	for _, ids := range req.Prompt.Tokens {
		var b strings.Builder
		for i, id := range ids {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(strings.Repeat("t", int(id%7)+1))
		}
		prompts = append(prompts, b.String())
	}
	type choice struct{ text, finish string }
	var choices []choice
	promptTokens, outputTokens := 0, 0
	for _, p := range prompts {
		promptTokens += tokens(p)
		text, finish := x.replyTo(&schema.ChatCompletionRequest{}, p), schema.FinishStop
		if req.MaxTokens != nil && tokens(text) > *req.MaxTokens {
			text, finish = text[:min(len(text), *req.MaxTokens*4)], schema.FinishLength
		}
		for range n {
			outputTokens += tokens(text)
			out := text
			if req.Echo {
				out = p + text
			}
			choices = append(choices, choice{out, finish})
		}
	}
	usage := &schema.Usage{PromptTokens: int64(promptTokens), CompletionTokens: int64(outputTokens), TotalTokens: int64(promptTokens + outputTokens)}
	id := x.o.nextID("cmpl-fake")
	created := time.Now().Unix()
	logprobs := func(text string) []byte {
		if req.Logprobs == nil {
			return []byte("null")
		}
		words := strings.Fields(text)
		lp := make([]float64, len(words))
		off := make([]int, len(words))
		for i := range words {
			lp[i] = -0.5
			off[i] = strings.Index(text, words[i])
		}
		b, _ := json.Marshal(map[string]any{"tokens": words, "token_logprobs": lp, "top_logprobs": nil, "text_offset": off})
		return b
	}
	if !req.Stream {
		out := schema.Completion{ID: id, Object: "text_completion", Created: created, Model: req.Model, Usage: usage,
			Choices: make([]schema.CompletionChoice, len(choices))}
		for i, c := range choices {
			f := c.finish
			out.Choices[i] = schema.CompletionChoice{Text: c.text, Index: i, Logprobs: logprobs(c.text), FinishReason: apischema.ValueOf(&f)}
		}
		x.respond(&out)
		return
	}
	h := x.w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	x.w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(x.w)
	send := func(v *schema.Completion) bool {
		b, err := apischema.Marshal(v)
		return err == nil && x.event(rc, b)
	}
	for i, c := range choices {
		pieces := split(c.text, x.s.chunks)
		for k, piece := range pieces {
			if !x.o.life.Sleep(x.r.Context(), x.s.chunkDelay) {
				x.o.abandon(x.w, x.r)
				return
			}
			ch := schema.CompletionChoice{Text: piece, Index: i, Logprobs: logprobs(piece), FinishReason: apischema.NullOf[string]()}
			if k == len(pieces)-1 {
				f := c.finish
				ch.FinishReason = apischema.ValueOf(&f)
			}
			if !send(&schema.Completion{ID: id, Object: "text_completion", Created: created, Model: req.Model, Choices: []schema.CompletionChoice{ch}}) {
				return
			}
		}
	}
	if so := req.StreamOptions; so != nil && so.IncludeUsage != nil && *so.IncludeUsage {
		if !send(&schema.Completion{ID: id, Object: "text_completion", Created: created, Model: req.Model, Choices: []schema.CompletionChoice{}, Usage: usage}) {
			return
		}
	}
	x.event(rc, []byte("[DONE]"))
}
