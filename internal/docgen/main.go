// Command docgen regenerates the parts of the docs that are derived from
// the code, so that they cannot drift: the settings table of
// docs/operations.md, from service/server.Settings, and the JSON Schema
// of the declarative configuration (docs/schema/), from service/configfile.
//
//	go run ./internal/docgen          # rewrite the generated blocks (make docs)
//	go run ./internal/docgen -check   # fail if they are stale (make check-docs, CI)
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/tollgate-dev/tollgate/service/configfile"
	"github.com/tollgate-dev/tollgate/service/server"
)

// The generated block sits between these two lines.
const (
	beginSettings = "<!-- BEGIN GENERATED SETTINGS: `make docs` writes this table from service/server; do not edit it by hand -->"
	endSettings   = "<!-- END GENERATED SETTINGS -->"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("docgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	check := fs.Bool("check", false, "report stale generated blocks instead of rewriting them")
	doc := fs.String("doc", "docs/operations.md", "the operator's guide")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	old, err := os.ReadFile(*doc)
	if err != nil {
		fmt.Fprintln(stderr, "docgen:", err)
		return 1
	}
	if code := schema(*check, stdout, stderr); code != 0 {
		return code
	}
	updated, err := generate(old)
	if err != nil {
		fmt.Fprintf(stderr, "docgen: %s: %v\n", *doc, err)
		return 1
	}
	switch {
	case bytes.Equal(old, updated):
		fmt.Fprintf(stdout, "%s is up to date\n", *doc)
	case *check:
		fmt.Fprintf(stderr, "%s: the settings table is stale (a setting was added or changed in service/server): run `make docs` and commit the result\n", *doc)
		return 1
	default:
		if err := os.WriteFile(*doc, updated, 0o644); err != nil {
			fmt.Fprintln(stderr, "docgen:", err)
			return 1
		}
		fmt.Fprintf(stdout, "%s regenerated\n", *doc)
	}
	return 0
}

// schema writes (or, with check, compares) the JSON Schema of the
// declarative configuration, generated from service/configfile's types.
func schema(check bool, stdout, stderr io.Writer) int {
	want, err := configfile.JSONSchema(".")
	if err != nil {
		fmt.Fprintln(stderr, "docgen: configuration schema:", err)
		return 1
	}
	old, _ := os.ReadFile(configfile.SchemaPath)
	switch {
	case bytes.Equal(old, want):
		fmt.Fprintf(stdout, "%s is up to date\n", configfile.SchemaPath)
	case check:
		fmt.Fprintf(stderr, "%s is stale (a type of service/configfile changed): run `make docs` and commit the result\n", configfile.SchemaPath)
		return 1
	default:
		if err := os.WriteFile(configfile.SchemaPath, want, 0o644); err != nil {
			fmt.Fprintln(stderr, "docgen:", err)
			return 1
		}
		fmt.Fprintf(stdout, "%s regenerated\n", configfile.SchemaPath)
	}
	return 0
}

// generate returns doc with its generated blocks rewritten.
func generate(doc []byte) ([]byte, error) {
	settings, err := server.Settings()
	if err != nil {
		return nil, err
	}
	return replaceBlock(doc, beginSettings, endSettings, settingsTable(settings))
}

// replaceBlock replaces what lies between the lines begin and end.
func replaceBlock(doc []byte, begin, end, body string) ([]byte, error) {
	s := string(doc)
	i := strings.Index(s, begin+"\n")
	j := strings.Index(s, end)
	if i < 0 || j < i {
		return nil, errors.New("missing generated-block markers " + begin + " … " + end)
	}
	i += len(begin) + 1
	return []byte(s[:i] + body + s[j:]), nil
}

// settingsTable renders the settings as a Markdown table.
func settingsTable(settings []server.Setting) string {
	var b strings.Builder
	b.WriteString("| flag | environment variable | type | default | what it does |\n|---|---|---|---|---|\n")
	for _, s := range settings {
		flagName := "(environment only)"
		if s.Flag != "" {
			flagName = "`-" + s.Flag + "`"
		}
		def := "—"
		if s.Default != "" {
			def = "`" + s.Default + "`"
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s | %s |\n", flagName, s.Env, s.Type, def, cell(s.Usage))
	}
	return b.String()
}

// cell escapes text for a Markdown table cell.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "<", "&lt;", ">", "&gt;").Replace(s)
}
