package openai

import (
	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/openai"
	"github.com/tollgate-dev/tollgate/internal/jsonstr"
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
	*strs = (*strs)[:0]
	p := wireParser{b: data, strs: strs}
	head := headFields{&w.ID, &w.Model, &w.Created}
	ok := p.object(func(key string) bool {
		switch key {
		case "obfuscation":
			return p.skipString()
		case "system_fingerprint", "service_tier":
			return p.null() || p.skipString()
		case "usage":
			return p.null()
		case "choices":
			return elems(&p, &w.Choices, p.chunkChoice)
		}
		return p.head(head, key)
	})
	return ok && p.end()
}

func (p *wireParser) chunkChoice(c *schema.ChunkChoice) bool {
	return p.object(func(key string) bool {
		switch key {
		case "delta":
			d := &c.Delta
			f := textFields{&d.Role, &d.Content, &d.Refusal, &d.ReasoningContent, &d.Reasoning}
			return p.object(func(key string) bool { return p.text(f, key) })
		case "finish_reason":
			return p.nullableStr(&c.FinishReason)
		}
		return p.choiceMember(&c.Index, key)
	})
}

// fastCompletion reads a unary chat answer into w, a zero struct.
func fastCompletion(data []byte, w *schema.ChatCompletion) bool {
	p := wireParser{b: data}
	head := headFields{&w.ID, &w.Model, &w.Created}
	ok := p.object(func(key string) bool {
		switch key {
		case "system_fingerprint":
			return p.nullableStr(&w.SystemFingerprint)
		case "service_tier":
			return p.null() || p.str(&w.ServiceTier)
		case "usage":
			if p.null() {
				return true
			}
			w.Usage = new(schema.Usage)
			return p.usage(w.Usage)
		case "choices":
			return elems(&p, &w.Choices, p.choice)
		}
		return p.head(head, key)
	})
	return ok && p.end()
}

