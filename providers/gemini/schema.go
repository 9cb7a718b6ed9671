package gemini

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// Gemini's Schema type (used by FunctionDeclaration.parameters and
// GenerationConfig.responseSchema) is a subset of OpenAPI 3.0 and rejects
// every key it does not know. sanitizeSchema rewrites a JSON Schema into
// that subset:
//
//   - kept: type, format (see below), title, description, nullable, enum
//     (string values only), properties, required (only names that are in
//     properties), items, anyOf, minItems, maxItems, minLength, maxLength,
//     minProperties, maxProperties, pattern, minimum, maximum, example,
//     default, propertyOrdering;
//   - rewritten: local $ref (#/$defs/..., #/definitions/...) is inlined
//     (a recursive reference is unrolled twice, then becomes an
//     unconstrained schema); allOf is merged into its parent; oneOf becomes
//     anyOf; a type list becomes one type plus nullable ("null" in the
//     list) or an anyOf; const becomes a one-value enum; examples becomes
//     example (its first value);
//   - format is kept for strings only when it is "enum" or "date-time" and
//     for numbers only when it is float, double, int32 or int64 (the
//     Developer API rejects others);
//   - dropped: everything else, notably $schema, $id, $defs, definitions,
//     $comment, additionalProperties, patternProperties,
//     unevaluatedProperties, not, if/then/else, dependentRequired,
//     uniqueItems, multipleOf, exclusiveMinimum, exclusiveMaximum,
//     prefixItems, readOnly, writeOnly, deprecated and strict.
//
// With the setting schema=json_schema the adapter sends schemas unchanged
// as parametersJsonSchema / responseJsonSchema instead.

// maxSchemaDepth bounds nesting.
const maxSchemaDepth = 32

// maxRefExpansions is how often one $ref is inlined on one path: a
// recursive schema is unrolled twice, then left unconstrained.
const maxRefExpansions = 2

// errSchemaTooDeep is returned for schemas nested deeper than maxSchemaDepth.
var errSchemaTooDeep = errors.New("schema nests deeper than 32 levels")

// schemaScalarKeys are copied unchanged when present.
var schemaScalarKeys = [...]string{"title", "description", "nullable", "minItems", "maxItems", "minLength",
	"maxLength", "minProperties", "maxProperties", "pattern", "minimum", "maximum", "example", "default",
	"propertyOrdering"}

// sanitizeSchema returns raw rewritten into Gemini's Schema subset, or nil
// for an empty schema.
func sanitizeSchema(raw json.RawMessage) (json.RawMessage, error) {
	root, err := decodeSchema(raw)
	if err != nil || root == nil {
		return nil, err
	}
	w := schemaWalker{root: root}
	out, err := w.convert(root, 0)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, nil
	}
	return marshalSchema(out)
}

// sanitizeParameters is sanitizeSchema for function parameters: an object
// schema without properties is omitted, because Gemini rejects OBJECT
// parameters with empty properties and a function without parameters is
// declared by leaving them unset.
func sanitizeParameters(raw json.RawMessage) (json.RawMessage, error) {
	root, err := decodeSchema(raw)
	if err != nil || root == nil {
		return nil, err
	}
	w := schemaWalker{root: root}
	out, err := w.convert(root, 0)
	if err != nil {
		return nil, err
	}
	if props, _ := out["properties"].(map[string]any); len(props) == 0 {
		if t, _ := out["type"].(string); t == "" || strings.EqualFold(t, "object") {
			return nil, nil
		}
	}
	return marshalSchema(out)
}

func decodeSchema(raw json.RawMessage) (map[string]any, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("schema is not valid JSON: %w", err)
	}
	switch t := v.(type) {
	case map[string]any:
		return t, nil
	case bool:
		return map[string]any{}, nil
	}
	return nil, errors.New("schema is not a JSON object")
}

