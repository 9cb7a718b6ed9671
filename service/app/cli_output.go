package app

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/template"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"sigs.k8s.io/yaml"
)

// outputFormat checks -o (and the deprecated --json).
func (c *cli) outputFormat() (string, error) {
	if c.json {
		return "json", nil
	}
	switch f := c.output; {
	case f == "table", f == "wide", f == "json", f == "yaml":
		return f, nil
	case strings.HasPrefix(f, "go-template="):
		if _, err := parseTemplate(f); err != nil {
			return "", err
		}
		return f, nil
	}
	return "", usageErrorf("-o %q: want table, wide, json, yaml or go-template=TEMPLATE", c.output)
}

func parseTemplate(format string) (*template.Template, error) {
	t, err := template.New("output").Option("missingkey=zero").Parse(strings.TrimPrefix(format, "go-template="))
	if err != nil {
		return nil, usageErrorf("-o go-template: %v", err)
	}
	return t, nil
}

// writeOutput prints resp in format (see outputFormat).
func writeOutput(w io.Writer, resp proto.Message, format string) error {
	switch {
	case format == "json":
		return writeJSON(w, resp)
	case format == "yaml":
		b, err := protojson.Marshal(resp)
		if err != nil {
			return fmt.Errorf("encoding JSON: %w", err)
		}
		y, err := yaml.JSONToYAML(b)
		if err != nil {
			return fmt.Errorf("encoding YAML: %w", err)
		}
		_, err = w.Write(y)
		return err
	case strings.HasPrefix(format, "go-template="):
		t, err := parseTemplate(format)
		if err != nil {
			return err
		}
		b, err := protojson.Marshal(resp)
		if err != nil {
			return fmt.Errorf("encoding JSON: %w", err)
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		return t.Execute(w, v)
	}
	return writeTable(w, resp, format == "wide")
}
