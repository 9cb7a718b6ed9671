package clients

import (
	"os"
	"path/filepath"
	"testing"
)

// testCLI builds the tollgate binary and runs the shell blocks of the
// top-level README's Clients section (the CLI's examples) against the
// gateway, with the admin token and address in the environment as the
// README says.
func (f *fixture) testCLI(t *testing.T) {
	ctx := toolContext(t)
	blocks, err := readBlocks(filepath.Join(f.root, "README.md"), "## Clients")
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	run(t, command(ctx, f.root, []string{"GOWORK=off"}, "go", "build", "-o", filepath.Join(bin, "tollgate"), "./cmd/tollgate"))
	env := []string{
		"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"TOLLGATE_URL=" + f.gw.URL,
		"TOLLGATE_ADMIN_TOKEN=" + f.gw.AdminToken,
		"SLACK_WEBHOOK_URL=https://hooks.slack.example/services/T0/B0/readme",
		// The README creates its providers with these (a reader's keys).
		"OPENAI_API_KEY=sk-readme-openai", "ANTHROPIC_API_KEY=sk-readme-anthropic",
	}
	dir := t.TempDir()
	ran := 0
	for _, b := range blocks {
		if b.Lang == "sh" {
			runBlock(t, ctx, dir, env, b)
			ran++
		}
	}
	if ran == 0 {
		t.Fatal("the README's Clients section has no sh block")
	}
}
