package guardrails

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// JSONSchemaConfig is the config of KindJSONSchema.
type JSONSchemaConfig struct {
	// Schema is the JSON schema the output must satisfy.
	Schema json.RawMessage `json:"schema,omitempty"`
}

// schemaDetector validates the generated text as JSON against a schema
// compiled once.
type schemaDetector struct{ schema *jsonschema.Schema }

func newSchema(raw json.RawMessage) (*schemaDetector, error) {
	var c JSONSchemaConfig
	if err := strictUnmarshal(raw, &c); err != nil {
		return nil, err
	}
	if len(c.Schema) == 0 {
		return nil, fmt.Errorf("schema is required")
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(c.Schema))
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	comp := jsonschema.NewCompiler()
	if err := comp.AddResource("policy.json", doc); err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	s, err := comp.Compile("policy.json")
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	return &schemaDetector{schema: s}, nil
}

// judge reports "invalid_json" or "schema_violation" for each text. The
// validator's messages quote the document, so only the category is kept.
func (d *schemaDetector) judge(in judgeInput) finding {
	var f finding
	for _, t := range in.texts {
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader([]byte(t)))
		if err != nil {
			f.categories = mergeCategories(f.categories, []string{"invalid_json"})
			f.count++
			continue
		}
		if err := d.schema.Validate(v); err != nil {
			f.categories = mergeCategories(f.categories, []string{"schema_violation"})
			f.count++
		}
	}
	return f
}
