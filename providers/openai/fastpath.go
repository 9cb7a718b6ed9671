package openai

import (
	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/openai"
	"github.com/tollgate-dev/tollgate/internal/wirejson"
)

// Nearly every event of a chat stream is a chunk of one shape, and nearly
// every unary answer is a message of text with usage, from OpenAI and the
// servers that copy its API (vLLM, Groq, Together, Ollama):
//
//	{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m",
//	 "system_fingerprint":"fp","choices":[{"index":0,"delta":{"content":"Hi"},
//	 "logprobs":null,"finish_reason":null}],"usage":null}
//
//	{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"m",
//	 "choices":[{"index":0,"message":{"role":"assistant","content":"Hi",
//	 "refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],
//	 "usage":{"prompt_tokens":9,"completion_tokens":1,"total_tokens":10,
//	 "prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},...}}
//
// fastChunk and fastCompletion read those shapes into the wire schema
// without reflection (the full decoder, go-json-experiment keeping unknown
// members, spends most of the decoding time of a relayed stream or answer),
// and the usual conversion takes it from there. They accept the members
// above in any order and with white space, text, refusal and reasoning,
// and vLLM's stop_reason. Anything else (tool calls, logprobs, annotations,
// audio, errors, extensions, a repeated member, a name with escapes, a
// number that is not a plain integer) returns false and goes through the
// full decoder, so what is decoded never changes; fuzz tests check that
// both agree. A string equal to the one the wire struct holds (a stream's
// id and model) keeps it instead of allocating.

// fastChunk reads a stream chunk into w, which holds the previous chunk's
// id and model and an empty choices slice to reuse.
func fastChunk(data []byte, w *schema.Chunk, strs *[]string) bool {
	if *strs == nil {
		*strs = make([]string, 0, 4) // a choice's content and finish reason, the fingerprint
	}
	p := wireParser{wirejson.Parser{B: data, Names: names, Strs: (*strs)[:0]}}
	defer func() { *strs = p.Strs }()
	head := headFields{&w.ID, &w.Model, &w.Created}
	ok := p.Object(func(key string) bool {
		switch key {
		case "obfuscation":
			return p.SkipString()
		case "system_fingerprint", "service_tier":
			return p.Null() || p.SkipString()
		case "usage":
			return p.Null()
		case "choices":
			return wirejson.Elems(&p.Parser, &w.Choices, p.chunkChoice)
		}
		return p.head(head, key)
	})
	return ok && p.End()
}

func (p *wireParser) chunkChoice(c *schema.ChunkChoice) bool {
	return p.Object(func(key string) bool {
		switch key {
		case "delta":
			d := &c.Delta
			f := textFields{&d.Role, &d.Content, &d.Refusal, &d.ReasoningContent, &d.Reasoning}
			return p.Object(func(key string) bool { return p.text(f, key) })
		case "finish_reason":
			return p.NullableStr(&c.FinishReason)
		}
		return p.choiceMember(&c.Index, key)
	})
}

// fastCompletion reads a unary chat answer into w, a zero struct.
func fastCompletion(data []byte, w *schema.ChatCompletion) bool {
	p := wireParser{wirejson.Parser{B: data, Names: names, Values: values}}
	head := headFields{&w.ID, &w.Model, &w.Created}
	ok := p.Object(func(key string) bool {
		switch key {
		case "system_fingerprint":
			return p.NullableStr(&w.SystemFingerprint)
		case "service_tier":
			return p.Null() || p.Str(&w.ServiceTier)
		case "usage":
			if p.Null() {
				return true
			}
			w.Usage = new(schema.Usage)
			return p.usage(w.Usage)
		case "choices":
			return wirejson.Elems(&p.Parser, &w.Choices, p.choice)
		}
		return p.head(head, key)
	})
	return ok && p.End()
}

func (p *wireParser) choice(c *schema.Choice) bool {
	return p.Object(func(key string) bool {
		switch key {
		case "message":
			m := &c.Message
			f := textFields{&m.Role, &m.Content, &m.Refusal, &m.ReasoningContent, &m.Reasoning}
			return p.Object(func(key string) bool {
				if key == "annotations" {
					return p.EmptyArray() // the conversion has no use for them
				}
				return p.text(f, key)
			})
		case "finish_reason":
			return p.Null() || p.Str(&c.FinishReason)
		}
		return p.choiceMember(&c.Index, key)
	})
}

