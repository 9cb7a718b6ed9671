package configfile

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/invopop/jsonschema"

	"github.com/tollgate-dev/tollgate/service/guardrails"
)

// module is the gateway's module path, for the doc comments of the schema.
const module = "github.com/tollgate-dev/tollgate"

// SchemaPath is where the published JSON Schema lives in the repository.
const SchemaPath = "docs/schema/tollgate-config.schema.json"

// JSONSchema returns the JSON Schema of a configuration file, generated
// from the Go types of this package (and the guardrail kinds' config types
// of service/guardrails) with their doc comments as descriptions. root is
// the repository's root directory, where the comments are read from.
func JSONSchema(root string) ([]byte, error) {
	r := &jsonschema.Reflector{
		// Field names are the json tags; "required" comes from the jsonschema tags.
		RequiredFromJSONSchemaTags: true,
		// Types whose JSON form is not their Go kind.
		Mapper: func(t reflect.Type) *jsonschema.Schema {
			switch t {
			case reflect.TypeFor[guardrails.Duration]():
				return Duration("").JSONSchema()
			case reflect.TypeFor[json.RawMessage]():
				return &jsonschema.Schema{Type: "object", Description: "a JSON Schema document"}
			}
			return nil
		},
	}
	// The comments' keys are path.Join(base, the file's directory): pad
	// base with one element per ".." of root so they come out as import paths.
	base := module + strings.Repeat("/x", strings.Count(filepath.ToSlash(filepath.Clean(root)), ".."))
	for _, dir := range []string{"service/configfile", "service/guardrails"} {
		if err := r.AddGoComments(base, filepath.Join(root, dir)); err != nil {
			return nil, err
		}
	}
	s := r.Reflect(&Config{})
	// The provider types come from the API's enumeration.
	if p, ok := s.Definitions["Provider"]; ok {
		if typ, ok := p.Properties.Get("type"); ok {
			for _, v := range ProviderTypes() {
				typ.Enum = append(typ.Enum, v)
			}
		}
	}
	s.ID = "https://tollgate.dev/schema/tollgate-config.schema.json"
	s.Title = "Tollgate declarative configuration"
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
