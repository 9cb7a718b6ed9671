package wirejson

import (
	"math"
	"testing"
)

func TestNumbersAndLiterals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in    string
		read  func(p *Parser) (any, bool)
		want  any
		ok    bool
		after string // what is left
	}{
		{"0.25,", float, 0.25, true, ","},
		{" -1.5e+2}", float, -150.0, true, "}"},
		{"1E-3", float, 0.001, true, ""},
		{"-0", float, math.Copysign(0, -1), true, ""},
		{"12", float, 12.0, true, ""},
		{"01", float, 0.0, true, "1"}, // a leading zero ends the number; the caller's next read fails
		{"1.", float, nil, false, ""},
		{".5", float, nil, false, ""},
		{"1e", float, nil, false, ""},
		{"1e400", float, nil, false, ""}, // out of range
		{"-", float, nil, false, ""},
		{"64,", integer, int64(64), true, ","},
		{"-7", integer, int64(-7), true, ""},
		{"1.0", integer, nil, false, ""},
		{"1e3", integer, nil, false, ""},
		{"0012", integer, nil, false, ""},
		{"-0", integer, nil, false, ""},
		{"1234567890123456", integer, nil, false, ""}, // 16 digits
		{"true}", boolean, true, true, "}"},
		{" false", boolean, false, true, ""},
		{"truex", boolean, nil, false, ""},
		{"null", boolean, nil, false, ""},
	}
	for _, tt := range tests {
		p := &Parser{B: []byte(tt.in)}
		got, ok := tt.read(p)
		if ok != tt.ok || ok && (got != tt.want || string(p.B) != tt.after) {
			t.Errorf("%q: got %v, %v, left %q; want %v, %v, left %q", tt.in, got, ok, p.B, tt.want, tt.ok, tt.after)
		}
		if ok {
			if f, isFloat := got.(float64); isFloat && math.Signbit(f) != math.Signbit(tt.want.(float64)) {
				t.Errorf("%q: sign of %v", tt.in, f)
			}
		}
	}
}

func float(p *Parser) (any, bool) {
	var f float64
	ok := p.Float64(&f)
	return f, ok
}

func integer(p *Parser) (any, bool) {
	var n int64
	ok := p.Int64(&n)
	return n, ok
}

func boolean(p *Parser) (any, bool) {
	var b bool
	ok := p.Bool(&b)
	return b, ok
}

func TestObject(t *testing.T) {
	t.Parallel()
	names := NewNames("a", "b")
	tests := []struct {
		in string
		ok bool
	}{
		{`{"a":"x","b":"y"}`, true},
		{` { "b" : "y" , "a" : "x" } `, true},
		{`{}`, true},
		{`{"a":"x","a":"y"}`, false}, // repeated
		{`{"c":"x"}`, false},         // unknown
		{`{"\u0061":"x"}`, false},    // escaped name
		{`{"a":"x",}`, false},        // trailing comma
		{`{"a":"x"`, false},          // unterminated
		{`{"a":"x\u0000"}`, true},    // an escaped NUL is text
		{"{\"a\":\"x\ty\"}", false},  // a raw control character
		{`{"a":"\ud800"}`, false},    // strict: an unpaired surrogate
		{"{\"a\":\"\xff\"}", false},  // strict: invalid UTF-8
		{`{"a":"ok","b":"\u00e9"}`, true},
	}
	for _, tt := range tests {
		p := &Parser{B: []byte(tt.in), Names: names, Strict: true}
		got := map[string]string{}
		ok := p.Object(func(key string) bool {
			var s string
			if !p.Str(&s) {
				return false
			}
			got[key] = s
			return true
		}) && p.End()
		if ok != tt.ok {
			t.Errorf("%s: %v (%v), want %v", tt.in, ok, got, tt.ok)
		}
	}
}

// TestValues: a string of Values is shared, not allocated; anything else
// (an escape, another string) is read as usual.
func TestValues(t *testing.T) {
	values := NewNames("user", "assistant")
	tests := []struct {
		in, want string
		ok       bool
	}{
		{`"user",`, "user", true},
		{`"assistant"`, "assistant", true},
		{`"us\u0065r"`, "user", true}, // with an escape: decoded, not looked up
		{`"users"`, "users", true},
		{`"\ud800"`, "", false}, // strict
		{`"user`, "", false},    // unterminated
	}
	for _, tt := range tests {
		p := &Parser{B: []byte(tt.in), Values: values, Strict: true}
		var s string
		if ok := p.Str(&s); ok != tt.ok || ok && s != tt.want {
			t.Errorf("%s: %q, %v; want %q, %v", tt.in, s, ok, tt.want, tt.ok)
		}
	}
	b := []byte(`"assistant"`)
	if a := testing.AllocsPerRun(100, func() {
		p := Parser{B: b, Values: values}
		var s string
		p.Str(&s)
	}); a != 0 {
		t.Errorf("%v allocations reading a shared value, want 0", a)
	}
}

// TestNewStrStrs: NewStr's strings come from Strs, which grows as needed;
// every pointer keeps its own string.
func TestNewStrStrs(t *testing.T) {
	p := &Parser{B: []byte(`["a","b","c"]`), Strs: make([]string, 0, 2)}
	var got []*string
	if !Elems(p, &got, func(s **string) bool { return p.NewStr(s) }) || !p.End() {
		t.Fatal("parse failed")
	}
	if len(got) != 3 || *got[0] != "a" || *got[1] != "b" || *got[2] != "c" {
		t.Fatalf("got %d strings", len(got))
	}
	if len(p.Strs) != 3 || got[2] != &p.Strs[2] {
		t.Error("the strings are not Strs'")
	}
	b := []byte(`"text"`)
	var sink *string
	read := func(strs []string) float64 {
		return testing.AllocsPerRun(100, func() {
			clear(strs[:cap(strs)]) // no previous string to keep
			p := Parser{B: b, Strs: strs}
			p.NewStr(&sink)
		})
	}
	if with, without := read(make([]string, 0, 1)), read(nil); with != without-1 {
		t.Errorf("NewStr: %v allocations with room in Strs, %v without; want one fewer", with, without)
	}
}

func TestPlain(t *testing.T) {
	t.Parallel()
	marks := [][]byte{[]byte(`"type"`), []byte(`"tool`)}
	tests := []struct {
		body string
		want bool
	}{
		{`{"model":"m","messages":[{"role":"user","content":"hi"}]}`, true},
		{`{"messages":[{"role":"user","content":"a \"type\" in text"}]}`, true},  // a mark ending in a quote: not in text
		{`{"messages":[{"role":"user","content":"a \"tool\" in text"}]}`, false}, // a prefix mark may match text
		{`{"messages":[],"tools":[]}`, false},
		{`{"messages":[{"role":"tool","tool_call_id":"c"}]}`, false},
		{`{"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}`, false},
	}
	for _, tt := range tests {
		if got := Plain([]byte(tt.body), marks); got != tt.want {
			t.Errorf("Plain(%s) = %v, want %v", tt.body, got, tt.want)
		}
	}
}
