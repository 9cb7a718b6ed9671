package app_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/service/app"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// TestCLIPagesEtagsAndMasks drives paging, etags and update masks through
// the CLI against a real gateway.
func TestCLIPagesEtagsAndMasks(t *testing.T) {
	t.Parallel()
	_, upURL := fakeupstream.StartOpenAI(t)
	gw := servertest.Start(t, servertest.Options{})
	gw.Setup(t, upURL)
	c := cli{t: t, env: map[string]string{"TOLLGATE_URL": gw.Addr, "TOLLGATE_ADMIN_TOKEN": gw.AdminToken}}

	for _, id := range []string{"page-a", "page-b", "page-c", "page-d"} {
		c.ok("teams", "create", id)
	}
	// Without --limit a list follows every page, however small.
	out := c.ok("teams", "list", "--page-size", "1")
	for _, id := range []string{"page-a", "page-b", "page-c", "page-d", servertest.TeamID} {
		if !strings.Contains(out, id) {
			t.Fatalf("teams list --page-size 1 lacks %s:\n%s", id, out)
		}
	}
	// With --limit it stops and says how to go on; the token continues
	// where it stopped.
	code, out, errOut := c.run("teams", "list", "--limit", "2")
	if code != app.ExitOK || !strings.Contains(out, "page-a") || !strings.Contains(out, "page-b") || strings.Contains(out, "page-c") {
		t.Fatalf("teams list --limit 2: exit %d\n%s\n%s", code, out, errOut)
	}
	tok := regexp.MustCompile(`--page-token (\S+)`).FindStringSubmatch(errOut)
	if tok == nil {
		t.Fatalf("teams list --limit 2 printed no token on stderr: %q", errOut)
	}
	if out := c.ok("teams", "list", "--page-token", tok[1], "--limit", "1"); !strings.Contains(out, "page-c") || strings.Contains(out, "page-b") {
		t.Fatalf("teams list from the token:\n%s", out)
	}
	// A token of another listing, or a made-up one, is refused.
	for _, args := range [][]string{
		{"providers", "list", "--page-token", tok[1]},
		{"teams", "list", "--page-token", "made-up"},
	} {
		if code, _, errOut := c.run(args...); code != app.ExitUsage || !strings.Contains(errOut, "invalid_argument") {
			t.Errorf("%v: exit %d, stderr %q; want invalid_argument", args, code, errOut)
		}
	}

	// Update masks: a model update changes only the fields named by flags.
	before := modelJSON(t, c, servertest.ChatModel)
	c.ok("models", "update", servertest.ChatModel, "--context-window", "64000", "--input-price", "0.25")
	after := modelJSON(t, c, servertest.ChatModel)
	if after.ContextWindow != 64000 || after.Pricing.InputPerMillion.Nanos != 250_000_000 ||
		after.Pricing.OutputPerMillion != before.Pricing.OutputPerMillion || after.ProviderID != before.ProviderID {
		t.Fatalf("models update: before %+v, after %+v", before, after)
	}
	// Etags: the one read before the update is stale now.
	if before.Etag == "" || before.Etag == after.Etag {
		t.Fatalf("etags before %q and after %q the update", before.Etag, after.Etag)
	}
	code, _, errOut = c.run("models", "update", servertest.ChatModel, "--context-window", "1", "--etag", before.Etag)
	if code != app.ExitConflict || !strings.Contains(errOut, "failed_precondition") {
		t.Fatalf("update with a stale etag: exit %d, stderr %q", code, errOut)
	}
	c.ok("models", "update", servertest.ChatModel, "--context-window", "32000", "--etag", after.Etag)

	// Routes: update one field, then delete with the current etag only.
	c.ok("routes", "create", "--name", "r1", "--target", servertest.ChatModel, "--timeout", "30s")
	var r struct {
		Route struct {
			Etag    string `json:"etag"`
			Timeout string `json:"timeout"`
			Targets []any  `json:"targets"`
		} `json:"route"`
	}
	if err := json.Unmarshal([]byte(c.ok("routes", "update", "r1", "--timeout", "10s", "--json")), &r); err != nil {
		t.Fatal(err)
	}
	if r.Route.Timeout != "10s" || len(r.Route.Targets) != 1 {
		t.Fatalf("routes update --timeout: %+v", r.Route)
	}
	if code, _, errOut := c.run("routes", "delete", "r1", "--etag", before.Etag, "--yes"); code != app.ExitConflict || !strings.Contains(errOut, "failed_precondition") {
		t.Fatalf("routes delete with another etag: exit %d, stderr %q", code, errOut)
	}
	c.ok("routes", "delete", "r1", "--etag", r.Route.Etag, "--yes")
}

type modelView struct {
	ProviderID    string `json:"providerId"`
	ContextWindow int    `json:"contextWindow"`
	Etag          string `json:"etag"`
	Pricing       struct {
		InputPerMillion  struct{ Nanos int64 } `json:"inputPerMillion"`
		OutputPerMillion struct{ Nanos int64 } `json:"outputPerMillion"`
	} `json:"pricing"`
}

func modelJSON(t *testing.T, c cli, name string) modelView {
	t.Helper()
	var resp struct {
		Model modelView `json:"model"`
	}
	if err := json.Unmarshal([]byte(c.ok("models", "get", name, "--json")), &resp); err != nil {
		t.Fatal(err)
	}
	return resp.Model
}
