package openaiapi

import (
	"bytes"
	"encoding/json"
	"maps"
	"testing"
)

// FuzzScanExtra checks the hand-written scanner against encoding/json:
// for every JSON object, the unknown members it returns are exactly those
// a decode into map[string]json.RawMessage finds (the last of duplicate
// keys winning, values byte for byte), and it never fails on one. Bodies
// that are not JSON objects never reach it (the surface decodes first);
// for those it must only not panic.
func FuzzScanExtra(f *testing.F) {
	for _, seed := range []string{
		`{"model":"gpt-4o","messages":[],"service_tier":"flex"}`,
		`{"model":"m","metadata":{"a":"}"},"store":true,"x":[1,{"y":"\""}],"n":-1.5e3,"z":null}`,
		`{"mod\u0065l":"escaped known key","\u00e9t\u00e9":"escaped unknown key"}`,
		` { "a" : 1 , "a" : 2 } `,
		`{}`,
		`[1,2]`,
		`"not an object"`,
		`{"a":"\\","b":"\\\""}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := scanExtra(body, knownChatField)
		var all map[string]json.RawMessage
		if json.Unmarshal(body, &all) != nil || all == nil {
			return // not a JSON object: no answer is checked
		}
		if err != nil {
			t.Fatalf("scanExtra(%q): %v", body, err)
		}
		want := map[string]json.RawMessage{}
		for k, v := range all {
			if !knownChatField([]byte(k)) {
				want[k] = v
			}
		}
		if len(want) == 0 {
			want = nil
		}
		if !maps.EqualFunc(got, want, func(a, b json.RawMessage) bool { return bytes.Equal(a, b) }) {
			t.Fatalf("scanExtra(%q) = %q, encoding/json finds %q", body, got, want)
		}
	})
}
