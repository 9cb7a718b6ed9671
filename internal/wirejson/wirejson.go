// Package wirejson reads JSON of a few known shapes without reflection:
// the fast paths of the hot decoders (an OpenAI stream chunk and answer,
// a plain chat request). A Parser accepts only what its caller's shape
// allows and reports false for anything else — an unknown or repeated
// member, a name with escapes, a number outside the plain forms — and the
// caller then decodes with the full decoder (go-json-experiment into the
// wire schema), so that what is decoded never changes. Each caller's fuzz
// test checks that whenever its fast path accepts an input, the full
// decoder decodes the same.
package wirejson

import (
	"bytes"
	"strconv"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	"github.com/tollgate-dev/tollgate/internal/jsonstr"
)

// Names is a set of strings mapped to themselves: the member names a
// shape knows, or the values it shares (Parser.Values), so that reading
// one allocates nothing (NewNames).
type Names map[string]string

// NewNames returns the set of names.
func NewNames(names ...string) Names {
	m := make(Names, len(names))
	for _, n := range names {
		m[n] = n
	}
	return m
}

// Plain reports whether body holds none of marks: member names or string
// values, with their opening quote, that put a body beyond a fast path's
// shape. A mark that ends in a quote never matches text inside a string
// (a quote there is escaped); one that does not may, and then the body
// goes to the full decoder, which is slower but never wrong. A fast path
// calls it first: it costs a scan per mark, where a body that fails late
// (its tools after all of its messages) costs the fast path's parse on
// top of the full decoder's.
func Plain(body []byte, marks [][]byte) bool {
	for _, m := range marks {
		if bytes.Contains(body, m) {
			return false
		}
	}
	return true
}

// Parser reads JSON from B, which shrinks as it goes. Its methods report
// false for anything outside the shapes they accept.
type Parser struct {
	B []byte
	// Names are the member names Object accepts.
	Names Names
	// Values, when set, are string values Str shares instead of
	// allocating them anew (a message's role, a block's type): the full
	// decoder keeps a cache of short strings for the same reason.
	Values Names
	// Strs, when set (non-nil), holds the strings that NullableStr's and
	// NewStr's values point to, so that a stream chunk's content, or a
	// request's message texts, need no allocation each. Read strings are
	// appended (growing it leaves those already read in the old array,
	// where their pointers point); a caller that reuses it for the next
	// parse takes it back from the parser, and the pointers into it stay
	// valid until then.
	Strs []string
	// Strict refuses strings with invalid UTF-8 or unpaired surrogate
	// escapes (which the full decoder refuses in requests) instead of
	// replacing them with U+FFFD (as the lenient decoding of upstream
	// answers does).
	Strict bool
}

func (p *Parser) ws() {
	for len(p.B) > 0 && (p.B[0] == ' ' || p.B[0] == '\t' || p.B[0] == '\n' || p.B[0] == '\r') {
		p.B = p.B[1:]
	}
}

// consume skips white space and c when c is next.
func (p *Parser) consume(c byte) bool {
	p.ws()
	if len(p.B) > 0 && p.B[0] == c {
		p.B = p.B[1:]
		return true
	}
	return false
}

// Peek skips white space and returns the next byte (0 at the end).
func (p *Parser) Peek() byte {
	p.ws()
	if len(p.B) == 0 {
		return 0
	}
	return p.B[0]
}

// End reports whether only white space is left.
func (p *Parser) End() bool { p.ws(); return len(p.B) == 0 }

// maxMembers bounds the members of one object (the shapes have fewer).
const maxMembers = 24

// Object reads an object, calling member for each member with the parser
// at its value. A repeated name fails (the lenient full decoder takes the
// last, the strict one refuses it), as does a name with escapes or
// non-ASCII bytes or one not in Names.
func (p *Parser) Object(member func(key string) bool) bool {
	if !p.consume('{') {
		return false
	}
	if p.consume('}') {
		return true
	}
	var seen [maxMembers]string
	for n := 0; ; n++ {
		key, ok := p.key()
		if !ok || n == maxMembers {
			return false
		}
		for _, k := range seen[:n] {
			if k == key {
				return false
			}
		}
		seen[n] = key
		if !member(key) {
			return false
		}
		if p.consume('}') {
			return true
		}
		if !p.consume(',') {
			return false
		}
	}
}

// key reads a member name and its colon. The name must be one of Names,
// so that it costs no allocation; others fail.
func (p *Parser) key() (string, bool) {
	if !p.consume('"') {
		return "", false
	}
	for i, c := range p.B {
		if c == '"' {
			name, ok := p.Names[string(p.B[:i])]
			p.B = p.B[i+1:]
			return name, ok && p.consume(':')
		}
		if c == '\\' || c < 0x20 || c >= 0x80 {
			return "", false
		}
	}
	return "", false
}

// Array reads an array, calling elem at each element.
func (p *Parser) Array(elem func() bool) bool {
	if !p.consume('[') {
		return false
	}
	if p.consume(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if p.consume(']') {
			return true
		}
		if !p.consume(',') {
			return false
		}
	}
}

// Elems reads an array into s, appending each element, read by read. An
// array leaves s non-nil even when empty, as the full decoder does.
func Elems[T any](p *Parser, s *[]T, read func(*T) bool) bool {
	if *s == nil {
		*s = []T{}
	}
	return p.Array(func() bool {
		var zero T
		*s = append(*s, zero)
		return read(&(*s)[len(*s)-1])
	})
}

// EmptyArray reads [].
func (p *Parser) EmptyArray() bool { return p.consume('[') && p.consume(']') }

