package jsonstr

import (
	"unicode/utf16"
	"unicode/utf8"
)

// Unquote decodes the body of a JSON string, b starting after its opening
// quote, up to its closing quote, and returns the rest after that quote;
// ok is false for an unterminated string, a control character or an
// unknown escape. It decodes as encoding/json does (and go-json-experiment
// with invalid UTF-8 allowed, the lenient decoding of upstream answers):
// invalid UTF-8 and unpaired surrogate escapes become U+FFFD. It is for
// the hand-written fast paths of stream decoders, whose fuzz tests check
// that they agree with the full decoders.
func Unquote(b []byte) (s string, rest []byte, ok bool) { return unquote(b, false) }

// UnquoteStrict is Unquote for requests, which the full decoder refuses
// when they hold invalid UTF-8 or an unpaired surrogate escape: ok is
// false for those too, so that the fast path that called it leaves the
// request to the full decoder and its error.
func UnquoteStrict(b []byte) (s string, rest []byte, ok bool) { return unquote(b, true) }

func unquote(b []byte, strict bool) (s string, rest []byte, ok bool) {
	// Common case: no escapes and valid UTF-8.
	i := 0
	for i < len(b) {
		c := b[i]
		if c == '"' {
			if !utf8.Valid(b[:i]) {
				if strict {
					return "", nil, false
				}
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
					} else if strict {
						return "", nil, false
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
			if strict && r == utf8.RuneError && size == 1 {
				return "", nil, false
			}
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
