package openaiapi

import (
	"encoding/json"
	"errors"
	"unicode/utf8"
)

var errNotObject = errors.New("the request body must be a JSON object")

// scanExtra returns the top-level members of the JSON object body whose
// keys known rejects, as raw slices of body, or nil when there are none.
// body must be valid JSON (json.Unmarshal checked it). The scan only
// tracks strings and nesting, so it costs far less than a second decode
// into map[string]json.RawMessage, and allocates nothing for bodies
// without unknown fields (the common case).
func scanExtra(body []byte, known func(key []byte) bool) (map[string]json.RawMessage, error) {
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return nil, bad("", "%v", errNotObject)
	}
	i++
	var extra map[string]json.RawMessage
	for {
		i = skipSpace(body, i)
		if i >= len(body) {
			return nil, bad("", "truncated JSON object")
		}
		switch body[i] {
		case '}':
			return extra, nil
		case ',':
			i++
			continue
		case '"':
		default:
			return nil, bad("", "malformed JSON object")
		}
		ks := i
		ke, escaped := skipString(body, i)
		i = skipSpace(body, ke)
		if i >= len(body) || body[i] != ':' {
			return nil, bad("", "malformed JSON object")
		}
		vs := skipSpace(body, i+1)
		ve := skipValue(body, vs)
		i = ve
		var key string
		if escaped || !utf8.Valid(body[ks+1:ke-1]) {
			// Escapes, or invalid UTF-8 that encoding/json turns into
			// U+FFFD: decode the key as encoding/json does.
			var err error
			if key, err = unquote(body[ks:ke]); err != nil {
				return nil, bad("", "malformed object key: %v", err)
			}
			if known([]byte(key)) {
				continue
			}
		} else {
			if known(body[ks+1 : ke-1]) {
				continue
			}
			key = string(body[ks+1 : ke-1])
		}
		if extra == nil {
			extra = make(map[string]json.RawMessage, 4)
		}
		extra[key] = json.RawMessage(body[vs:ve])
	}
}

// unquote decodes a JSON string with escapes. It is a function of its own
// so that the common path of scanExtra keeps its key on the stack.
func unquote(b []byte) (string, error) {
	var s string
	err := json.Unmarshal(b, &s)
	return s, err
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"'
// and whether it contains escapes.
func skipString(b []byte, i int) (int, bool) {
	escaped := false
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			escaped = true
			i++
		case '"':
			return i + 1, escaped
		}
	}
	return len(b), escaped
}

// skipValue returns the index after the JSON value starting at b[i].
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		end, _ := skipString(b, i)
		return end
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i, _ = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	}
	for i < len(b) {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return i
}
