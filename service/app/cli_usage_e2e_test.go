package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	tollgate "github.com/tollgate-dev/tollgate/clients/go"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/internal/testutil"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// TestUsageReportHeadersAndTags: the report's columns name the grouped
// dimensions, --by tag and --by tag:KEY work, with a total row and each
// group's share of the cost.
func TestUsageReportHeadersAndTags(t *testing.T) {
	t.Parallel()
	_, upURL := fakeupstream.StartOpenAI(t)
	gw := servertest.Start(t, servertest.Options{})
	c := cli{t: t, env: map[string]string{
		"TOLLGATE_URL": gw.Addr, "TOLLGATE_ADMIN_TOKEN": gw.AdminToken, "UPSTREAM_KEY": servertest.UpstreamKey,
		"TOLLGATE_CONFIG_DIR": t.TempDir(),
	}}
	c.ok("providers", "add", "fake", "--type", "openai", "--base-url", upURL, "--credential-env", "UPSTREAM_KEY")
	c.ok("models", "add", "gpt-4o-mini", "--provider", "fake", "--input-price", "0.15", "--output-price", "0.60")
	c.ok("teams", "create", "search")
	chat := func(n int, args ...string) {
		t.Helper()
		var created struct {
			Secret string `json:"secret"`
		}
		out := c.ok(append([]string{"keys", "create", "--team", "search", "-o", "json"}, args...)...)
		if err := json.Unmarshal([]byte(out), &created); err != nil {
			t.Fatal(err)
		}
		key := tollgate.NewClient(gw.URL, created.Secret)
		for i := range n {
			if _, err := key.Chat(context.Background(), "gpt-4o-mini", fmt.Sprintf("report %d", i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	chat(3, "--tag", "project=atlas", "--tag", "env=prod")
	chat(1, "--tag", "project=zeus")
	chat(2, "--tag", "env=dev")
	chat(2)

	testutil.Eventually(t, func() error {
		if out := c.ok("usage", "report", "--since", "1h", "-o", "go-template={{.total.requests}}"); out != "8" {
			return fmt.Errorf("%s requests recorded, want 8", out)
		}
		return nil
	})

	out := c.ok("usage", "report", "--by", "team,tag:project", "--since", "1h")
	t.Logf("report:\n%s", out)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	header := strings.Fields(lines[0])
	if strings.Join(header, " ") != "TEAM TAG project REQUESTS ERRORS INPUT TOKENS OUTPUT TOKENS COST % OF COST" {
		t.Fatalf("header = %q", lines[0])
	}
	// Every request has the same cost, so the shares are request shares.
	want := map[string]string{"atlas": "3 0", "zeus": "1 0", "(none)": "4 0", "TOTAL": "8 0"}
	share := map[string]string{"atlas": "37.5 %", "zeus": "12.5 %", "(none)": "50.0 %", "TOTAL": "100.0 %"}
	seen := 0
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		label := f[1]
		if f[0] == "TOTAL" {
			label = "TOTAL"
		} else if f[0] != "search" {
			t.Errorf("row %q: team column %q", l, f[0])
		}
		w, ok := want[label]
		if !ok {
			t.Errorf("unexpected row %q", l)
			continue
		}
		seen++
		if got := f[2] + " " + f[3]; got != w {
			t.Errorf("row %s: requests, errors = %s, want %s", label, got, w)
		}
		if !strings.HasSuffix(l, share[label]) || !strings.Contains(l, "$0.0000") {
			t.Errorf("row %s = %q, want a cost in dollars and %s of it", label, l, share[label])
		}
	}
	if seen != 4 {
		t.Fatalf("report by team,tag:project:\n%s", out)
	}

	// --by tag: one group per tag (a request counts in each of its tags).
	code, out, errOut := c.run("usage", "report", "--by", "tag", "--since", "1h")
	if code != 0 || !strings.HasPrefix(out, "TAG ") || !strings.Contains(errOut, "counts in each tag's group") {
		t.Fatalf("report by tag: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, w := range []string{"project=atlas", "env=prod", "env=dev", "project=zeus", "TOTAL"} {
		if !strings.Contains(out, w) {
			t.Errorf("report by tag lacks %q:\n%s", w, out)
		}
	}
	// JSON carries the same groups as the table.
	var sum struct {
		Groups []struct {
			Keys     []string `json:"keys"`
			Requests string   `json:"requests"`
		} `json:"groups"`
	}
	if err := json.Unmarshal([]byte(c.ok("usage", "report", "--by", "tag:project", "--since", "1h", "-o", "json")), &sum); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, g := range sum.Groups {
		got[strings.Join(g.Keys, ",")] = g.Requests
	}
	if got["atlas"] != "3" || got["zeus"] != "1" || got["(none)"] != "4" || len(got) != 3 {
		t.Fatalf("report --by tag:project -o json groups = %v", got)
	}
	if code, _, errOut := c.run("usage", "report", "--by", "tag:"); code != 2 || !strings.Contains(errOut, "want tag:KEY") {
		t.Fatalf("--by tag: exit %d %q", code, errOut)
	}
}