func marshalSchema(m map[string]any) (json.RawMessage, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("encode schema: %w", err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

type schemaWalker struct {
	root map[string]any
	// stack holds the references being expanded, outermost first.
	stack []string
}

// expansions counts how often ref is being expanded on the current path.
func (w *schemaWalker) expansions(ref string) int {
	n := 0
	for _, r := range w.stack {
		if r == ref {
			n++
		}
	}
	return n
}

// resolve returns the target of a local reference.
func (w *schemaWalker) resolve(ref string) (map[string]any, bool) {
	if ref == "#" {
		return w.root, true
	}
	path, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, false
	}
	var cur any = w.root
	for _, seg := range strings.Split(path, "/") {
		seg = strings.ReplaceAll(strings.ReplaceAll(seg, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		cur = m[seg]
	}
	m, ok := cur.(map[string]any)
	return m, ok
}

// convert rewrites one schema node. Non-object nodes (true, false) become
// an unconstrained schema.
func (w *schemaWalker) convert(node any, depth int) (map[string]any, error) {
	if depth > maxSchemaDepth {
		return nil, errSchemaTooDeep
	}
	in, ok := node.(map[string]any)
	if !ok {
		return map[string]any{}, nil
	}
	if ref, ok := in["$ref"].(string); ok {
		target, found := w.resolve(ref)
		if !found || w.expansions(ref) >= maxRefExpansions {
			return map[string]any{}, nil // unresolvable or recursive: unconstrained
		}
		w.stack = append(w.stack, ref)
		out, err := w.convert(target, depth+1)
		w.stack = w.stack[:len(w.stack)-1]
		if err != nil {
			return nil, err
		}
		for _, k := range [...]string{"description", "title"} {
			if v, ok := in[k]; ok {
				out[k] = v
			}
		}
		return out, nil
	}
	out := make(map[string]any, len(in))
	for _, k := range schemaScalarKeys {
		if v, ok := in[k]; ok {
			out[k] = v
		}
	}
	if _, ok := out["example"]; !ok {
		if ex, ok := in["examples"].([]any); ok && len(ex) > 0 {
			out["example"] = ex[0]
		}
	}
	w.convertType(in, out)
	w.convertEnum(in, out)
	if err := w.convertChildren(in, out, depth); err != nil {
		return nil, err
	}
	if all, ok := in["allOf"].([]any); ok {
		for _, sub := range all {
			s, err := w.convert(sub, depth+1)
			if err != nil {
				return nil, err
			}
			mergeSchema(out, s)
		}
	}
	if t, _ := out["type"].(string); t != "" {
		if f, ok := in["format"].(string); ok && formatAllowed(t, f) {
			out["format"] = f
		}
	}
	filterRequired(out)
	return out, nil
}

// convertType copies type, turning a list of types into one type plus
// nullable, or an anyOf of single types.
func (w *schemaWalker) convertType(in, out map[string]any) {
	switch t := in["type"].(type) {
	case string:
		if t == "null" {
			out["nullable"] = true
			return
		}
		out["type"] = t
	case []any:
		var types []string
		for _, v := range t {
			s, _ := v.(string)
			switch s {
			case "":
			case "null":
				out["nullable"] = true
			default:
				types = append(types, s)
			}
		}
		switch len(types) {
		case 0:
		case 1:
			out["type"] = types[0]
		default:
			alts := make([]any, len(types))
			for i, s := range types {
				alts[i] = map[string]any{"type": s}
			}
			out["anyOf"] = alts
		}
	}
}

// convertEnum keeps string enums; const becomes a one-value enum.
func (w *schemaWalker) convertEnum(in, out map[string]any) {
	if c, ok := in["const"].(string); ok {
		out["enum"] = []any{c}
		if _, ok := out["type"]; !ok {
			out["type"] = "string"
		}
		return
	}
	vals, ok := in["enum"].([]any)
	if !ok || len(vals) == 0 {
		return
	}
	for _, v := range vals {
		if _, ok := v.(string); !ok {
			return // Gemini enums are strings only
		}
	}
	out["enum"] = vals
}

// convertChildren rewrites properties, items and anyOf/oneOf.
func (w *schemaWalker) convertChildren(in, out map[string]any, depth int) error {
	if props, ok := in["properties"].(map[string]any); ok {
		conv := make(map[string]any, len(props))
		for name, sub := range props {
			s, err := w.convert(sub, depth+1)
			if err != nil {
				return err
			}
			conv[name] = s
		}
		out["properties"] = conv
	}
	if req, ok := in["required"].([]any); ok {
		out["required"] = req
	}
	if items, ok := in["items"].(map[string]any); ok {
		s, err := w.convert(items, depth+1)
		if err != nil {
			return err
		}
		out["items"] = s
	}
	for _, key := range [...]string{"anyOf", "oneOf"} {
		alts, ok := in[key].([]any)
		if !ok || len(alts) == 0 {
			continue
		}
		conv := make([]any, 0, len(alts))
		for _, sub := range alts {
			s, err := w.convert(sub, depth+1)
			if err != nil {
				return err
			}
			conv = append(conv, s)
		}
		if prev, ok := out["anyOf"].([]any); ok {
			conv = append(prev, conv...)
		}
		out["anyOf"] = conv
	}
	return nil
}

// mergeSchema folds an allOf member into dst: properties and required are
// united, other keys are taken when dst lacks them.
func mergeSchema(dst, src map[string]any) {
	for k, v := range src {
		switch k {
		case "properties":
			dp, _ := dst["properties"].(map[string]any)
			if dp == nil {
				dp = make(map[string]any)
				dst["properties"] = dp
			}
			for name, s := range v.(map[string]any) {
				if _, ok := dp[name]; !ok {
					dp[name] = s
				}
			}
		case "required":
			dr, _ := dst["required"].([]any)
			for _, name := range v.([]any) {
				if !containsValue(dr, name) {
					dr = append(dr, name)
				}
			}
			dst["required"] = dr
		default:
			if _, ok := dst[k]; !ok {
				dst[k] = v
			}
		}
	}
}

// filterRequired drops required names that are not declared properties
// (Gemini rejects them) and required lists of schemas without properties.
func filterRequired(m map[string]any) {
	req, ok := m["required"].([]any)
	if !ok {
		return
	}
	props, _ := m["properties"].(map[string]any)
	kept := req[:0:0]
	for _, r := range req {
		if name, ok := r.(string); ok {
			if _, declared := props[name]; declared && !containsValue(kept, r) {
				kept = append(kept, r)
			}
		}
	}
	if len(kept) == 0 {
		delete(m, "required")
		return
	}
	m["required"] = kept
}

func containsValue(list []any, v any) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// formatAllowed reports formats the Gemini Developer API accepts for typ.
func formatAllowed(typ, format string) bool {
	switch strings.ToLower(typ) {
	case "string":
		return format == "enum" || format == "date-time"
	case "number", "integer":
		return format == "float" || format == "double" || format == "int32" || format == "int64"
	}
	return false
}

// maxCachedSchemas bounds a Provider's schema cache; it is emptied when full.
const maxCachedSchemas = 512

// schemaCache memoizes sanitized schemas per provider: agents send the same
// tool declarations with every turn, and sanitizing dominates encoding.
// Cached values are shared and must not be modified.
type schemaCache struct {
	mu sync.Mutex
	m  map[string]json.RawMessage
}

// get returns sanitize(raw), from the cache when raw was seen before.
// Errors are not cached.
func (c *schemaCache) get(kind string, raw json.RawMessage, sanitize func(json.RawMessage) (json.RawMessage, error)) (json.RawMessage, error) {
	key := kind + "\x00" + string(raw)
	c.mu.Lock()
	v, ok := c.m[key]
	c.mu.Unlock()
	if ok {
		return v, nil
	}
	v, err := sanitize(raw)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCachedSchemas {
		c.m = make(map[string]json.RawMessage)
	}
	c.m[key] = v
	c.mu.Unlock()
	return v, nil
}
