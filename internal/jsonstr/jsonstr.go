// Package jsonstr encodes and decodes JSON strings without reflection, for
// the hand-written encoders on hot paths (stream events, the access log,
// the record log) and the fast paths of the stream decoders.
package jsonstr

import "unicode/utf8"

const hex = "0123456789abcdef"

// AppendString appends s to b as a JSON string and returns the extended
// buffer. Quotes, backslashes and control characters are escaped (\n, \r
// and \t in their short forms), invalid UTF-8 becomes \ufffd as with
// encoding/json, and U+2028 and U+2029 are escaped so that the output is
// also valid JavaScript. HTML characters are left as they are.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
