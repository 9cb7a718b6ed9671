package openaiapi

import (
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/internal/testutil"
)

// chatSeeds are requests of the shape fastChat reads, and some just
// outside it.
var chatSeeds = []string{
	`{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Say hello."}],"max_tokens":64,"temperature":0.2}`,
	`{"model":"m","messages":[{"role":"user","content":"a\nb \"q\" \u00e9\ud83d\ude00 日本"}],"stream":true,"stream_options":{"include_usage":true},"top_p":1e-3,"seed":-42,"n":1}`,
	` { "messages" : [ { "content" : null , "role" : "assistant", "name": "bot" } ] , "model" : "m" , "max_completion_tokens" : 0, "presence_penalty": -0.5, "frequency_penalty": 2 } `,
	`{"model":"m","messages":[],"user":"u-1","safety_identifier":"s","prompt_cache_key":"k","parallel_tool_calls":false,"store":true,"stream":false}`,
	`{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":0.7E+1,"top_p":-0}`,
	// Outside the fast path: each goes to the full decoder.
	`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}`,
	`{"model":"m","model":"n","messages":[]}`,
	`{"model":"m","messages":[{"role":"user","content":"\ud800"}]}`,
	"{\"model\":\"m\xff\",\"messages\":[]}",
	`{"model":"m","messages":[],"max_tokens":1.5}`,
	`{"model":"m","messages":[],"temperature":1e400}`,
	`{"model":"m","messages":[],"stream":null}`,
	`{"model":"m","messages":[],"Model":"x"}`,
	`{"model":"m","messages":[],"extra":{"a":1}}`,
	`{"model":"m","messages":[{"role":"user","content":"x","tool_call_id":"t"}]}`,
	`{"model":"m","messages":[]} x`,
	`[]`,
}

func TestFastChat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		body   string
		wantOK bool
	}{
		{"bench request", chatSeeds[0], true},
		{"escapes, stream options, exponent", chatSeeds[1], true},
		{"white space, null content, name", chatSeeds[2], true},
		{"identifiers and flags", chatSeeds[3], true},
		{"upper-case exponent, negative zero", chatSeeds[4], true},
		{"content parts", chatSeeds[5], false},
		{"repeated member", chatSeeds[6], false},
		{"unpaired surrogate", chatSeeds[7], false},
		{"invalid UTF-8", chatSeeds[8], false},
		{"fraction for an integer", chatSeeds[9], false},
		{"number out of range", chatSeeds[10], false},
		{"null for a bool", chatSeeds[11], false},
		{"name in another case", chatSeeds[12], false},
		{"unknown member", chatSeeds[13], false},
		{"member of other roles", chatSeeds[14], false},
		{"trailing text", chatSeeds[15], false},
		{"not an object", chatSeeds[16], false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if ok := testutil.SameDecode(t, []byte(tt.body), fastChat, fullChat); ok != tt.wantOK {
				t.Fatalf("fastChat = %v, want %v", ok, tt.wantOK)
			}
		})
	}
}

// TestDecodeChatSameWithFastPath: the canonical request decodeChat makes
// is the same whichever decoder read the body.
func TestDecodeChatSameWithFastPath(t *testing.T) {
	t.Parallel()
	for _, body := range chatSeeds[:5] {
		var d decoded
		if err := decodeChat([]byte(body), http.Header{}, &d); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		// The same body with an unknown member goes through the full decoder.
		slow := []byte(body[:len(body)-1] + `,"x_extension":1}`)
		if body[len(body)-1] == ' ' {
			continue
		}
		var ds decoded
		if err := decodeChat(slow, http.Header{}, &ds); err != nil {
			t.Fatalf("%s: %v", slow, err)
		}
		d.req.Source, ds.req.Source = nil, nil
		if !reflect.DeepEqual(d, ds) {
			t.Errorf("%s:\nfast %+v\nfull %+v", body, d, ds)
		}
	}
}

// FuzzFastChat checks that whenever the fast path accepts a body, the full
// decoder decodes the same.
func FuzzFastChat(f *testing.F) {
	for _, s := range chatSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) { testutil.SameDecode(t, body, fastChat, fullChat) })
}

// BenchmarkDecodeChatPlain compares decodeChat on a typical request with the
// fast path and without it (an unknown member sends it to the full
// decoder), and shows that an agent's request (tools after 40 messages)
// costs no parse of the fast path before the full decoder's.
func BenchmarkDecodeChatPlain(b *testing.B) {
	h := http.Header{"Content-Type": {"application/json"}}
	var turns strings.Builder
	for i := range 40 {
		fmt.Fprintf(&turns, `{"role":%q,"content":"Turn %d: a sentence of earlier conversation."},`, []string{"user", "assistant"}[i%2], i)
	}
	for _, bc := range []struct {
		name string
		body string
	}{
		{"fast", chatSeeds[0]},
		{"full", chatSeeds[0][:len(chatSeeds[0])-1] + `,"x_extension":1}`},
		{"tools", `{"model":"m","messages":[` + turns.String() + `{"role":"user","content":"q"}],` +
			`"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}]}`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			body := []byte(bc.body)
			for b.Loop() {
				var d decoded
				if err := decodeChat(body, h, &d); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
