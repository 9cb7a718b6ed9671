package semcache

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"slices"
	"strconv"
	"strings"
)

// maxExponentDigits bounds the exponent of a JSON number that canonicalJSON
// normalises exactly; numbers with longer exponents (which would make
// math/big allocate without bound) are kept verbatim.
const maxExponentDigits = 3

// canonicalJSON returns the canonical form of the JSON text raw: object keys
// sorted, insignificant whitespace removed, strings re-escaped one way, and
// numbers written as exact reduced rationals (so 1, 1.0 and 1e0 agree). ok is
// false when raw is not a single valid JSON value; callers then hash raw as
// it is.
func canonicalJSON(raw []byte) (out []byte, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, false // trailing data
	}
	var b bytes.Buffer
	writeCanonical(&b, v)
	return b.Bytes(), true
}

// writeCanonical writes v, a value decoded with UseNumber, canonically.
func writeCanonical(b *bytes.Buffer, v any) {
	switch v := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case json.Number:
		b.WriteString(canonicalNumber(string(v)))
	case string:
		writeString(b, v)
	case []any:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			writeCanonical(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, k)
			b.WriteByte(':')
			writeCanonical(b, v[k])
		}
		b.WriteByte('}')
	}
}

// writeString writes s as a JSON string without HTML escaping.
func writeString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)       // a string always encodes; bytes.Buffer never fails
	b.Truncate(b.Len() - 1) // Encode's newline
}

// canonicalNumber returns the exact reduced rational of the JSON number s
// ("1", "-3/2"), or s itself when its exponent is too long to expand safely.
func canonicalNumber(s string) string {
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		exp := strings.TrimLeft(s[i+1:], "+-")
		exp = strings.TrimLeft(exp, "0")
		if len(exp) > maxExponentDigits {
			return s
		}
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return s
	}
	return r.RatString()
}
