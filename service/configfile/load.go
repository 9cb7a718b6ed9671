package configfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// Loaded is a configuration read from files, with where each resource was
// declared.
type Loaded struct {
	Config
	// Files are the files read, in order.
	Files []string
	// where maps "kind/index" to "file:line".
	where map[string]string
}

// Where returns "file:line" of the index-th resource of a section (e.g.
// "teams", 2), or "" when unknown.
func (l *Loaded) Where(section string, index int) string {
	return l.where[fmt.Sprintf("%s/%d", section, index)]
}

// yamlError is what go-yaml's errors carry: the token and the message.
type yamlError interface {
	GetToken() *token.Token
	GetMessage() string
}

// Load reads configuration from files and directories (every *.yaml and
// *.yml file directly in it, in name order; names starting with '.' are
// skipped, which leaves out the "..data" entries of a Kubernetes ConfigMap
// mount). Decoding is strict: an unknown field or a value of the wrong
// type is an error naming file:line. The result is not validated; call
// [Validate].
func Load(paths ...string) (*Loaded, error) {
	files, err := expand(paths)
	if err != nil {
		return nil, err
	}
	l := &Loaded{Files: files, where: map[string]string{}}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		if err := l.add(f, b); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// Parse reads configuration from one document's bytes; name is used in
// error messages.
func Parse(name string, b []byte) (*Loaded, error) {
	l := &Loaded{Files: []string{name}, where: map[string]string{}}
	if err := l.add(name, b); err != nil {
		return nil, err
	}
	return l, nil
}

// expand lists the files of paths.
func expand(paths []string) ([]string, error) {
	if len(paths) == 0 {
		return nil, errors.New("config: no file or directory given")
	}
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		var names []string
		for _, e := range entries {
			n := e.Name()
			if strings.HasPrefix(n, ".") || !(strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml")) {
				continue
			}
			// A ConfigMap mount's files are symlinks: follow them, skip directories.
			if st, err := os.Stat(filepath.Join(p, n)); err != nil || st.IsDir() {
				if err != nil && !errors.Is(err, fs.ErrNotExist) {
					return nil, fmt.Errorf("config: %w", err)
				}
				continue
			}
			names = append(names, n)
		}
		slices.Sort(names)
		if len(names) == 0 {
			return nil, fmt.Errorf("config: no *.yaml file in %s", p)
		}
		for _, n := range names {
			files = append(files, filepath.Join(p, n))
		}
	}
	return files, nil
}

// add decodes every document of one file into l.
func (l *Loaded) add(name string, b []byte) error {
	f, err := parser.ParseBytes(b, 0)
	if err != nil {
		return positioned(name, err)
	}
	for _, doc := range f.Docs {
		if doc.Body == nil {
			continue
		}
		var part Config
		if err := yaml.NodeToValue(doc.Body, &part, yaml.DisallowUnknownField(), yaml.UseJSONUnmarshaler()); err != nil {
			return positioned(name, err)
		}
		l.note(name, doc.Body, &part)
		l.Providers = append(l.Providers, part.Providers...)
		l.Models = append(l.Models, part.Models...)
		l.Routes = append(l.Routes, part.Routes...)
		l.Teams = append(l.Teams, part.Teams...)
		l.Keys = append(l.Keys, part.Keys...)
		l.Budgets = append(l.Budgets, part.Budgets...)
		l.RateLimits = append(l.RateLimits, part.RateLimits...)
		l.Guardrails = append(l.Guardrails, part.Guardrails...)
		l.Alerts = append(l.Alerts, part.Alerts...)
	}
	return nil
}

// note records the lines of the resources of one document, numbered after
// those already loaded.
func (l *Loaded) note(name string, body ast.Node, part *Config) {
	offset := map[string]int{
		"providers": len(l.Providers), "models": len(l.Models), "routes": len(l.Routes), "teams": len(l.Teams),
		"keys": len(l.Keys), "budgets": len(l.Budgets), "rate_limits": len(l.RateLimits),
		"guardrails": len(l.Guardrails), "alerts": len(l.Alerts),
	}
	m, ok := body.(*ast.MappingNode)
	if !ok {
		return
	}
	for _, mv := range m.Values {
		section := mv.Key.String()
		seq, ok := mv.Value.(*ast.SequenceNode)
		if !ok {
			continue
		}
		for i, v := range seq.Values {
			if tk := v.GetToken(); tk != nil && tk.Position != nil {
				l.where[fmt.Sprintf("%s/%d", section, offset[section]+i)] = fmt.Sprintf("%s:%d", name, tk.Position.Line)
			}
		}
	}
}

// positioned turns a go-yaml error into "file:line:col: message".
func positioned(name string, err error) error {
	var ye yamlError
	if errors.As(err, &ye) && ye.GetToken() != nil && ye.GetToken().Position != nil {
		p := ye.GetToken().Position
		return fmt.Errorf("%s:%d:%d: %s", name, p.Line, p.Column, ye.GetMessage())
	}
	return fmt.Errorf("%s: %w", name, err)
}
