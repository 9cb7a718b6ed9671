package anthropicapi

import (
	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/anthropic"
	"github.com/tollgate-dev/tollgate/internal/wirejson"
)

// Most Messages requests are a model, a system prompt and turns of text,
// as the SDKs send them:
//
//	{"model":"claude-sonnet-4-5","max_tokens":1024,"system":"Be brief.",
//	 "messages":[{"role":"user","content":"Hello"},
//	 {"role":"assistant","content":[{"type":"text","text":"Hi!"}]}],
//	 "temperature":0.2,"stream":true,"metadata":{"user_id":"u-1"}}
//
// fastMessages reads that shape into the wire schema without reflection,
// and decodeBody takes it from there as it does after the full decoder.
// It accepts the members below in any order, with white space and
// escapes; content and the system prompt as a string or as blocks of type
// and text only. Anything else (images, tools, tool results, thinking,
// cache_control, an unknown or repeated member, null where a value is
// expected, invalid UTF-8, a number that is not a plain integer where one
// is expected) returns false and goes through the full decoder, which
// decodes it or names what is wrong; FuzzFastMessages checks that both
// decode the same.
func fastMessages(body []byte, in *schema.MessagesRequest) bool {
	if !wirejson.Plain(body, messagesBeyond) {
		return false
	}
	p := wirejson.Parser{B: body, Names: messagesNames, Values: messagesValues, Strict: true}
	ok := p.Object(func(key string) bool {
		switch key {
		case "model":
			return p.Str(&in.Model)
		case "max_tokens":
			return p.NewInt(&in.MaxTokens)
		case "messages":
			in.Messages = apischema.Presized[schema.MessageParam](body, roleMember)
			p.Strs = make([]string, 0, cap(in.Messages))
			return wirejson.Elems(&p, &in.Messages, func(m *schema.MessageParam) bool {
				return p.Object(func(key string) bool {
					switch key {
					case "role":
						return p.Str(&m.Role)
					case "content":
						return fastBlocks(&p, &m.Content)
					}
					return false
				})
			})
		case "system":
			in.System = new(schema.Blocks)
			return fastBlocks(&p, in.System)
		case "metadata":
			in.Metadata = new(schema.Metadata)
			return p.Object(func(key string) bool { return key == "user_id" && p.Str(&in.Metadata.UserID) })
		case "stop_sequences":
			return wirejson.Elems(&p, &in.StopSequences, p.Str)
		case "stream":
			return p.NewBool(&in.Stream)
		case "temperature":
			return p.NewFloat64(&in.Temperature)
		case "top_p":
			return p.NewFloat64(&in.TopP)
		case "top_k":
			return p.NewInt(&in.TopK)
		case "service_tier":
			return p.Str(&in.ServiceTier)
		}
		return false
	})
	return ok && p.End()
}

// fastBlocks reads content as a string or as an array of blocks of type
// and text.
func fastBlocks(p *wirejson.Parser, b *schema.Blocks) bool {
	if p.Peek() == '[' {
		return wirejson.Elems(p, &b.List, func(c *schema.ContentBlock) bool {
			return p.Object(func(key string) bool {
				switch key {
				case "type":
					return p.Str(&c.Type)
				case "text":
					return p.Str(&c.Text)
				}
				return false
			})
		})
	}
	return p.NewStr(&b.Text)
}

// messagesBeyond are members beyond fastMessages's shape that agents'
// requests carry (tools, tool use and results, images and documents,
// prompt caching, thinking), found before parsing so that such a request
// goes to the full decoder at once instead of after the fast path has read
// every message.
var messagesBeyond = [][]byte{[]byte(`"tool`), []byte(`"source"`), []byte(`"cache_control"`), []byte(`"thinking"`)}

// messagesValues are the values fastMessages shares: the roles and the
// text block's type.
var messagesValues = wirejson.NewNames(schema.RoleUser, schema.RoleAssistant, schema.BlockText)

// messagesNames are the member names fastMessages knows.
var messagesNames = wirejson.NewNames("model", "max_tokens", "messages", "system", "metadata", "user_id",
	"stop_sequences", "stream", "temperature", "top_p", "top_k", "service_tier", "role", "content", "type", "text")
