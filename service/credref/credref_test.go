package credref_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/tollgate-dev/tollgate/internal/secretfake"
	"github.com/tollgate-dev/tollgate/service/credref"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in                  string
		scheme, name, field string
		version             int
		wantErr             bool
	}{
		{in: "env:OPENAI_KEY", scheme: "env", name: "OPENAI_KEY"},
		{in: "file:/var/run/secrets/openai/key", scheme: "file", name: "/var/run/secrets/openai/key"},
		{in: "vault:secret/llm/openai#api_key", scheme: "vault", name: "secret/llm/openai", field: "api_key"},
		{in: "vault:kv/openai#key?version=3", scheme: "vault", name: "kv/openai", field: "key", version: 3},
		{in: "aws-sm:prod/openai#api_key", scheme: "aws-sm", name: "prod/openai", field: "api_key"},
		{in: "aws-sm:arn:aws:secretsmanager:eu-west-1:1:secret:x", scheme: "aws-sm", name: "arn:aws:secretsmanager:eu-west-1:1:secret:x"},
		{in: "gcp-sm:projects/p/secrets/openai", scheme: "gcp-sm", name: "projects/p/secrets/openai/versions/latest"},
		{in: "gcp-sm:projects/p/secrets/openai/versions/4#k", scheme: "gcp-sm", name: "projects/p/secrets/openai/versions/4", field: "k"},
		{in: "sk-literal", wantErr: true},
		{in: "env:", wantErr: true},
		{in: "env:1BAD", wantErr: true},
		{in: "file:relative/path", wantErr: true},
		{in: "vault:secret", wantErr: true},
		{in: "vault:secret/x?v=1", wantErr: true},
		{in: "aws-sm:", wantErr: true},
		{in: "gcp-sm:my-secret", wantErr: true},
		{in: "k8s:whatever", wantErr: true},
	}
	for _, tt := range tests {
		r, err := credref.Parse(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("Parse(%q) err = %v", tt.in, err)
			continue
		}
		if err != nil {
			if !errors.Is(err, credref.ErrInvalidRef) {
				t.Errorf("Parse(%q) err %v is not ErrInvalidRef", tt.in, err)
			}
			continue
		}
		if r.Scheme != tt.scheme || r.Name != tt.name || r.Field != tt.field || r.Version != tt.version {
			t.Errorf("Parse(%q) = %+v", tt.in, r)
		}
	}
}

