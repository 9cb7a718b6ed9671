package gemini

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestSanitizeSchema(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want string // "" for nil
		err  string
	}{
		{name: "empty", in: ``, want: ``},
		{name: "null", in: `null`, want: ``},
		{name: "true schema", in: `true`, want: ``},
		{
			name: "drops unsupported keys everywhere",
			in: `{"$schema":"x","$id":"y","title":"T","type":"object","additionalProperties":false,"strict":true,
				"properties":{"a":{"type":"array","uniqueItems":true,"items":{"type":"number","multipleOf":2,"exclusiveMinimum":0,"minimum":1}}},
				"patternProperties":{"^x":{}},"not":{"type":"null"},"if":{},"then":{},"else":{}}`,
			want: `{"title":"T","type":"object","properties":{"a":{"type":"array","items":{"type":"number","minimum":1}}}}`,
		},
		{
			name: "refs inlined with sibling description",
			in: `{"type":"object","properties":{"p":{"$ref":"#/definitions/P","description":"the p"}},
				"definitions":{"P":{"type":"object","properties":{"x":{"type":"string"}},"required":["x"]}}}`,
			want: `{"type":"object","properties":{"p":{"type":"object","description":"the p","properties":{"x":{"type":"string"}},"required":["x"]}}}`,
		},
		{
			name: "recursive ref cut",
			in:   `{"$defs":{"N":{"type":"object","properties":{"next":{"$ref":"#/$defs/N"}}}},"$ref":"#/$defs/N"}`,
			want: `{"type":"object","properties":{"next":{"type":"object","properties":{"next":{}}}}}`,
		},
		{
			name: "allOf merged",
			in: `{"allOf":[{"type":"object","properties":{"a":{"type":"string"}},"required":["a"]},
				{"properties":{"b":{"type":"integer"}},"required":["b","a"]}]}`,
			want: `{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"}},"required":["a","b"]}`,
		},
		{
			name: "oneOf and type lists",
			in:   `{"oneOf":[{"type":"string"},{"type":["integer","number","null"]}]}`,
			want: `{"anyOf":[{"type":"string"},{"nullable":true,"anyOf":[{"type":"integer"},{"type":"number"}]}]}`,
		},
		{
			name: "const, examples, formats, non-string enum",
			in: `{"type":"object","properties":{
				"k":{"const":"fixed"},
				"d":{"type":"string","format":"date-time","examples":["2024-01-01T00:00:00Z"]},
				"e":{"type":"string","format":"email"},
				"i":{"type":"integer","format":"int64","enum":[1,2]},
				"n":{"type":"null"}}}`,
			want: `{"type":"object","properties":{
				"k":{"type":"string","enum":["fixed"]},
				"d":{"type":"string","format":"date-time","example":"2024-01-01T00:00:00Z"},
				"e":{"type":"string"},
				"i":{"type":"integer","format":"int64"},
				"n":{"nullable":true}}}`,
		},
		{
			name: "keeps supported keys and big numbers exactly",
			in: `{"type":"array","minItems":1,"maxItems":12345678901234567,"items":{"type":"string","minLength":2,"maxLength":9,
				"pattern":"^a","default":"aa"},"description":"d","propertyOrdering":["x"]}`,
			want: `{"type":"array","minItems":1,"maxItems":12345678901234567,"items":{"type":"string","minLength":2,"maxLength":9,
				"pattern":"^a","default":"aa"},"description":"d","propertyOrdering":["x"]}`,
		},
		{name: "not an object", in: `"string"`, err: "not a JSON object"},
		{name: "invalid JSON", in: `{"type":`, err: "not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := sanitizeSchema(json.RawMessage(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("sanitizeSchema: %v", err)
			}
			if tt.want == "" {
				if got != nil {
					t.Fatalf("got %s, want nil", got)
				}
				return
			}
			assertJSONEqual(t, got, tt.want)
		})
	}
}

func TestSanitizeParameters(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{name: "no properties omitted", in: `{"type":"object","properties":{},"additionalProperties":false}`},
		{name: "untyped empty omitted", in: `{}`},
		{name: "object kept", in: `{"type":"object","properties":{"a":{"type":"string"}}}`,
			want: `{"type":"object","properties":{"a":{"type":"string"}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := sanitizeParameters(json.RawMessage(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == "" {
				if got != nil {
					t.Fatalf("got %s, want nil", got)
				}
				return
			}
			assertJSONEqual(t, got, tt.want)
		})
	}
}

func TestSanitizeSchemaTooDeep(t *testing.T) {
	t.Parallel()
	deep := strings.Repeat(`{"type":"array","items":`, 40) + `{"type":"string"}` + strings.Repeat("}", 40)
	if _, err := sanitizeSchema(json.RawMessage(deep)); err == nil || !strings.Contains(err.Error(), "deeper") {
		t.Fatalf("err = %v, want depth error", err)
	}
}

func TestSchemaCache(t *testing.T) {
	t.Parallel()
	var c schemaCache
	calls := 0
	sanitize := func(raw json.RawMessage) (json.RawMessage, error) {
		calls++
		return sanitizeSchema(raw)
	}
	in := json.RawMessage(`{"type":"object","additionalProperties":false,"properties":{"a":{"type":"string"}}}`)
	for range 3 {
		got, err := c.get("schema", in, sanitize)
		if err != nil {
			t.Fatal(err)
		}
		assertJSONEqual(t, got, `{"type":"object","properties":{"a":{"type":"string"}}}`)
	}
	if calls != 1 {
		t.Errorf("sanitized %d times, want 1", calls)
	}
	if _, err := c.get("parameters", in, sanitize); err != nil || calls != 2 {
		t.Errorf("kinds share cache entries (calls=%d, err=%v)", calls, err)
	}
	for range 2 {
		if _, err := c.get("schema", json.RawMessage(`[`), sanitize); err == nil {
			t.Fatal("invalid schema accepted")
		}
	}
	if calls != 4 {
		t.Errorf("errors were cached: %d calls, want 4", calls)
	}
	for i := range maxCachedSchemas + 10 {
		if _, err := c.get("schema", json.RawMessage(fmt.Sprintf(`{"title":"t%d"}`, i)), sanitizeSchema); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(c.m); n > maxCachedSchemas {
		t.Errorf("cache holds %d entries, limit %d", n, maxCachedSchemas)
	}
}
