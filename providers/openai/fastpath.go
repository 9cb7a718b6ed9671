package openai

import (
	"github.com/tollgate-dev/tollgate/internal/jsonstr"
	"github.com/tollgate-dev/tollgate/providers"
)

// Nearly every event of a chat stream is a chunk of one shape, from OpenAI
// and from the servers that copy its API (vLLM, Groq, Together, Ollama):
//
//	{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m",
//	 "system_fingerprint":"fp","choices":[{"index":0,"delta":{"content":"Hi"},
//	 "logprobs":null,"finish_reason":null}],"usage":null}
//
// fastChunk decodes that shape without reflection, which the full decoder
// (go-json-experiment into the wire schema, keeping unknown members) spends
// most of a relayed stream's decoding time on. It accepts the members above
// in any order, with white space, role, content, refusal and reasoning in
// the delta, and vLLM's stop_reason. Anything else (tool calls, logprobs,
// usage, errors, extensions, a repeated member, a number that is not a
// plain integer) returns ok=false and goes through the full decoder, so the
// fast path never changes what is decoded; a fuzz test checks that both
// agree. prevID and prevModel are the previous chunk's: a chunk repeating
// them shares their strings instead of allocating its own.

// fastChunk returns the chunk of data (nil when it has no choice), or
// ok=false.
func fastChunk(data []byte, prevID, prevModel string) (c *providers.Chunk, ok bool) {
	p := chunkParser{b: data}
	if !p.consume('{') {
		return nil, false
	}
	var id, model string
	var choices []providers.ChoiceDelta
	var seen uint16
	for more := !p.consume('}'); more; more = !p.consume('}') {
		if seen != 0 && !p.comma() {
			return nil, false
		}
		key, ok := p.key()
		if !ok {
			return nil, false
		}
		bit := topLevelKeys[string(key)]
		if bit == 0 || seen&bit != 0 {
			return nil, false
		}
		seen |= bit
		switch string(key) {
		case "id":
			id, ok = p.str(prevID)
		case "model":
			model, ok = p.str(prevModel)
		case "object", "obfuscation":
			ok = p.skipString()
		case "system_fingerprint", "service_tier":
			ok = p.null() || p.skipString()
		case "created":
			ok = p.integer() >= 0 || p.negativeInteger()
		case "usage":
			ok = p.null()
		case "choices":
			choices, ok = p.choices()
		}
		if !ok {
			return nil, false
		}
	}
	if !p.end() {
		return nil, false
	}
	if len(choices) == 0 {
		return nil, true
	}
	return &providers.Chunk{ID: id, Model: model, Choices: choices}, true
}

// topLevelKeys and the other key sets give each accepted member a bit, to
// refuse a repeated one (the lenient full decoder takes the last).
var (
	topLevelKeys = map[string]uint16{"id": 1, "object": 2, "created": 4, "model": 8, "system_fingerprint": 16,
		"service_tier": 32, "obfuscation": 64, "usage": 128, "choices": 256}
	choiceKeys = map[string]uint16{"index": 1, "delta": 2, "logprobs": 4, "finish_reason": 8, "stop_reason": 16}
	deltaKeys  = map[string]uint16{"role": 1, "content": 2, "refusal": 4, "reasoning_content": 8, "reasoning": 16}
)

// chunkParser reads JSON from b, which shrinks as it goes.
type chunkParser struct{ b []byte }

func (p *chunkParser) ws() {
	for len(p.b) > 0 && (p.b[0] == ' ' || p.b[0] == '\t' || p.b[0] == '\n' || p.b[0] == '\r') {
		p.b = p.b[1:]
	}
}

// consume skips white space and c when c is next.
func (p *chunkParser) consume(c byte) bool {
	p.ws()
	if len(p.b) > 0 && p.b[0] == c {
		p.b = p.b[1:]
		return true
	}
	return false
}

func (p *chunkParser) comma() bool { return p.consume(',') }

// end reports whether only white space is left.
func (p *chunkParser) end() bool { p.ws(); return len(p.b) == 0 }

// key reads a member name without escapes and its colon; the name is a
// slice of the input (a name with escapes goes the full way).
func (p *chunkParser) key() ([]byte, bool) {
	if !p.consume('"') {
		return nil, false
	}
	for i, c := range p.b {
		if c == '"' {
			k := p.b[:i]
			p.b = p.b[i+1:]
			return k, p.consume(':')
		}
		if c == '\\' || c < 0x20 || c >= 0x80 {
			return nil, false
		}
	}
	return nil, false
}

