package openai

import (
	"time"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/openai"
	"github.com/tollgate-dev/tollgate/providers"
)

// The legacy completions API.
//
// A request from Tollgate's /v1/completions surface (Source of dialect
// providers.DialectOpenAICompletions) is sent to the upstream's
// /completions when the provider serves it (the completions setting, true
// by default; set it to false for servers that only serve chat), patched
// like a chat body (model, stream_options.include_usage, user), and its
// answer is returned as it came (ChatResponse.Raw, Chunk.Raw) beside a
// canonical view: each choice's text as the message text. Otherwise the
// canonical request (the prompt as a user message) is sent to
// /chat/completions, and what only the completions API has (echo, suffix,
// logprobs, best_of, several prompts, token prompts) is refused or
// dropped like any field without a chat equivalent.

// completes reports whether req goes to the upstream's completions API.
func (p *Provider) completes(req *providers.ChatRequest) bool {
	return p.completions && req.Source.Passthrough(providers.DialectOpenAICompletions)
}

// decodeCompletion converts a text_completion body.
func (p *Provider) decodeCompletion(status int, body []byte) (*providers.ChatResponse, error) {
	var w schema.Completion
	if err := apischema.UnmarshalLenient(body, &w); err != nil {
		return nil, p.up.BadResponse(status, "completion", err)
	}
	if w.Error != nil && len(w.Choices) == 0 {
		return nil, p.streamError(w.Error)
	}
	out := &providers.ChatResponse{ID: w.ID, Model: w.Model, Choices: make([]providers.Choice, len(w.Choices))}
	if w.Created != 0 {
		out.Created = time.Unix(w.Created, 0).UTC()
	}
	for i := range w.Choices {
		c := &w.Choices[i]
		out.Choices[i] = providers.Choice{Index: c.Index, FinishReason: finishReason(deref(c.FinishReason)),
			Message: providers.Message{Role: providers.RoleAssistant, Content: []providers.Part{providers.TextPart(c.Text)}}}
	}
	if w.Usage != nil {
		out.Usage = convertUsage(w.Usage)
	}
	return out, nil
}

// decodeLegacy converts one completions stream event; nil, nil for an
// event without choices or usage.
func (s *stream) decodeLegacy(event, data []byte) (*providers.Chunk, error) {
	w := &s.legacyWire
	*w = schema.Completion{ID: w.ID, Object: w.Object, Model: w.Model, Choices: w.Choices[:0]}
	if err := apischema.UnmarshalReuse(data, w); err != nil {
		if string(event) == "error" {
			return nil, s.p.streamError(&schema.ErrorObject{Message: "upstream stream error: " + oneLine(data)})
		}
		return nil, s.p.up.BadResponse(0, "completion stream event", err)
	}
	if w.Error != nil {
		return nil, s.p.streamError(w.Error)
	}
	if len(w.Choices) == 0 && w.Usage == nil {
		return nil, nil
	}
	c := &providers.Chunk{ID: w.ID, Model: w.Model}
	if len(w.Choices) > 0 {
		c.Choices = make([]providers.ChoiceDelta, len(w.Choices))
		for i := range w.Choices {
			ch := &w.Choices[i]
			c.Choices[i] = providers.ChoiceDelta{Index: ch.Index, Text: ch.Text, FinishReason: finishReason(deref(ch.FinishReason))}
		}
	}
	if w.Usage != nil {
		u := convertUsage(w.Usage)
		c.Usage = &u
	}
	return c, nil
}
