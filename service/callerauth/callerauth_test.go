package callerauth

import (
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/service/jwtauth"
)

func TestGlob(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"system:serviceaccount:batch:*", "system:serviceaccount:batch:nightly", true},
		{"system:serviceaccount:batch:*", "system:serviceaccount:web:x", false},
		{"spiffe://prod.example/ns/*/sa/*", "spiffe://prod.example/ns/batch/sa/etl", true},
		{"spiffe://prod.example/ns/*/sa/*", "spiffe://other/ns/batch/sa/etl", false},
		{"exact", "exact", true},
		{"exact", "exactly", false},
		{"*", "", true},
		{"a*b*c", "abbc", true},
		{"a*b*c", "acb", false},
	}
	for _, tt := range tests {
		if got := glob(tt.pattern, tt.s); got != tt.want {
			t.Errorf("glob(%q, %q) = %v", tt.pattern, tt.s, got)
		}
	}
}

func TestMatches(t *testing.T) {
	t.Parallel()
	tok := &jwtauth.Token{Claims: map[string]any{"sub": "system:serviceaccount:batch:nightly",
		"kubernetes.io": map[string]any{"namespace": "batch"}, "groups": []any{"a", "ml-jobs"}}}
	if !matches(tok, map[string]string{"/kubernetes.io/namespace": "batch", "groups": "ml-*"}) {
		t.Fatal("nested and list claims should match")
	}
	if matches(tok, map[string]string{"/kubernetes.io/namespace": "web"}) || matches(tok, map[string]string{"missing": "*"}) {
		t.Fatal("mismatch accepted")
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	ok := IssuerConfig{Name: "c", Issuer: "https://issuer", Audiences: []string{"tollgate"}, Rules: []Rule{{Team: "batch"}}}
	tests := map[string]func(c *IssuerConfig){
		"bad name":         func(c *IssuerConfig) { c.Name = "Bad Name" },
		"no audience":      func(c *IssuerConfig) { c.Audiences = nil },
		"no rules":         func(c *IssuerConfig) { c.Rules = nil },
		"bad team":         func(c *IssuerConfig) { c.Rules = []Rule{{Team: ""}} },
		"both services":    func(c *IssuerConfig) { c.Rules = []Rule{{Team: "b", Service: "s", ServiceClaim: "x"}} },
		"bad clock skew":   func(c *IssuerConfig) { c.ClockSkew = "soon" },
		"too large a skew": func(c *IssuerConfig) { c.ClockSkew = "1h" },
	}
	for name, mutate := range tests {
		c := ok
		mutate(&c)
		if _, err := New(Config{Issuers: []IssuerConfig{c}}, Options{}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := New(Config{Issuers: []IssuerConfig{ok, ok}}, Options{}); err == nil || !strings.Contains(err.Error(), "unique") {
		t.Errorf("duplicate issuer: %v", err)
	}
	if _, err := New(Config{Issuers: []IssuerConfig{ok}}, Options{}); err != nil {
		t.Fatal(err)
	}
}
