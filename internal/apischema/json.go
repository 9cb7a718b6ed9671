package apischema

import (
	"bytes"
	"errors"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Unmarshal decodes a JSON body into v. Duplicate member names and invalid
// UTF-8 are errors.
func Unmarshal(data []byte, v any, opts ...json.Options) error {
	return json.Unmarshal(data, v, opts...)
}

// UnmarshalLenient decodes an upstream's answer into v: invalid UTF-8 (and
// unpaired surrogate escapes) become U+FFFD and a repeated member name
// takes the last value, as encoding/json does. Requests are decoded with
// Unmarshal, which refuses both.
func UnmarshalLenient(data []byte, v any, opts ...json.Options) error {
	return unmarshalWith(data, v, lenient, opts)
}

var lenient = json.JoinOptions(jsontext.AllowInvalidUTF8(true), jsontext.AllowDuplicateNames(true))

// unmarshalWith decodes with base and opts, without allocating for the
// common counts of options.
func unmarshalWith(data []byte, v any, base json.Options, opts []json.Options) error {
	switch len(opts) {
	case 0:
		return json.Unmarshal(data, v, base)
	case 1:
		return json.Unmarshal(data, v, opts[0], base)
	}
	return json.Unmarshal(data, v, append(opts[:len(opts):len(opts)], base)...)
}

// Marshal encodes v compactly, without HTML escaping, with map members
// sorted by name (a translated request's bytes do not vary from one call
// to the next, so upstream prompt caches and tests see the same body).
func Marshal(v any) ([]byte, error) { return json.Marshal(v, deterministic) }

var deterministic = json.Deterministic(true)

// IsNull reports whether v is absent or the JSON null.
func IsNull(v jsontext.Value) bool {
	v = bytes.TrimSpace(v)
	return len(v) == 0 || string(v) == "null"
}

// Nullable is an optional member that distinguishes absence (the zero
// value, omitted by `omitzero`), null and a value. Use it where a wire
// format sends null on purpose, such as the "usage": null of every chunk
// of an OpenAI stream that asked for usage.
type Nullable[T any] struct {
	// V is the value; nil means null (when Null is true) or absent.
	V *T
	// Null is true for an explicit null.
	Null bool
}

// NullOf returns a Nullable holding the explicit null.
func NullOf[T any]() Nullable[T] { return Nullable[T]{Null: true} }

// ValueOf returns a Nullable holding v.
func ValueOf[T any](v *T) Nullable[T] { return Nullable[T]{V: v} }

// IsZero reports an absent member. (The pointer receiver lets the json
// package check `omitzero` without boxing the value: no allocation.)
func (n *Nullable[T]) IsZero() bool { return n.V == nil && !n.Null }

// MarshalJSONTo implements json.MarshalerTo.
func (n *Nullable[T]) MarshalJSONTo(enc *jsontext.Encoder) error {
	if n.V == nil {
		return enc.WriteToken(jsontext.Null)
	}
	if s, ok := any(n.V).(*string); ok { // the common case, without reflection
		return enc.WriteToken(jsontext.String(*s))
	}
	return json.MarshalEncode(enc, n.V)
}

// UnmarshalJSONFrom implements json.UnmarshalerFrom.
func (n *Nullable[T]) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	if dec.PeekKind() == 'n' {
		*n = Nullable[T]{Null: true}
		return dec.SkipValue()
	}
	v := new(T)
	if err := json.UnmarshalDecode(dec, v); err != nil {
		return err
	}
	*n = Nullable[T]{V: v}
	return nil
}

// Text renders a scalar JSON value as text: a string's value, a number or
// a boolean as written; "" for null, absent and composite values.
func Text(v jsontext.Value) string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return ""
	}
	switch v[0] {
	case '"':
		var s string
		if json.Unmarshal(v, &s) != nil {
			return ""
		}
		return s
	case 'n', '{', '[':
		return ""
	}
	return string(v)
}

// reuse makes a string member whose JSON value equals the string it is
// decoded into keep that string, without allocating a new one, and makes
// every null jsontext.Value share one array.
var reuse = json.WithUnmarshalers(json.JoinUnmarshalers(
	json.UnmarshalFromFunc(func(dec *jsontext.Decoder, s *string) error {
		if *s == "" || dec.PeekKind() != '"' {
			return errors.ErrUnsupported // the default decoding
		}
		v, err := dec.ReadValue()
		if err != nil {
			return err
		}
		if raw := v[1 : len(v)-1]; string(raw) == *s && bytes.IndexByte(raw, '\\') < 0 {
			return nil
		}
		return json.Unmarshal(v, s, jsontext.AllowInvalidUTF8(true))
	}),
	json.UnmarshalFromFunc(func(dec *jsontext.Decoder, v *jsontext.Value) error {
		if dec.PeekKind() != 'n' {
			return errors.ErrUnsupported
		}
		*v = Null
		return dec.SkipValue()
	}),
))

// Null is the JSON null as a jsontext.Value, to be shared, never modified:
// a member of type jsontext.Value that must be written as null costs no
// allocation with it (an empty one does).
var Null = jsontext.Value("null")

// UnmarshalReuse decodes an event of an upstream's stream leniently (see
// UnmarshalLenient) into v, which holds the previous event's values where
// the caller kept them: a string member that repeats the value it holds
// (the id and model every chunk carries) keeps it, and slices reuse their
// arrays. The caller resets what must not carry over. A null member of type
// jsontext.Value holds a shared array that must not be modified.
func UnmarshalReuse(data []byte, v any, opts ...json.Options) error {
	return unmarshalWith(data, v, reusing, opts)
}

var reusing = json.JoinOptions(lenient, reuse)

// Presized returns an empty slice with room for the elements of an array
// in body, counted as the occurrences of member (a quoted member name, such
// as `"role"`, that each element has once and little else in body has).
// Decoding into it (json reuses a slice's capacity) saves the growth of
// the slice one element at a time: for a long conversation, copies of
// every message struct at each doubling, several times the array's own
// size. The count is bounded by the body's length (an element takes at
// least minElemBytes of it) and by maxPresized, so that a body made of the
// member name alone cannot make it allocate more than the decoding would.
func Presized[T any](body, member []byte) []T {
	n := min(bytes.Count(body, member), len(body)/minElemBytes, maxPresized)
	if n <= 1 {
		return nil
	}
	return make([]T, 0, n)
}

const (
	// minElemBytes is the least JSON text of an element Presized counts:
	// {"role":"user"} and a comma.
	minElemBytes = 16
	// maxPresized bounds the elements Presized makes room for.
	maxPresized = 4096
)
