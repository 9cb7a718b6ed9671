package credref

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
)

// backend resolves the references of one scheme.
type backend interface {
	resolve(ctx context.Context, r Ref) (string, error)
}

// ErrNotConfigured means a scheme's backend has no configuration here
// (no Vault address, say).
var ErrNotConfigured = errors.New("credential backend not configured")

// envBackend reads environment variables.
type envBackend struct{ getenv func(string) string }

func (b envBackend) resolve(_ context.Context, r Ref) (string, error) {
	v := b.getenv(r.Name)
	if v == "" {
		return "", fmt.Errorf("%s: the environment variable is not set", r)
	}
	return v, nil
}

// maxFileBytes bounds a credential file.
const maxFileBytes = 64 << 10

// fileBackend reads files; a trailing new line is dropped.
type fileBackend struct{}

func (fileBackend) resolve(_ context.Context, r Ref) (string, error) {
	f, err := os.Open(r.Name)
	if err != nil {
		return "", fmt.Errorf("%s: %w", r, unwrapPath(err))
	}
	defer f.Close()
	b := make([]byte, maxFileBytes+1)
	n, err := f.Read(b)
	if err != nil && n == 0 {
		return "", fmt.Errorf("%s: the file is empty or unreadable", r)
	}
	if n > maxFileBytes {
		return "", fmt.Errorf("%s: the file is larger than %d bytes", r, maxFileBytes)
	}
	v := strings.TrimRight(string(b[:n]), "\r\n")
	clear(b)
	if v == "" {
		return "", fmt.Errorf("%s: the file is empty", r)
	}
	return v, nil
}

// unwrapPath drops the path from an *os.PathError (the reference already
// names it).
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// jsonField returns the string field name of a JSON object value. The
// error never quotes the value.
func jsonField(r Ref, value, name string) (string, error) {
	var m map[string]any
	if err := json.Unmarshal([]byte(value), &m); err != nil {
		return "", fmt.Errorf("%s: the secret is not a JSON object, so it has no field %q", r, name)
	}
	return field(r, m, name)
}

// field returns m[name] as a string.
func field(r Ref, m map[string]any, name string) (string, error) {
	v, ok := m[name]
	if !ok {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		return "", fmt.Errorf("%s: the secret has no field %q (fields: %s)", r, name, strings.Join(keys, ", "))
	}
	switch v := v.(type) {
	case string:
		if v == "" {
			return "", fmt.Errorf("%s: field %q is empty", r, name)
		}
		return v, nil
	case json.Number:
		return v.String(), nil
	}
	return "", fmt.Errorf("%s: field %q is not a string", r, name)
}
