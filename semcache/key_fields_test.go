package semcache_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/semcache"
)

// notInKey lists the providers.ChatRequest fields (paths through its
// nested types) that are deliberately not part of the cache key, each with
// the reason. Every other field must change the key: a field the key
// forgets makes two requests that differ in it share answers.
var notInKey = map[string]string{
	"User":                                 "the end-user id is attribution: it does not change the answer",
	"Messages[].Content[].CacheBreakpoint": "asks the upstream to cache the prompt prefix: the answer is the same",
	"Drop[]":                               "set per attempt, after the lookup, from the route's or key's drop_params",
	"Source.Body": "the body's members are keyed as the canonical fields they map to, and those " +
		"the canonical request lacks through Source.Wire's Unmapped (semcache key_test.go)",
}

// TestKeyCoversEveryField walks providers.ChatRequest by reflection: it
// fills every field, then changes one leaf at a time (a string, number,
// flag, byte slice or map key, or an optional value set to nil) and checks
// that the exact key changes, unless the field is listed in notInKey. A
// new field fails this test until ComputeKeys encodes it or notInKey says
// why it must not.
func TestKeyCoversEveryField(t *testing.T) {
	t.Parallel()
	base := semcache.ComputeKeys("team:a", fullRequest(t)).Exact
	seen := map[string]bool{}
	for _, l := range leaves(t, reflect.TypeFor[providers.ChatRequest](), "", nil) {
		field := strings.TrimSuffix(strings.TrimSuffix(l.name, " (nil)"), " (key)")
		seen[field] = true
		req := fullRequest(t)
		apply(reflect.ValueOf(req).Elem(), l.path, l.mutate)
		changed := semcache.ComputeKeys("team:a", req).Exact != base
		reason, excluded := notInKey[field]
		switch {
		case !changed && !excluded:
			t.Errorf("%s does not change the cache key: encode it in semcache.ComputeKeys, or list it in notInKey with the reason", l.name)
		case changed && excluded:
			t.Errorf("%s changes the cache key but notInKey excludes it (%q): remove it from the list", l.name, reason)
		}
	}
	for field := range notInKey {
		if !seen[field] {
			t.Errorf("notInKey lists %s, which providers.ChatRequest does not have", field)
		}
	}
}

// step moves from a value to one inside it.
type step struct {
	field int // struct field index, when kind is reflect.Struct
	kind  reflect.Kind
	key   string // map key
}

// leaf is one change of a filled request.
type leaf struct {
	name   string
	path   []step
	mutate func(v reflect.Value)
}

// leaves returns the changes of every leaf of type t, reached by path.
func leaves(t *testing.T, typ reflect.Type, name string, path []step) []leaf {
	t.Helper()
	at := func(s step, suffix string) ([]step, string) {
		return append(slices.Clone(path), s), name + suffix
	}
	switch typ.Kind() {
	case reflect.Struct:
		var out []leaf
		for i := range typ.NumField() {
			f := typ.Field(i)
			if !f.IsExported() {
				t.Fatalf("%s.%s is unexported: extend this test", name, f.Name)
			}
			p, n := at(step{kind: reflect.Struct, field: i}, "."+f.Name)
			out = append(out, leaves(t, f.Type, strings.TrimPrefix(n, "."), p)...)
		}
		return out
	case reflect.Pointer:
		out := []leaf{{name: name + " (nil)", path: path, mutate: func(v reflect.Value) { v.SetZero() }}}
		p, _ := at(step{kind: reflect.Pointer}, "")
		return append(out, leaves(t, typ.Elem(), name, p)...)
	case reflect.Slice:
		if typ.Elem().Kind() == reflect.Uint8 {
			return []leaf{{name: name, path: path, mutate: func(v reflect.Value) { v.SetBytes([]byte(changedJSON)) }}}
		}
		p, n := at(step{kind: reflect.Slice}, "[]")
		return leaves(t, typ.Elem(), n, p)
	case reflect.Map:
		if typ.Key().Kind() != reflect.String {
			t.Fatalf("%s has non-string keys: extend this test", name)
		}
		out := []leaf{{name: name + "{} (key)", path: path, mutate: func(v reflect.Value) {
			x := v.MapIndex(reflect.ValueOf(mapKey))
			v.SetMapIndex(reflect.ValueOf(mapKey), reflect.Value{})
			v.SetMapIndex(reflect.ValueOf(mapKey+"2"), x)
		}}}
		p, n := at(step{kind: reflect.Map, key: mapKey}, "{}")
		return append(out, leaves(t, typ.Elem(), n, p)...)
	case reflect.String:
		return []leaf{{name: name, path: path, mutate: func(v reflect.Value) { v.SetString(changedJSON) }}}
	case reflect.Bool:
		return []leaf{{name: name, path: path, mutate: func(v reflect.Value) { v.SetBool(!v.Bool()) }}}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return []leaf{{name: name, path: path, mutate: func(v reflect.Value) { v.SetInt(2) }}}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return []leaf{{name: name, path: path, mutate: func(v reflect.Value) { v.SetUint(2) }}}
	case reflect.Float32, reflect.Float64:
		return []leaf{{name: name, path: path, mutate: func(v reflect.Value) { v.SetFloat(0.25) }}}
	case reflect.Interface:
		return nil // left nil by fill: tested on its own (providers.Wire in key_test.go)
	}
	t.Fatalf("%s is a %v: extend this test", name, typ.Kind())
	return nil
}

// apply runs mutate on the value path leads to from v (addressable).
// Map values are not addressable: they are copied, changed and put back.
func apply(v reflect.Value, path []step, mutate func(reflect.Value)) {
	if len(path) == 0 {
		mutate(v)
		return
	}
	s, rest := path[0], path[1:]
	switch s.kind {
	case reflect.Struct:
		apply(v.Field(s.field), rest, mutate)
	case reflect.Pointer:
		apply(v.Elem(), rest, mutate)
	case reflect.Slice:
		apply(v.Index(0), rest, mutate)
	case reflect.Map:
		k := reflect.ValueOf(s.key)
		cp := reflect.New(v.Type().Elem()).Elem()
		cp.Set(v.MapIndex(k))
		apply(cp, rest, mutate)
		v.SetMapIndex(k, cp)
	}
}

// The filled request's strings and byte slices hold baseJSON (valid JSON,
// as tool schemas and arguments must be for their canonical form to
// apply); a change makes them changedJSON. Maps hold one entry, mapKey.
const (
	baseJSON    = `{"k":1}`
	changedJSON = `{"k":2}`
	mapKey      = "k"
)

// fullRequest returns a ChatRequest with every field set: pointers point
// to filled values, slices and maps hold one filled element, numbers are
// 1 (0.5 for floats), flags false.
func fullRequest(t *testing.T) *providers.ChatRequest {
	t.Helper()
	req := new(providers.ChatRequest)
	fill(t, reflect.ValueOf(req).Elem())
	return req
}

func fill(t *testing.T, v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			fill(t, v.Field(i))
		}
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(t, v.Elem())
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			v.SetBytes([]byte(baseJSON))
			return
		}
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(t, v.Index(0))
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		e := reflect.New(v.Type().Elem()).Elem()
		fill(t, e)
		v.SetMapIndex(reflect.ValueOf(mapKey), e)
	case reflect.String:
		v.SetString(baseJSON)
	case reflect.Bool:
		v.SetBool(false)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(1)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(0.5)
	case reflect.Interface:
		// nil: see leaves
	default:
		t.Fatalf("cannot fill a %v: extend this test", v.Kind())
	}
}
