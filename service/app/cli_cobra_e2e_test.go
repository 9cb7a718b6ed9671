package app_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/service/app"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// TestCLIContextsFormatsAndNewCommands runs the commands the cobra CLI
// added against a gateway: contexts, -o yaml and go-template, keys get,
// guardrails, cache, usage records, and the exit codes of failures.
func TestCLIContextsFormatsAndNewCommands(t *testing.T) {
	t.Parallel()
	gw := servertest.Start(t, servertest.Options{})
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "admin-token")
	if err := os.WriteFile(tokenFile, []byte(gw.AdminToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// No gateway or token in the environment: the context supplies both.
	c := cli{t: t, env: map[string]string{"TOLLGATE_CONFIG_DIR": filepath.Join(dir, "config")}}
	if code, _, errOut := c.run("teams", "list"); code != app.ExitAuth || !strings.Contains(errOut, "no credential") {
		t.Fatalf("teams list without a credential: exit %d, %q", code, errOut)
	}
	c.ok("context", "add", "local", "--url", gw.URL, "--token-file", tokenFile)
	if out := c.ok("context", "list"); !strings.Contains(out, "*") || !strings.Contains(out, "local") || !strings.Contains(out, "token") {
		t.Fatalf("context list:\n%s", out)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "config", "config.yaml")); err != nil || strings.Contains(string(b), gw.AdminToken) {
		t.Fatalf("config.yaml holds the token (or is unreadable: %v):\n%s", err, b)
	}
	c.ok("teams", "create", "search")
	// Global flags anywhere: before the group, between, after.
	if out := c.ok("-o", "yaml", "teams", "get", "search"); !strings.Contains(out, "id: search") {
		t.Fatalf("-o yaml:\n%s", out)
	}
	if out := c.ok("teams", "-o", "json", "list"); !strings.Contains(out, `"id": "search"`) {
		t.Fatalf("-o json:\n%s", out)
	}
	var created struct {
		Key struct {
			ID string `json:"id"`
		} `json:"key"`
	}
	if err := json.Unmarshal([]byte(c.ok("keys", "create", "--team", "search", "--tag", "project=atlas", "-o", "json")), &created); err != nil {
		t.Fatal(err)
	}
	if out := c.ok("keys", "get", created.Key.ID, "-o", "go-template={{.key.teamId}}/{{.key.state}}"); out != "search/KEY_STATE_ACTIVE" {
		t.Fatalf("keys get -o go-template = %q", out)
	}
	if out := c.ok("keys", "list", "-o", "wide"); !strings.Contains(out, "TAGS") || !strings.Contains(out, "project=atlas") {
		t.Fatalf("keys list -o wide:\n%s", out)
	}

	policy := filepath.Join(dir, "pii.yaml")
	if err := os.WriteFile(policy, []byte(`id: pii
attachKind: GUARDRAIL_ATTACH_KIND_TEAM
attachTo: search
guardrails:
  - name: emails
    kind: pii
    stage: GUARDRAIL_STAGE_BOTH
    mode: GUARDRAIL_MODE_MUTATE
`), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := c.ok("guardrails", "create", "--file", policy); !strings.Contains(out, "emails(pii)") || !strings.Contains(out, "team search") {
		t.Fatalf("guardrails create:\n%s", out)
	}
	if out := c.ok("guardrails", "list"); !strings.Contains(out, "pii") {
		t.Fatalf("guardrails list:\n%s", out)
	}
	c.ok("guardrails", "update", "--file", policy)
	if out := c.ok("cache", "stats"); !strings.Contains(out, "ENTRIES") {
		t.Fatalf("cache stats:\n%s", out)
	}
	if code, _, errOut := c.run("cache", "purge"); code != app.ExitUsage || !strings.Contains(errOut, "--yes") {
		t.Fatalf("cache purge without --yes: exit %d, %q", code, errOut)
	}
	if out := c.ok("cache", "purge", "--team", "search", "--yes"); !strings.Contains(out, "DELETED") {
		t.Fatalf("cache purge:\n%s", out)
	}
	if out := c.ok("usage", "records", "--since", "1h"); !strings.Contains(out, "REQUEST ID") {
		t.Fatalf("usage records:\n%s", out)
	}
	c.ok("guardrails", "delete", "pii", "--yes")

	failures := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"not found", []string{"guardrails", "get", "pii"}, app.ExitNotFound, "not_found"},
		{"exists", []string{"teams", "create", "search"}, app.ExitConflict, "already_exists"},
		{"etag mismatch", []string{"teams", "delete", "search", "--etag", "999", "--yes"}, app.ExitConflict, "failed_precondition"},
		{"bad token", []string{"teams", "list", "--token", "nope"}, app.ExitAuth, "unauthenticated"},
		{"bad number", []string{"limits", "set", "--id", "l", "--scope", "team", "--team", "search", "--rpm", "lots"}, app.ExitUsage, `invalid value "lots" for "--rpm": want a whole number`},
		{"bad output", []string{"teams", "list", "-o", "xml"}, app.ExitUsage, `-o "xml"`},
		{"unknown context", []string{"context", "use", "prod"}, app.ExitNotFound, `no context "prod"`},
	}
	for _, f := range failures {
		code, out, errOut := c.run(f.args...)
		if code != f.code || !strings.Contains(errOut, f.want) || out != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit %d and %q", f.name, code, out, errOut, f.code, f.want)
		}
		if strings.Contains(errOut, "strconv.") {
			t.Errorf("%s: stderr has a Go parser error: %q", f.name, errOut)
		}
	}
}

// TestServeFlagsStayGoFlags: serve keeps its settings' flag syntax
// (-addr, single dash) and its own help.
func TestServeFlagsStayGoFlags(t *testing.T) {
	t.Parallel()
	c := cli{t: t, env: map[string]string{}}
	code, _, errOut := c.run("serve", "-h")
	if code != app.ExitOK || !strings.Contains(errOut, "-addr") || !strings.Contains(errOut, "TOLLGATE_") {
		t.Fatalf("serve -h: exit %d\n%s", code, errOut)
	}
}