// headFields are the members a stream chunk and an answer share.
type headFields struct {
	id, model *string
	created   *int64
}

// head reads the member key of f (and the object's type, which the
// conversion does not use).
func (p *wireParser) head(f headFields, key string) bool {
	switch key {
	case "id":
		return p.Str(f.id)
	case "model":
		return p.Str(f.model)
	case "object":
		return p.SkipString()
	case "created":
		return p.Int64(f.created)
	}
	return false
}

// choiceMember reads the members a chunk's and an answer's choice share:
// the index, null logprobs and vLLM's stop_reason.
func (p *wireParser) choiceMember(index *int, key string) bool {
	switch key {
	case "index":
		return p.index(index)
	case "logprobs":
		return p.Null()
	case "stop_reason":
		return p.Null() || p.SkipString()
	}
	return false
}

// textFields are the members a stream delta and an answer's message share.
type textFields struct {
	role             *string
	content, refusal *apischema.Nullable[string]
	reasoningContent *string
	reasoning        *string
}

// text reads the member key of f.
func (p *wireParser) text(f textFields, key string) bool {
	switch key {
	case "role":
		return p.Str(f.role)
	case "content":
		return p.NullableStr(f.content)
	case "refusal":
		return p.NullableStr(f.refusal)
	case "reasoning_content":
		return p.Str(f.reasoningContent)
	case "reasoning":
		return p.Str(f.reasoning)
	}
	return false
}

func (p *wireParser) usage(u *schema.Usage) bool {
	return p.Object(func(key string) bool {
		switch key {
		case "prompt_tokens":
			return p.Int64(&u.PromptTokens)
		case "completion_tokens":
			return p.Int64(&u.CompletionTokens)
		case "total_tokens":
			return p.Int64(&u.TotalTokens)
		case "prompt_cache_hit_tokens":
			return p.Int64(&u.PromptCacheHitTokens)
		case "prompt_tokens_details":
			if p.Null() {
				return true
			}
			d := new(schema.PromptTokensDetails)
			u.PromptTokensDetails = d
			return p.Object(func(key string) bool {
				switch key {
				case "cached_tokens":
					return p.Int64(&d.CachedTokens)
				case "audio_tokens":
					return p.NewInt64(&d.AudioTokens)
				}
				return false
			})
		case "completion_tokens_details":
			if p.Null() {
				return true
			}
			d := new(schema.CompletionTokensDetails)
			u.CompletionTokensDetails = d
			return p.Object(func(key string) bool {
				switch key {
				case "reasoning_tokens":
					return p.Int64(&d.ReasoningTokens)
				case "audio_tokens":
					return p.NewInt64(&d.AudioTokens)
				case "accepted_prediction_tokens":
					return p.NewInt64(&d.AcceptedPredictionTokens)
				case "rejected_prediction_tokens":
					return p.NewInt64(&d.RejectedPredictionTokens)
				}
				return false
			})
		}
		return false
	})
}

// wireParser is the fast paths' parser, with the shapes' own members
// (head, text, usage...) as methods.
type wireParser struct{ wirejson.Parser }

// values are the strings an answer shares instead of allocating: the
// role, the finish reasons and the usual service tier.
var values = wirejson.NewNames("assistant", "stop", "length", "tool_calls", "content_filter", "function_call", "default")

// names are the member names of the shapes.
var names = wirejson.NewNames("id", "object", "created", "model", "system_fingerprint", "service_tier", "obfuscation",
	"usage", "choices", "index", "delta", "message", "logprobs", "finish_reason", "stop_reason", "role", "content",
	"refusal", "reasoning_content", "reasoning", "annotations", "prompt_tokens", "completion_tokens", "total_tokens",
	"prompt_cache_hit_tokens", "prompt_tokens_details", "completion_tokens_details", "cached_tokens", "audio_tokens",
	"reasoning_tokens", "accepted_prediction_tokens", "rejected_prediction_tokens")

// index reads a choice index: a non-negative integer below a million.
func (p *wireParser) index(n *int) bool {
	var v int64
	if !p.Int64(&v) || v < 0 || v >= 1_000_000 {
		return false
	}
	*n = int(v)
	return true
}
