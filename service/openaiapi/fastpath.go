package openaiapi

import (
	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/openai"
	"github.com/tollgate-dev/tollgate/internal/wirejson"
)

// Most chat requests are a model, messages of text and a few sampling
// parameters, as the SDKs send them:
//
//	{"model":"gpt-4o-mini","messages":[{"role":"system","content":"Be brief."},
//	 {"role":"user","content":"Hello"}],"max_tokens":64,"temperature":0.2,
//	 "stream":true,"stream_options":{"include_usage":true}}
//
// fastChat reads that shape into the wire schema without reflection (the
// full decoder, go-json-experiment keeping unknown members, spends several
// microseconds on it) and decodeChat takes it from there as it does after
// the full decoder. It accepts the members below in any order, with white
// space and escapes. Anything else (tools, content parts, response
// formats, metadata, an unknown or repeated member, null where a value is
// expected, invalid UTF-8, a number that is not a plain integer where one
// is expected) returns false and goes through the full decoder, which
// decodes it or names what is wrong, so what is decoded and every error
// stay the same; FuzzFastChat checks that both agree.
func fastChat(body []byte, w *schema.ChatCompletionRequest) bool {
	if !wirejson.Plain(body, chatBeyond) {
		return false
	}
	p := wirejson.Parser{B: body, Names: chatNames, Values: chatValues, Strict: true}
	ok := p.Object(func(key string) bool {
		switch key {
		case "model":
			return p.Str(&w.Model)
		case "messages":
			w.Messages = apischema.Presized[schema.Message](body, roleMember)
			p.Strs = make([]string, 0, cap(w.Messages))
			return wirejson.Elems(&p, &w.Messages, func(m *schema.Message) bool { return fastMessage(&p, m) })
		case "max_tokens":
			return p.NewInt(&w.MaxTokens)
		case "max_completion_tokens":
			return p.NewInt(&w.MaxCompletionTokens)
		case "n":
			return p.NewInt(&w.N)
		case "seed":
			return p.NewInt64(&w.Seed)
		case "temperature":
			return p.NewFloat64(&w.Temperature)
		case "top_p":
			return p.NewFloat64(&w.TopP)
		case "presence_penalty":
			return p.NewFloat64(&w.PresencePenalty)
		case "frequency_penalty":
			return p.NewFloat64(&w.FrequencyPenalty)
		case "stream":
			return p.Bool(&w.Stream)
		case "stream_options":
			w.StreamOptions = new(schema.StreamOptions)
			return p.Object(func(key string) bool {
				return key == "include_usage" && p.NewBool(&w.StreamOptions.IncludeUsage)
			})
		case "user":
			return p.Str(&w.User)
		case "safety_identifier":
			return p.Str(&w.SafetyIdentifier)
		case "prompt_cache_key":
			return p.Str(&w.PromptCacheKey)
		case "parallel_tool_calls":
			return p.NewBool(&w.ParallelToolCalls)
		case "store":
			return p.NewBool(&w.Store)
		}
		return false
	})
	return ok && p.End()
}

// fastMessage reads a message of text: its role, string (or null)
// content and name.
func fastMessage(p *wirejson.Parser, m *schema.Message) bool {
	return p.Object(func(key string) bool {
		switch key {
		case "role":
			return p.Str(&m.Role)
		case "content":
			if p.Null() {
				m.Content.Null = true
				return true
			}
			return p.NewStr(&m.Content.Text)
		case "name":
			return p.Str(&m.Name)
		}
		return false
	})
}

// chatBeyond are members beyond fastChat's shape that agents' requests
// carry (tools, tool calls and results, content parts and response formats
// all have a "type"), found before parsing so that such a request goes to
// the full decoder at once instead of after the fast path has read every
// message.
var chatBeyond = [][]byte{[]byte(`"type"`), []byte(`"tool`)}

// chatValues are the values fastChat shares: the roles.
var chatValues = wirejson.NewNames(schema.RoleSystem, schema.RoleDeveloper, schema.RoleUser, schema.RoleAssistant,
	schema.RoleTool, schema.RoleFunction)

// chatNames are the member names fastChat knows.
var chatNames = wirejson.NewNames("model", "messages", "max_tokens", "max_completion_tokens", "n", "seed",
	"temperature", "top_p", "presence_penalty", "frequency_penalty", "stream", "stream_options", "include_usage",
	"user", "safety_identifier", "prompt_cache_key", "parallel_tool_calls", "store", "role", "content", "name")
