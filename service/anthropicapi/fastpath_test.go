package anthropicapi

import (
	"net/http"
	"reflect"
	"testing"

	"github.com/tollgate-dev/tollgate/internal/testutil"
)

// messagesSeeds are requests of the shape fastMessages reads, and some
// just outside it.
var messagesSeeds = []string{
	`{"model":"claude-sonnet-4-5","max_tokens":1024,"system":"Be brief.","messages":[{"role":"user","content":"Hello there, how are you today?"}]}`,
	`{"model":"m","max_tokens":64,"messages":[{"role":"user","content":"a\nb \"q\" \u00e9\ud83d\ude00"},{"role":"assistant","content":[{"type":"text","text":"Hi!"},{"text":"", "type":"text"}]}],"stream":true,"temperature":0.2,"top_p":1E-1,"top_k":40}`,
	` { "messages" : [ ] , "model" : "m", "system" : [ {"type":"text","text":"s"} ], "metadata": {"user_id": "u-1"}, "stop_sequences": ["\n\nHuman:", "END"], "service_tier": "auto", "stream": false } `,
	`{"model":"m","messages":[{"role":"user","content":[]}],"stop_sequences":[],"metadata":{}}`,
	// Outside the fast path: each goes to the full decoder.
	`{"model":"m","max_tokens":8,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AA=="}}]}]}`,
	`{"model":"m","model":"n","messages":[]}`,
	`{"model":"m","messages":[{"role":"user","content":"\udc00"}]}`,
	"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"\xc3\"}]}",
	`{"model":"m","max_tokens":8.0,"messages":[]}`,
	`{"model":"m","messages":[],"system":null}`,
	`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"x","cache_control":{"type":"ephemeral"}}]}]}`,
	`{"model":"m","messages":[],"thinking":{"type":"enabled","budget_tokens":1024}}`,
	`{"model":"m","messages":[],"metadata":{"user_id":"u","extra":1}}`,
	`{"model":"m","messages":[]}]`,
}

func TestFastMessages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		body   string
		wantOK bool
	}{
		{"string content and system", messagesSeeds[0], true},
		{"escapes, text blocks, sampling", messagesSeeds[1], true},
		{"white space, system blocks, metadata, stop sequences", messagesSeeds[2], true},
		{"empty arrays and objects", messagesSeeds[3], true},
		{"image block", messagesSeeds[4], false},
		{"repeated member", messagesSeeds[5], false},
		{"unpaired surrogate", messagesSeeds[6], false},
		{"invalid UTF-8", messagesSeeds[7], false},
		{"fraction for an integer", messagesSeeds[8], false},
		{"null system", messagesSeeds[9], false},
		{"cache control", messagesSeeds[10], false},
		{"thinking", messagesSeeds[11], false},
		{"unknown metadata member", messagesSeeds[12], false},
		{"trailing text", messagesSeeds[13], false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if ok := testutil.SameDecode(t, []byte(tt.body), fastMessages, fullMessages); ok != tt.wantOK {
				t.Fatalf("fastMessages = %v, want %v", ok, tt.wantOK)
			}
		})
	}
}

// TestDecodeBodySameWithFastPath: the canonical request decodeBody makes
// is the same whichever decoder read the body.
func TestDecodeBodySameWithFastPath(t *testing.T) {
	t.Parallel()
	for _, body := range []string{messagesSeeds[0], messagesSeeds[1]} {
		_, fast, err := decodeBody([]byte(body), http.Header{}, true)
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		// The same body with an unknown member goes through the full decoder.
		slow := body[:len(body)-1] + `,"x_extension":1}`
		_, full, err := decodeBody([]byte(slow), http.Header{}, true)
		if err != nil {
			t.Fatalf("%s: %v", slow, err)
		}
		fast.Source, full.Source = nil, nil
		if !reflect.DeepEqual(fast, full) {
			t.Errorf("%s:\nfast %+v\nfull %+v", body, fast, full)
		}
	}
}

// FuzzFastMessages checks that whenever the fast path accepts a body, the
// full decoder decodes the same.
func FuzzFastMessages(f *testing.F) {
	for _, s := range messagesSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) { testutil.SameDecode(t, body, fastMessages, fullMessages) })
}

// BenchmarkDecodeBody compares decodeBody on a typical request with the
// fast path and without it (an unknown member sends it to the full
// decoder).
func BenchmarkDecodeBody(b *testing.B) {
	for _, bc := range []struct {
		name string
		body string
	}{
		{"fast", messagesSeeds[0]},
		{"full", messagesSeeds[0][:len(messagesSeeds[0])-1] + `,"x_extension":1}`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			body := []byte(bc.body)
			for b.Loop() {
				if _, _, err := decodeBody(body, nil, true); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
