package anthropic

import (
	"bytes"

	"github.com/tollgate-dev/tollgate/internal/jsonstr"
)

// Nearly every event of a stream is a content_block_delta, which the API
// sends as compact JSON of one fixed shape:
//
//	{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}
//
// fastDelta decodes exactly that shape without reflection, cutting the
// decoding cost and allocations of a chunk severalfold. Anything else
// (other events, spaces, other key orders, unusual escapes) returns
// ok=false and goes through encoding/json, so the fast path never changes
// what is decoded; a fuzz test checks that both paths agree.

// The fixed parts of a compact content_block_delta.
const (
	deltaPrefix = `{"type":"content_block_delta","index":`
	deltaMiddle = `,"delta":{"type":"`
	deltaSuffix = `}}`
)

// deltaKeys returns the delta type starting b and the length of the JSON
// text from the type value to the opening quote of the payload string.
func deltaKeys(b []byte) (typ string, n int) {
	for _, k := range [...]struct{ typ, keys string }{
		{"text_delta", `text_delta","text":"`},
		{"input_json_delta", `input_json_delta","partial_json":"`},
		{"thinking_delta", `thinking_delta","thinking":"`},
		{"signature_delta", `signature_delta","signature":"`},
	} {
		if hasPrefix(b, k.keys) {
			return k.typ, len(k.keys)
		}
	}
	return "", 0
}

// hasPrefix reports whether b starts with s, without allocating.
func hasPrefix(b []byte, s string) bool { return len(b) >= len(s) && string(b[:len(s)]) == s }

// fastDelta returns the block index, delta type and payload of a compact
// content_block_delta event, or ok=false.
func fastDelta(data []byte) (index int, typ, value string, ok bool) {
	if !hasPrefix(data, deltaPrefix) {
		return 0, "", "", false
	}
	rest := data[len(deltaPrefix):]
	n := 0
	for n < len(rest) && n < 6 && rest[n] >= '0' && rest[n] <= '9' {
		index = index*10 + int(rest[n]-'0')
		n++
	}
	if n == 0 || n == 6 || (n > 1 && rest[0] == '0') || !hasPrefix(rest[n:], deltaMiddle) {
		return 0, "", "", false
	}
	rest = rest[n+len(deltaMiddle):]
	typ, n = deltaKeys(rest)
	if typ == "" {
		return 0, "", "", false
	}
	value, tail, ok := jsonstr.Unquote(rest[n:])
	if !ok || string(bytes.TrimRight(tail, " \t\r\n")) != deltaSuffix {
		return 0, "", "", false
	}
	return index, typ, value, true
}
