package configfile_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/tollgate-dev/tollgate/service/configfile"
)

// TestSchemaIsCurrent fails when the committed JSON Schema differs from
// the one generated from the types (`make docs` rewrites it).
func TestSchemaIsCurrent(t *testing.T) {
	got, err := configfile.JSONSchema("../..")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join("../..", configfile.SchemaPath))
	if err != nil {
		t.Fatalf("%v (run `make docs`)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is stale: run `make docs` and commit the result", configfile.SchemaPath)
	}
}
