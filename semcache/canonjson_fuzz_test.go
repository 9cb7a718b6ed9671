package semcache

import (
	"bytes"
	"encoding/json"
	"math/big"
	"strings"
	"testing"
)

// FuzzCanonicalJSON checks canonicalJSON against encoding/json:
//   - it accepts exactly the single JSON values json.Valid accepts;
//   - it ignores what JSON does not distinguish: a value re-encoded by
//     encoding/json (keys sorted, other escapes) or re-indented has the
//     same canonical form;
//   - it never makes different values equal: two inputs with one
//     canonical form decode to equal values (numbers compared exactly).
//
// The last property is what the cache key relies on: a collision would
// serve one request another request's answer.
func FuzzCanonicalJSON(f *testing.F) {
	for _, seed := range [][2]string{
		{`{"b":1,"a":{"d":2,"c":3}}`, `{"a":{"c":3,"d":2},"b":1}`},
		{" [ 1 ,\n\t2 ] ", `[1,2]`},
		{`[1.0, 1e0, 10E-1, -0.50, 0.1]`, `[1,1,1,-0.5,1e-1]`},
		{`[1e400, 1e10000]`, `[1E400, 1e+10000]`},
		{`"<a>\u00e9\"\n\u2028"`, `"<a>é\"\n` + "\u2028" + `"`},
		{`[true,false,null,{}]`, `[true, false, null, { }]`},
		{`{"a":1,"a":2}`, `{"a":2}`},
		{`"\ud800"`, `"\ufffd"`},
		{`-0`, `0`},
		{`{"a":`, `{} {}`},
		{`"1"`, `1`},
	} {
		f.Add([]byte(seed[0]), []byte(seed[1]))
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		ca, okA := canonicalJSON(a)
		cb, okB := canonicalJSON(b)
		for _, c := range []struct {
			raw []byte
			ok  bool
		}{{a, okA}, {b, okB}} {
			if c.ok != json.Valid(c.raw) {
				t.Fatalf("canonicalJSON(%q) ok = %v, json.Valid = %v", c.raw, c.ok, json.Valid(c.raw))
			}
		}
		if !okA {
			return
		}
		for _, variant := range variants(t, a) {
			if cv, ok := canonicalJSON(variant); !ok || !bytes.Equal(cv, ca) {
				t.Fatalf("%q and its equivalent %q canonicalise to %q and %q (ok %v)", a, variant, ca, cv, ok)
			}
		}
		if okB && bytes.Equal(ca, cb) && !equalJSON(decode(t, a), decode(t, b)) {
			t.Fatalf("different values %q and %q share the canonical form %q", a, b, ca)
		}
	})
}

// variants returns encodings of the same value as raw: re-encoded by
// encoding/json, and indented.
func variants(t *testing.T, raw []byte) [][]byte {
	t.Helper()
	re, err := json.Marshal(decode(t, raw))
	if err != nil {
		t.Fatalf("re-encode %q: %v", raw, err)
	}
	var ind bytes.Buffer
	if err := json.Indent(&ind, raw, " ", "\t"); err != nil {
		t.Fatalf("indent %q: %v", raw, err)
	}
	return [][]byte{re, ind.Bytes()}
}

func decode(t *testing.T, raw []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %q: %v", raw, err)
	}
	return v
}

// equalJSON reports whether two decoded values are the same JSON value;
// numbers are equal when they are the same rational, or spelled the same
// when one is too large to expand.
func equalJSON(a, b any) bool {
	switch a := a.(type) {
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, v := range a {
			w, ok := b[k]
			if !ok || !equalJSON(v, w) {
				return false
			}
		}
		return true
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !equalJSON(a[i], b[i]) {
				return false
			}
		}
		return true
	case json.Number:
		b, ok := b.(json.Number)
		if !ok {
			return false
		}
		if hugeExponent(string(a)) || hugeExponent(string(b)) {
			return a == b
		}
		ra, okA := new(big.Rat).SetString(string(a))
		rb, okB := new(big.Rat).SetString(string(b))
		return okA && okB && ra.Cmp(rb) == 0
	default:
		return a == b // string, bool, nil
	}
}

func hugeExponent(s string) bool {
	i := strings.IndexAny(s, "eE")
	return i >= 0 && len(strings.TrimLeft(strings.TrimLeft(s[i+1:], "+-"), "0")) > maxExponentDigits
}
