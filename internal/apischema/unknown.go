package apischema

import (
	"bytes"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/go-json-experiment/json/jsontext"
)

// Member is a member of a decoded value that its schema does not declare.
type Member struct {
	// Path names it the way a client names request fields, e.g.
	// "logprobs" or "messages[2].content[0].citations".
	Path string
	// Value is its JSON value as it was sent.
	Value jsontext.Value
}

// Unknowns returns the members of v, a decoded schema value or a pointer
// to one, that were kept in the Unknown fields of any level, in the order
// of the schema's fields (a level's own unknown members after those of its
// declared fields).
func Unknowns(v any) []Member {
	var w walker
	w.walk(reflect.ValueOf(v), "")
	return w.out
}

// FirstUnknown returns the path of the first unknown member of v, "" when
// there is none. Fakes of strict APIs use it to refuse what the real API
// refuses.
func FirstUnknown(v any) string {
	w := walker{first: true}
	w.walk(reflect.ValueOf(v), "")
	if len(w.out) == 0 {
		return ""
	}
	return w.out[0].Path
}

type walker struct {
	out   []Member
	first bool
}

func (w *walker) done() bool { return w.first && len(w.out) > 0 }

var valueType = reflect.TypeFor[jsontext.Value]()

// plan is how the walker visits the fields of a struct type.
type plan struct {
	fields []fieldPlan
	// fallback is the index of the embedded fallback field, -1 if none.
	fallback int
}

type fieldPlan struct {
	index int
	// name is the JSON name, "" for a transparent field (union internals).
	name string
}

var plans sync.Map // reflect.Type → *plan

func planOf(t reflect.Type) *plan {
	if p, ok := plans.Load(t); ok {
		return p.(*plan)
	}
	p := &plan{fallback: -1}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if f.Type == valueType && strings.Contains(","+opts+",", ",embed,") {
			p.fallback = i
			continue
		}
		if name == "-" {
			name = ""
		}
		if !walkable(f.Type) {
			continue
		}
		p.fields = append(p.fields, fieldPlan{index: i, name: name})
	}
	plans.Store(t, p)
	return p
}

// walkable reports whether values of t may hold unknown members.
func walkable(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return t != valueType && walkable(t.Elem())
	case reflect.Struct:
		return true
	}
	return false
}

func join(prefix, name string) string {
	switch {
	case name == "":
		return prefix
	case prefix == "":
		return name
	}
	return prefix + "." + name
}

func (w *walker) walk(v reflect.Value, path string) {
	if w.done() {
		return
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			w.walk(v.Elem(), path)
		}
	case reflect.Slice, reflect.Array:
		if v.Type() == valueType || !walkable(v.Type().Elem()) {
			return
		}
		for i := range v.Len() {
			w.walk(v.Index(i), path+"["+strconv.Itoa(i)+"]")
		}
	case reflect.Struct:
		p := planOf(v.Type())
		for _, f := range p.fields {
			w.walk(v.Field(f.index), join(path, f.name))
		}
		if p.fallback >= 0 {
			w.members(v.Field(p.fallback).Bytes(), path)
		}
	}
}

// members reports the members of the JSON object obj.
func (w *walker) members(obj []byte, path string) {
	if len(bytes.TrimSpace(obj)) == 0 {
		return
	}
	dec := jsontext.NewDecoder(bytes.NewReader(obj))
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return
	}
	for dec.PeekKind() == '"' && !w.done() {
		tok, err := dec.ReadToken()
		if err != nil {
			return
		}
		name := tok.String() // before the next read voids the token
		val, err := dec.ReadValue()
		if err != nil {
			return
		}
		w.out = append(w.out, Member{Path: join(path, name), Value: val.Clone()})
	}
}