// Str reads a string into s; a value equal to *s keeps it.
func (p *Parser) Str(s *string) bool {
	if !p.consume('"') {
		return false
	}
	if prev := *s; prev != "" && len(p.B) > len(prev) && p.B[len(prev)] == '"' && string(p.B[:len(prev)]) == prev {
		p.B = p.B[len(prev)+1:]
		return true
	}
	if p.Values != nil {
		if v, ok := p.value(); ok {
			*s = v
			return true
		}
	}
	var v string
	var rest []byte
	var ok bool
	if p.Strict {
		v, rest, ok = jsonstr.UnquoteStrict(p.B)
	} else {
		v, rest, ok = jsonstr.Unquote(p.B)
	}
	p.B = rest
	*s = v
	return ok
}

// value reads a string that is one of Values, written without escapes.
// A string with escapes never matches (no entry of Values holds a
// backslash), and the parser is left as it was.
func (p *Parser) value() (string, bool) {
	for i, c := range p.B {
		if c == '"' {
			v, ok := p.Values[string(p.B[:i])]
			if ok {
				p.B = p.B[i+1:]
			}
			return v, ok
		}
		if i == maxValue {
			break
		}
	}
	return "", false
}

// maxValue bounds the length of the strings value looks up.
const maxValue = 32

// NewStr reads a string into a new *string (see Strs).
func (p *Parser) NewStr(s **string) bool {
	v := p.newStr()
	*s = v
	return p.Str(v)
}

// newStr returns a new *string, in Strs when set.
func (p *Parser) newStr() *string {
	if p.Strs == nil {
		return new(string)
	}
	p.Strs = append(p.Strs, "")
	return &p.Strs[len(p.Strs)-1]
}

// NullableStr reads null or a string.
func (p *Parser) NullableStr(n *apischema.Nullable[string]) bool {
	if p.Null() {
		*n = apischema.NullOf[string]()
		return true
	}
	s := p.newStr()
	if !p.Str(s) {
		return false
	}
	*n = apischema.ValueOf(s)
	return true
}

// SkipString reads a string without decoding it (as the lenient decoder
// would: its bytes are not checked for valid UTF-8).
func (p *Parser) SkipString() bool {
	if !p.consume('"') {
		return false
	}
	b := p.B
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			p.B = b[i+1:]
			return true
		case c < 0x20:
			return false
		case c == '\\':
			if i+1 >= len(b) {
				return false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if i+5 >= len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return false
				}
				i += 5
			default:
				return false
			}
		}
	}
	return false
}

func isHex(c byte) bool { return c-'0' < 10 || (c|0x20)-'a' < 6 }

// Null reads the literal null.
func (p *Parser) Null() bool { return p.literal("null") }

// Bool reads true or false into v.
func (p *Parser) Bool(v *bool) bool {
	switch {
	case p.literal("true"):
		*v = true
	case p.literal("false"):
		*v = false
	default:
		return false
	}
	return true
}

// NewBool reads true or false into a new *bool.
func (p *Parser) NewBool(v **bool) bool {
	b := new(bool)
	*v = b
	return p.Bool(b)
}

// literal reads lit when it is next and not followed by more of a word.
func (p *Parser) literal(lit string) bool {
	p.ws()
	if len(p.B) >= len(lit) && string(p.B[:len(lit)]) == lit && (len(p.B) == len(lit) || !isWord(p.B[len(lit)])) {
		p.B = p.B[len(lit):]
		return true
	}
	return false
}

func isWord(c byte) bool { return c-'a' < 26 || c-'A' < 26 || c-'0' < 10 || c == '_' }

// Int64 reads an integer of at most 15 digits, without a leading zero,
// fraction or exponent, into n.
func (p *Parser) Int64(n *int64) bool {
	p.ws()
	neg := len(p.B) > 0 && p.B[0] == '-'
	b := p.B
	if neg {
		b = b[1:]
	}
	var v int64
	i := 0
	for i < len(b) && i < 16 && b[i] >= '0' && b[i] <= '9' {
		v = v*10 + int64(b[i]-'0')
		i++
	}
	if i == 0 || i == 16 || (i > 1 && b[0] == '0') || (neg && v == 0) ||
		(i < len(b) && (b[i] == '.' || b[i] == 'e' || b[i] == 'E')) {
		return false
	}
	p.B = b[i:]
	if neg {
		v = -v
	}
	*n = v
	return true
}

// NewInt64 reads an integer (Int64) into a new *int64.
func (p *Parser) NewInt64(n **int64) bool {
	v := new(int64)
	*n = v
	return p.Int64(v)
}

// NewInt reads an integer (Int64) into a new *int.
func (p *Parser) NewInt(n **int) bool {
	var v int64
	if !p.Int64(&v) {
		return false
	}
	i := int(v)
	*n = &i
	return true
}

// Float64 reads a number in JSON's grammar into f, as strconv.ParseFloat
// reads it (the full decoder's conversion); a number out of float64's
// range fails.
func (p *Parser) Float64(f *float64) bool {
	p.ws()
	b := p.B
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(b, i)
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		j := digits(b, i+1)
		if j == i+1 {
			return false
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			return false
		}
		i = j
	}
	v, err := strconv.ParseFloat(string(b[:i]), 64)
	if err != nil {
		return false
	}
	p.B = b[i:]
	*f = v
	return true
}

// digits returns the index of the first byte of b at or after i that is
// not a decimal digit.
func digits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

// NewFloat64 reads a number (Float64) into a new *float64.
func (p *Parser) NewFloat64(f **float64) bool {
	v := new(float64)
	*f = v
	return p.Float64(v)
}