// str reads a string; a value equal to prev returns prev.
func (p *chunkParser) str(prev string) (string, bool) {
	if !p.consume('"') {
		return "", false
	}
	if prev != "" && len(p.b) > len(prev) && p.b[len(prev)] == '"' && string(p.b[:len(prev)]) == prev {
		p.b = p.b[len(prev)+1:]
		return prev, true
	}
	s, rest, ok := jsonstr.Unquote(p.b)
	p.b = rest
	return s, ok
}

// skipString reads a string without decoding it.
func (p *chunkParser) skipString() bool {
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
func (p *chunkParser) null() bool {
	p.ws()
	if len(p.b) >= 4 && string(p.b[:4]) == "null" {
		p.b = p.b[4:]
		return true
	}
	return false
}

// integer reads a non-negative integer of at most 15 digits without a
// leading zero, fraction or exponent; -1 when there is none.
func (p *chunkParser) integer() int {
	p.ws()
	n, i := 0, 0
	for i < len(p.b) && i < 16 && p.b[i] >= '0' && p.b[i] <= '9' {
		n = n*10 + int(p.b[i]-'0')
		i++
	}
	if i == 0 || i == 16 || (i > 1 && p.b[0] == '0') || (i < len(p.b) && (p.b[i] == '.' || p.b[i] == 'e' || p.b[i] == 'E')) {
		return -1
	}
	p.b = p.b[i:]
	return n
}

// negativeInteger reads "-" and a positive integer.
func (p *chunkParser) negativeInteger() bool {
	p.ws()
	if len(p.b) < 2 || p.b[0] != '-' || p.b[1] == '0' {
		return false
	}
	p.b = p.b[1:]
	return p.integer() > 0
}

// choices reads the choices array.
func (p *chunkParser) choices() ([]providers.ChoiceDelta, bool) {
	if !p.consume('[') {
		return nil, false
	}
	if p.consume(']') {
		return nil, true
	}
	var out []providers.ChoiceDelta
	for {
		ch, ok := p.choice()
		if !ok {
			return nil, false
		}
		out = append(out, ch)
		if p.consume(']') {
			return out, true
		}
		if !p.comma() {
			return nil, false
		}
	}
}

// choice reads one choice, as convertDelta converts it.
func (p *chunkParser) choice() (providers.ChoiceDelta, bool) {
	var out providers.ChoiceDelta
	if !p.consume('{') {
		return out, false
	}
	var content, refusal, reasoningContent, reasoning, finish string
	var seen uint16
	for more := !p.consume('}'); more; more = !p.consume('}') {
		if seen != 0 && !p.comma() {
			return out, false
		}
		key, ok := p.key()
		if !ok {
			return out, false
		}
		bit := choiceKeys[string(key)]
		if bit == 0 || seen&bit != 0 {
			return out, false
		}
		seen |= bit
		switch string(key) {
		case "index":
			out.Index = p.integer()
			ok = out.Index >= 0 && out.Index < 1_000_000
		case "delta":
			var role string
			role, content, refusal, reasoningContent, reasoning, ok = p.delta()
			out.Role = providers.Role(role)
		case "logprobs":
			ok = p.null()
		case "finish_reason":
			if !p.null() {
				finish, ok = p.str("")
			}
		case "stop_reason":
			ok = p.null() || p.skipString()
		}
		if !ok {
			return out, false
		}
	}
	out.Text = content
	if out.Text == "" {
		out.Text = refusal
	}
	out.Reasoning = reasoningContent
	if out.Reasoning == "" {
		out.Reasoning = reasoning
	}
	out.FinishReason = finishReason(finish)
	return out, true
}

// delta reads a choice's delta of text: no tool call.
func (p *chunkParser) delta() (role, content, refusal, reasoningContent, reasoning string, ok bool) {
	if !p.consume('{') {
		return
	}
	var seen uint16
	for more := !p.consume('}'); more; more = !p.consume('}') {
		if seen != 0 && !p.comma() {
			return
		}
		key, kok := p.key()
		if !kok {
			return
		}
		bit := deltaKeys[string(key)]
		if bit == 0 || seen&bit != 0 {
			return
		}
		seen |= bit
		vok := true
		switch string(key) {
		case "role":
			role, vok = p.str("assistant")
		case "content":
			if !p.null() {
				content, vok = p.str("")
			}
		case "refusal":
			if !p.null() {
				refusal, vok = p.str("")
			}
		case "reasoning_content":
			reasoningContent, vok = p.str("")
		case "reasoning":
			reasoning, vok = p.str("")
		}
		if !vok {
			return
		}
	}
	return role, content, refusal, reasoningContent, reasoning, true
}
