package providers

import (
	"errors"
	"net/http"
	"testing"
)

func TestWriteTexts(t *testing.T) {
	req := func() *ChatRequest {
		return &ChatRequest{Messages: []Message{
			{Role: RoleSystem, Content: []Part{{Type: PartText, Text: "sys [x]"}}},
			{Role: RoleUser, Content: []Part{
				{Type: PartImage, Image: &Image{URL: "https://example.com/a.png"}},
				{Type: PartText, Text: "Error: hi [x]"},
			}},
		}}
	}
	var a, b string
	tests := []struct {
		name  string
		slots []TextSlot
		ok    bool
	}{
		{"exact", []TextSlot{{Msg: 0, Part: 0, Text: &a}, {Msg: 1, Part: 1, Text: &b, Strip: "Error: "}}, true},
		{"one missing", []TextSlot{{Msg: 0, Part: 0, Text: &a}}, false},
		{"same part twice", []TextSlot{{Msg: 0, Part: 0, Text: &a}, {Msg: 0, Part: 0, Text: &b}}, false},
		{"not a text part", []TextSlot{{Msg: 0, Part: 0, Text: &a}, {Msg: 1, Part: 0, Text: &b}}, false},
		{"out of range", []TextSlot{{Msg: 0, Part: 0, Text: &a}, {Msg: 2, Part: 0, Text: &b}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b = "old", "old"
			err := WriteTexts(req(), tt.slots)
			if tt.ok {
				if err != nil || a != "sys [x]" || b != "hi [x]" {
					t.Fatalf("err = %v, texts %q %q", err, a, b)
				}
				return
			}
			if !errors.Is(err, ErrRewriteShape) || a != "old" || b != "old" {
				t.Fatalf("err = %v, texts %q %q (want untouched)", err, a, b)
			}
		})
	}
}

type fakeWire struct {
	fields []Field
	body   []byte
	err    error
}

func (w *fakeWire) Unmapped() []Field                    { return w.fields }
func (w *fakeWire) Rewrite(*ChatRequest) ([]byte, error) { return w.body, w.err }

func TestSourcePassthroughAndRewrite(t *testing.T) {
	h := http.Header{"Anthropic-Beta": {"files-api-2025-04-14"}}
	src := &Source{Dialect: DialectAnthropic, Body: []byte(`{"a":1}`), Header: h, Wire: &fakeWire{body: []byte(`{"a":2}`)}}
	if !src.Passthrough(DialectAnthropic) || src.Passthrough(DialectOpenAI) {
		t.Error("Passthrough by dialect")
	}
	if src.Headers(DialectOpenAI) != nil || src.Headers(DialectAnthropic).Get("anthropic-beta") == "" {
		t.Error("Headers by dialect")
	}
	if r := src.Rewritten(&ChatRequest{}); string(r.Body) != `{"a":2}` || string(src.Body) != `{"a":1}` {
		t.Errorf("Rewritten body %s, source %s", r.Body, src.Body)
	}
	src.Wire = &fakeWire{err: ErrRewriteShape}
	if r := src.Rewritten(&ChatRequest{}); r.Body != nil || r.Passthrough(DialectAnthropic) {
		t.Errorf("failed rewrite keeps a body: %s", r.Body)
	}
	var nilSrc *Source
	if nilSrc.Passthrough(DialectOpenAI) || nilSrc.Rewritten(&ChatRequest{}) != nil || nilSrc.Unmapped() != nil {
		t.Error("nil Source")
	}
}

func TestUnmappedAndRefusal(t *testing.T) {
	src := &Source{Dialect: DialectOpenAI, Body: []byte(`{}`), Wire: &fakeWire{fields: []Field{
		{Name: "logprobs", Value: []byte("true")},
		{Name: "top_logprobs", Value: []byte("null")},
		{Name: "store", Value: []byte(" false")},
		{Name: "messages[0].content[1]", Value: []byte(`{"type":"input_audio"}`), Content: true},
	}}}
	req := &ChatRequest{Model: "claude-x", Source: src}
	if us := UnmappedUnsupported(req, DialectOpenAI, "OpenAI"); us != nil {
		t.Errorf("same dialect: %v", us)
	}
	us := UnmappedUnsupported(req, DialectAnthropic, "Anthropic Messages")
	if len(us) != 2 || us[0].Field != "logprobs" || !us[0].Droppable || us[1].Droppable {
		t.Fatalf("unsupported = %+v", us)
	}
	var pe *Error
	if err := Refusal("anthropic", req, us); !errors.As(err, &pe) || pe.Param != "logprobs" || pe.Kind != KindInvalidRequest {
		t.Fatalf("refusal = %v", err)
	}
	req.Drop = []string{"logprobs", "messages[0].content[1]"}
	if err := Refusal("anthropic", req, us); !errors.As(err, &pe) || pe.Param != "messages[0].content[1]" {
		t.Fatalf("content dropped: %v", err)
	}
	if err := Refusal("anthropic", req, us[:1]); err != nil {
		t.Fatalf("droppable refused: %v", err)
	}
}