func (p *wireParser) choice(c *schema.Choice) bool {
	return p.object(func(key string) bool {
		switch key {
		case "message":
			m := &c.Message
			f := textFields{&m.Role, &m.Content, &m.Refusal, &m.ReasoningContent, &m.Reasoning}
			return p.object(func(key string) bool {
				if key == "annotations" {
					return p.emptyArray() // the conversion has no use for them
				}
				return p.text(f, key)
			})
		case "finish_reason":
			return p.null() || p.str(&c.FinishReason)
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
		return p.str(f.id)
	case "model":
		return p.str(f.model)
	case "object":
		return p.skipString()
	case "created":
		return p.int64(f.created)
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
		return p.null()
	case "stop_reason":
		return p.null() || p.skipString()
	}
	return false
}

// elems reads an array into s, each element by read.
func elems[T any](p *wireParser, s *[]T, read func(*T) bool) bool {
	return p.array(func() bool {
		var zero T
		*s = append(*s, zero)
		return read(&(*s)[len(*s)-1])
	})
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
		return p.str(f.role)
	case "content":
		return p.nullableStr(f.content)
	case "refusal":
		return p.nullableStr(f.refusal)
	case "reasoning_content":
		return p.str(f.reasoningContent)
	case "reasoning":
		return p.str(f.reasoning)
	}
	return false
}

func (p *wireParser) usage(u *schema.Usage) bool {
	return p.object(func(key string) bool {
		switch key {
		case "prompt_tokens":
			return p.int64(&u.PromptTokens)
		case "completion_tokens":
			return p.int64(&u.CompletionTokens)
		case "total_tokens":
			return p.int64(&u.TotalTokens)
		case "prompt_cache_hit_tokens":
			return p.int64(&u.PromptCacheHitTokens)
		case "prompt_tokens_details":
			if p.null() {
				return true
			}
			d := new(schema.PromptTokensDetails)
			u.PromptTokensDetails = d
			return p.object(func(key string) bool {
				switch key {
				case "cached_tokens":
					return p.int64(&d.CachedTokens)
				case "audio_tokens":
					return p.optInt64(&d.AudioTokens)
				}
				return false
			})
		case "completion_tokens_details":
			if p.null() {
				return true
			}
			d := new(schema.CompletionTokensDetails)
			u.CompletionTokensDetails = d
			return p.object(func(key string) bool {
				switch key {
				case "reasoning_tokens":
					return p.int64(&d.ReasoningTokens)
				case "audio_tokens":
					return p.optInt64(&d.AudioTokens)
				case "accepted_prediction_tokens":
					return p.optInt64(&d.AcceptedPredictionTokens)
				case "rejected_prediction_tokens":
					return p.optInt64(&d.RejectedPredictionTokens)
				}
				return false
			})
		}
		return false
	})
}

// wireParser reads JSON from b, which shrinks as it goes. Its methods
// report false for anything outside the shapes they accept.
type wireParser struct {
	b []byte
	// strs, when set, holds the strings that nullable members point to,
	// so that a chunk's content needs no allocation of its own: the
	// pointers stay valid until the next parse with strs.
	strs *[]string
}

func (p *wireParser) ws() {
	for len(p.b) > 0 && (p.b[0] == ' ' || p.b[0] == '\t' || p.b[0] == '\n' || p.b[0] == '\r') {
		p.b = p.b[1:]
	}
}

// consume skips white space and c when c is next.
func (p *wireParser) consume(c byte) bool {
	p.ws()
	if len(p.b) > 0 && p.b[0] == c {
		p.b = p.b[1:]
		return true
	}
	return false
}

// end reports whether only white space is left.
func (p *wireParser) end() bool { p.ws(); return len(p.b) == 0 }

// maxMembers bounds the members of one object (the shapes have fewer).
const maxMembers = 16

// object reads an object, calling member for each member with the
// parser at its value. A repeated name fails (the lenient full decoder
// takes the last), as does a name with escapes or non-ASCII bytes.
func (p *wireParser) object(member func(key string) bool) bool {
	if !p.consume('{') {
		return false
	}
	if p.consume('}') {
		return true
	}
	var seen [maxMembers]string
	for n := 0; ; n++ {
		key, ok := p.key()
		if !ok || n == maxMembers {
			return false
		}
		for _, k := range seen[:n] {
			if k == key {
				return false
			}
		}
		seen[n] = key
		if !member(key) {
			return false
		}
		if p.consume('}') {
			return true
		}
		if !p.consume(',') {
			return false
		}
	}
}

// key reads a member name and its colon. The name is one of the constant
// names the shapes know, so that it costs no allocation; others fail.
func (p *wireParser) key() (string, bool) {
	if !p.consume('"') {
		return "", false
	}
	for i, c := range p.b {
		if c == '"' {
			name, ok := names[string(p.b[:i])]
			p.b = p.b[i+1:]
			return name, ok && p.consume(':')
		}
		if c == '\\' || c < 0x20 || c >= 0x80 {
			return "", false
		}
	}
	return "", false
}

// names are the member names of the shapes.
var names = func() map[string]string {
	m := map[string]string{}
	for _, n := range []string{"id", "object", "created", "model", "system_fingerprint", "service_tier", "obfuscation",
		"usage", "choices", "index", "delta", "message", "logprobs", "finish_reason", "stop_reason", "role", "content",
		"refusal", "reasoning_content", "reasoning", "annotations", "prompt_tokens", "completion_tokens", "total_tokens",
		"prompt_cache_hit_tokens", "prompt_tokens_details", "completion_tokens_details", "cached_tokens", "audio_tokens",
		"reasoning_tokens", "accepted_prediction_tokens", "rejected_prediction_tokens"} {
		m[n] = n
	}
	return m
}()

// array reads an array, calling elem at each element.
func (p *wireParser) array(elem func() bool) bool {
	if !p.consume('[') {
		return false
	}
	if p.consume(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if p.consume(']') {
			return true
		}
		if !p.consume(',') {
			return false
		}
	}
}

func (p *wireParser) emptyArray() bool { return p.consume('[') && p.consume(']') }

// str reads a string into s; a value equal to *s keeps it.
func (p *wireParser) str(s *string) bool {
	if !p.consume('"') {
		return false
	}
	if prev := *s; prev != "" && len(p.b) > len(prev) && p.b[len(prev)] == '"' && string(p.b[:len(prev)]) == prev {
		p.b = p.b[len(prev)+1:]
		return true
	}
	v, rest, ok := jsonstr.Unquote(p.b)
	p.b = rest
	*s = v
	return ok
}

// nullableStr reads null or a string.
func (p *wireParser) nullableStr(n *apischema.Nullable[string]) bool {
	if p.null() {
		*n = apischema.NullOf[string]()
		return true
	}
	var s *string
	if p.strs != nil {
		*p.strs = append(*p.strs, "")
		s = &(*p.strs)[len(*p.strs)-1]
	} else {
		s = new(string)
	}
	if !p.str(s) {
		return false
	}
	*n = apischema.ValueOf(s)
	return true
}

// skipString reads a string without decoding it.
func (p *wireParser) skipString() bool {
	if !p.consume('"') {
		return false
	}
	b := p.b
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			p.b = b[i+1:]
			return true
		case c < 0x20:
			return false
		case c == '\\':
			if i+1 >= len(b) {
				return false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if i+5 >= len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return false
				}
				i += 5
			default:
				return false
			}
		}
	}
	return false
}

func isHex(c byte) bool { return c-'0' < 10 || (c|0x20)-'a' < 6 }

// null reads the literal null.
func (p *wireParser) null() bool {
	p.ws()
	if len(p.b) >= 4 && string(p.b[:4]) == "null" {
		p.b = p.b[4:]
		return true
	}
	return false
}

// int64 reads an integer of at most 15 digits, without a leading zero,
// fraction or exponent, into n.
func (p *wireParser) int64(n *int64) bool {
	p.ws()
	neg := len(p.b) > 0 && p.b[0] == '-'
	b := p.b
	if neg {
		b = b[1:]
	}
	var v int64
	i := 0
	for i < len(b) && i < 16 && b[i] >= '0' && b[i] <= '9' {
		v = v*10 + int64(b[i]-'0')
		i++
	}
	if i == 0 || i == 16 || (i > 1 && b[0] == '0') || (neg && v == 0) ||
		(i < len(b) && (b[i] == '.' || b[i] == 'e' || b[i] == 'E')) {
		return false
	}
	p.b = b[i:]
	if neg {
		v = -v
	}
	*n = v
	return true
}

// optInt64 reads an integer into a new *int64.
func (p *wireParser) optInt64(n **int64) bool {
	v := new(int64)
	*n = v
	return p.int64(v)
}

// index reads a choice index: a non-negative integer below a million.
func (p *wireParser) index(n *int) bool {
	var v int64
	if !p.int64(&v) || v < 0 || v >= 1_000_000 {
		return false
	}
	*n = int(v)
	return true
}
