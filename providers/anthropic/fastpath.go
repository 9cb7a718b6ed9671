package anthropic

import (
	"bytes"
	"unicode/utf16"
	"unicode/utf8"
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
	value, tail, ok := unquote(rest[n:])
	if !ok || string(bytes.TrimRight(tail, " \t\r\n")) != deltaSuffix {
		return 0, "", "", false
	}
	return index, typ, value, true
}

// unquote decodes a JSON string body up to its closing quote and returns
// the rest after the quote. It follows encoding/json: invalid UTF-8 and
// unpaired surrogates become U+FFFD; control characters and unknown
// escapes are errors.
func unquote(b []byte) (s string, rest []byte, ok bool) {
	// Common case: no escapes and valid UTF-8.
	i := 0
	for i < len(b) {
		c := b[i]
		if c == '"' {
			if !utf8.Valid(b[:i]) {
				break
			}
			return string(b[:i]), b[i+1:], true
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			break
		}
		i++
	}
	out := make([]byte, i, len(b)+8)
	copy(out, b[:i])
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			return string(out), b[i+1:], true
		case c < 0x20:
			return "", nil, false
		case c == '\\':
			if i+1 >= len(b) {
				return "", nil, false
			}
			i++
			switch b[i] {
			case '"', '\\', '/':
				out = append(out, b[i])
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, width := hexRune(b[i+1:])
				if width < 0 {
					return "", nil, false
				}
				i += width
				if utf16.IsSurrogate(r) {
					r2, width2 := rune(-1), -1
					if len(b) > i+2 && b[i+1] == '\\' && b[i+2] == 'u' {
						r2, width2 = hexRune(b[i+3:])
					}
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError && width2 > 0 {
						r = dec
						i += 2 + width2
					} else {
						r = utf8.RuneError
					}
				}
				out = utf8.AppendRune(out, r)
			default:
				return "", nil, false
			}
			i++
		case c < utf8.RuneSelf:
			out = append(out, c)
			i++
		default:
			r, size := utf8.DecodeRune(b[i:])
			out = utf8.AppendRune(out, r) // RuneError for invalid bytes
			i += size
		}
	}
	return "", nil, false // no closing quote
}

// hexRune reads the 4 hex digits of a \u escape; width -1 when invalid.
func hexRune(b []byte) (rune, int) {
	if len(b) < 4 {
		return 0, -1
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, -1
		}
		r = r<<4 | rune(c)
	}
	return r, 4
}