func TestEveryBackend(t *testing.T) { // not parallel: it sets the environment
	vault := secretfake.StartVault(t)
	vault.Put("secret/llm/openai", map[string]any{"api_key": "sk-vault-v1"})
	vault.Put("secret/llm/openai", map[string]any{"api_key": "sk-vault-v2"})
	vault.AddAppRole("role-1", "secret-1")
	jwtFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(jwtFile, []byte("k8s.sa.jwt\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	vault.AddKubernetesRole("tollgate", "k8s.sa.jwt")
	aws := secretfake.StartAWS(t)
	aws.Put("prod/openai", `{"api_key":"sk-aws"}`)
	aws.Put("plain", "sk-aws-plain")
	gcp := secretfake.StartGCP(t)
	gcp.Put("projects/p/secrets/anthropic", "sk-gcp\n")
	file := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(file, []byte("sk-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDFAKE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "fake")
	t.Setenv("AWS_REGION", "us-east-1")

	base := credref.Config{
		Getenv: func(k string) string { return map[string]string{"OPENAI_KEY": "sk-env"}[k] },
		AWS:    credref.AWSConfig{Endpoint: aws.URL},
		GCP:    credref.GCPConfig{Endpoint: gcp.URL, TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "ya29.fake-access-token"})},
	}
	for _, auth := range []credref.VaultConfig{
		{Addr: vault.URL, Auth: "token", Token: vault.RootToken},
		{Addr: vault.URL, Auth: "approle", RoleID: "role-1", SecretID: "secret-1"},
		{Addr: vault.URL, Auth: "kubernetes", Role: "tollgate", JWTFile: jwtFile},
	} {
		cfg := base
		cfg.Vault = auth
		m := credref.NewManager(cfg)
		for ref, want := range map[string]string{
			"env:OPENAI_KEY":                            "sk-env",
			"file:" + file:                              "sk-file",
			"vault:secret/llm/openai#api_key":           "sk-vault-v2",
			"vault:secret/llm/openai#api_key?version=1": "sk-vault-v1",
			"vault:secret/llm/openai":                   "sk-vault-v2", // one field: no #FIELD needed
			"aws-sm:prod/openai#api_key":                "sk-aws",
			"aws-sm:plain":                              "sk-aws-plain",
			"gcp-sm:projects/p/secrets/anthropic":       "sk-gcp",
		} {
			got, err := m.Credential(context.Background(), "p-"+ref, ref)
			if err != nil || got != want {
				t.Errorf("%s (vault auth %s): %q, %v; want %q", ref, auth.Auth, got, err, want)
			}
		}
	}
	// Errors name the reference and never a value.
	m := credref.NewManager(base)
	for _, ref := range []string{"env:MISSING", "vault:secret/x#y", "aws-sm:nope", "aws-sm:prod/openai#nope", "gcp-sm:projects/p/secrets/nope", "file:/nonexistent"} {
		_, err := m.Credential(context.Background(), ref, ref)
		if err == nil || !strings.Contains(err.Error(), ref) || strings.Contains(err.Error(), "sk-") {
			t.Errorf("%s: err = %v", ref, err)
		}
	}
	// The Google backend with Application Default Credentials from a
	// service-account key (its token_uri is the fake's).
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", gcp.CredentialsFile)
	adc := credref.NewManager(credref.Config{GCP: credref.GCPConfig{Endpoint: gcp.URL}})
	if got, err := adc.Credential(context.Background(), "g", "gcp-sm:projects/p/secrets/anthropic"); err != nil || got != "sk-gcp" {
		t.Fatalf("gcp with ADC: %q, %v", got, err)
	}
}

func TestRefreshKeepsLastGoodValueAndReportsChanges(t *testing.T) {
	t.Parallel()
	vault := secretfake.StartVault(t)
	vault.Put("secret/openai", map[string]any{"key": "sk-one"})
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	m := credref.NewManager(credref.Config{Vault: credref.VaultConfig{Addr: vault.URL, Token: vault.RootToken}, Now: clock})
	var changed []string
	var failures []credref.Status
	m.OnChange(func(id string) { changed = append(changed, id) })
	m.OnFailure(func(_ context.Context, s credref.Status) { failures = append(failures, s) })
	ctx := context.Background()
	if v, err := m.Credential(ctx, "openai", "vault:secret/openai#key"); err != nil || v != "sk-one" {
		t.Fatal(v, err)
	}
	vault.Fail(true)
	st := m.Refresh(ctx, "")
	if len(failures) != 1 || st[0].Failures != 1 || !st[0].Resolved || st[0].Err == "" {
		t.Fatalf("after a failed refresh: %+v, failures %v", st, failures)
	}
	if v, _ := m.Credential(ctx, "openai", "vault:secret/openai#key"); v != "sk-one" {
		t.Fatalf("last good value lost: %q", v)
	}
	vault.Fail(false)
	vault.Put("secret/openai", map[string]any{"key": "sk-two"})
	st = m.Refresh(ctx, "openai")
	if st[0].Failures != 0 || st[0].Err != "" || len(changed) != 1 {
		t.Fatalf("after recovery: %+v, changed %v", st, changed)
	}
	if v, _ := m.Credential(ctx, "openai", "vault:secret/openai#key"); v != "sk-two" {
		t.Fatalf("new value not used: %q", v)
	}
	m.Refresh(ctx, "")
	if len(changed) != 1 {
		t.Fatalf("an unchanged value was reported as changed: %v", changed)
	}
}

func TestFileChangesArePickedUp(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "key")
	if err := os.WriteFile(file, []byte("sk-before"), 0o600); err != nil {
		t.Fatal(err)
	}
	m := credref.NewManager(credref.Config{FilePoll: 20 * time.Millisecond})
	changed := make(chan string, 4)
	m.OnChange(func(id string) { changed <- id })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := m.Credential(ctx, "p", "file:"+file); err != nil {
		t.Fatal(err)
	}
	go m.Run(ctx) //nolint:errcheck // stops with ctx
	// A Kubernetes secret mount swaps a symlink; a rename does the same.
	tmp := filepath.Join(dir, "key.new")
	if err := os.WriteFile(tmp, []byte("sk-after\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, file); err != nil {
		t.Fatal(err)
	}
	select {
	case id := <-changed:
		if id != "p" {
			t.Fatalf("changed %q", id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("file change not noticed")
	}
	if v, _ := m.Credential(ctx, "p", "file:"+file); v != "sk-after" {
		t.Fatalf("value = %q", v)
	}
}
