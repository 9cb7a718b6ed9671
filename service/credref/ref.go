// Package credref resolves provider credentials given by reference rather
// than stored: "env:NAME", "file:/path", "vault:MOUNT/PATH#FIELD" (HashiCorp
// Vault or OpenBao KV v2), "aws-sm:SECRET_ID[#FIELD]" (AWS Secrets Manager)
// and "gcp-sm:projects/P/secrets/S[/versions/V][#FIELD]" (Google Secret
// Manager).
//
// A Manager resolves each provider's reference into memory when the
// provider is loaded, re-reads files when they change (a Kubernetes secret
// mount), refreshes every reference on a schedule and on demand, and tells
// the registry when a value changed so the provider's adapter is rebuilt.
// A failed refresh keeps the last good value, counts a failure in the
// metrics and raises an alert. Values live only in memory: they are never
// written to the database, returned by the API or logged; errors name the
// reference, never the value.
package credref

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// The schemes.
const (
	SchemeEnv   = "env"
	SchemeFile  = "file"
	SchemeVault = "vault"
	SchemeAWS   = "aws-sm"
	SchemeGCP   = "gcp-sm"
)

// Schemes lists the supported schemes.
var Schemes = []string{SchemeEnv, SchemeFile, SchemeVault, SchemeAWS, SchemeGCP}

// ErrInvalidRef means a reference is malformed.
var ErrInvalidRef = errors.New("invalid credential reference")

// Ref is a parsed reference.
type Ref struct {
	// Raw is the reference as written.
	Raw string
	// Scheme is one of Schemes.
	Scheme string
	// Name is what the scheme names: the variable, the file path, the
	// Vault "MOUNT/PATH", the AWS secret id or ARN, the GCP secret version.
	Name string
	// Field selects a field of a structured secret (Vault's data, a JSON
	// secret string); "" for the whole value.
	Field string
	// Version pins a Vault KV version (0: the latest).
	Version int
}

var (
	envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	gcpNameRE = regexp.MustCompile(`^projects/[^/]+/secrets/[^/]+(/versions/[^/]+)?$`)
)

// Parse parses and validates a reference.
func Parse(s string) (Ref, error) {
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok {
		return Ref{}, fmt.Errorf("%w %q: want SCHEME:NAME with a scheme of %s", ErrInvalidRef, s, strings.Join(Schemes, ", "))
	}
	r := Ref{Raw: s, Scheme: scheme}
	switch scheme {
	case SchemeEnv:
		if !envNameRE.MatchString(rest) {
			return Ref{}, fmt.Errorf("%w %q: want env:NAME with a variable name", ErrInvalidRef, s)
		}
		r.Name = rest
	case SchemeFile:
		if !path.IsAbs(rest) {
			return Ref{}, fmt.Errorf("%w %q: want file:/absolute/path", ErrInvalidRef, s)
		}
		r.Name = path.Clean(rest)
	case SchemeVault:
		name, query, _ := strings.Cut(rest, "?")
		name, r.Field, _ = strings.Cut(name, "#")
		mount, p, ok := strings.Cut(strings.Trim(name, "/"), "/")
		if !ok || mount == "" || p == "" || strings.Contains(p, "..") {
			return Ref{}, fmt.Errorf("%w %q: want vault:MOUNT/PATH#FIELD, e.g. vault:secret/openai#api_key", ErrInvalidRef, s)
		}
		r.Name = mount + "/" + p
		if query != "" {
			q, err := url.ParseQuery(query)
			v, verr := strconv.Atoi(q.Get("version"))
			if err != nil || len(q) != 1 || verr != nil || v <= 0 {
				return Ref{}, fmt.Errorf("%w %q: the only option is ?version=N", ErrInvalidRef, s)
			}
			r.Version = v
		}
	case SchemeAWS:
		r.Name, r.Field, _ = strings.Cut(rest, "#")
		if r.Name == "" {
			return Ref{}, fmt.Errorf("%w %q: want aws-sm:SECRET_ID_OR_ARN[#FIELD]", ErrInvalidRef, s)
		}
	case SchemeGCP:
		r.Name, r.Field, _ = strings.Cut(rest, "#")
		if !gcpNameRE.MatchString(r.Name) {
			return Ref{}, fmt.Errorf("%w %q: want gcp-sm:projects/P/secrets/S[/versions/V][#FIELD]", ErrInvalidRef, s)
		}
		if !strings.Contains(r.Name, "/versions/") {
			r.Name += "/versions/latest"
		}
	default:
		return Ref{}, fmt.Errorf("%w %q: unknown scheme %q; want one of %s", ErrInvalidRef, s, scheme, strings.Join(Schemes, ", "))
	}
	return r, nil
}

// String returns the reference as written.
func (r Ref) String() string { return r.Raw }
