package apischema_test

import (
	"testing"
	"unsafe"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	"github.com/tollgate-dev/tollgate/internal/apischema/openai"
)

func TestUnmarshalReuse(t *testing.T) {
	var w openai.Chunk
	if err := apischema.UnmarshalReuse([]byte(`{"id":"c1","model":"m","choices":[{"index":0,"delta":{"content":"a"},"logprobs":null}]}`), &w); err != nil {
		t.Fatal(err)
	}
	id, model := unsafe.StringData(w.ID), unsafe.StringData(w.Model)
	w = openai.Chunk{ID: w.ID, Model: w.Model, Choices: w.Choices[:0]}
	if err := apischema.UnmarshalReuse([]byte(`{"id":"c1","model":"m\u0032","choices":[{"index":1,"delta":{},"x":1}]}`), &w); err != nil {
		t.Fatal(err)
	}
	if unsafe.StringData(w.ID) != id {
		t.Error("a repeated id was allocated again")
	}
	if w.Model != "m2" || unsafe.StringData(w.Model) == model {
		t.Errorf("model = %q: an escaped value must be decoded", w.Model)
	}
	c := w.Choices[0]
	if c.Index != 1 || c.Delta.Content.V != nil || c.Logprobs != nil || string(c.Unknown) != `{"x":1}` {
		t.Errorf("the previous choice leaked: %+v", c)
	}
	// Lenient: invalid UTF-8 and repeated names, as from upstreams.
	if err := apischema.UnmarshalReuse([]byte("{\"id\":\"c1\",\"id\":\"c\xff\"}"), &w); err != nil || w.ID != "c\uFFFD" {
		t.Errorf("id = %q, err %v", w.ID, err)
	}
}

// The custom encodings have pointer receivers (no boxing): the json
// package must still use them for values it is given by value.
func TestMarshalByValue(t *testing.T) {
	s := "x"
	for _, tt := range []struct {
		v    any
		want string
	}{
		{openai.Content{Text: &s}, `"x"`},
		// Map members sorted by name.
		{map[string]apischema.Nullable[string]{"b": apischema.ValueOf(&s), "a": apischema.NullOf[string](), "c": apischema.NullOf[string]()}, `{"a":null,"b":"x","c":null}`},
		{[]openai.Stop{{Values: []string{"a"}}}, `[["a"]]`},
		{struct {
			C openai.Content `json:"c,omitzero"`
		}{}, `{}`},
	} {
		b, err := apischema.Marshal(tt.v)
		if err != nil || string(b) != tt.want {
			t.Errorf("Marshal(%T) = %s, %v; want %s", tt.v, b, err, tt.want)
		}
	}
}
