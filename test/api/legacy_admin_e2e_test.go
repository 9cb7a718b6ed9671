package api_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"connectrpc.com/connect"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// TestLegacyAdminServicePaths: scripts written against the single
// tollgate.v1.AdminService (curl, the benchmark harness, grpcurl recipes)
// keep working through deprecated aliases that reach the same handlers,
// authorisation included.
func TestLegacyAdminServicePaths(t *testing.T) {
	gw := servertest.Start(t, servertest.Options{})
	post := func(t *testing.T, method, token, body string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, gw.URL+"/tollgate.v1.AdminService/"+method, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	tests := []struct {
		name, method, token, body string
		status                    int
		want                      string
	}{
		{"team service method", "CreateTeam", gw.AdminToken, `{"team":{"id":"legacy","displayName":"legacy"}}`, 200, `"id":"legacy"`},
		{"policy service method", "SetRateLimit", gw.AdminToken, `{"rateLimit":{"id":"lim-legacy","scope":"GOVERNANCE_SCOPE_TEAM","teamId":"legacy","requestsPerMinute":"10"}}`, 200, `"lim-legacy"`},
		{"catalog service method", "ListProviders", gw.AdminToken, `{}`, 200, `{`},
		{"no credentials", "ListTeams", "", `{}`, 401, `"unauthenticated"`},
		{"unknown method", "NoSuchMethod", gw.AdminToken, `{}`, 404, ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := post(t, tt.method, tt.token, tt.body)
			if resp.StatusCode != tt.status || !strings.Contains(body, tt.want) {
				t.Fatalf("%s: %d %s, want %d containing %q", tt.method, resp.StatusCode, body, tt.status, tt.want)
			}
			if tt.status == 200 && resp.Header.Get("Deprecation") != "true" {
				t.Errorf("%s: Deprecation header %q, want true", tt.method, resp.Header.Get("Deprecation"))
			}
		})
	}

	// A binary Connect client on the old path sees the team created above.
	c := connect.NewClient[tollgatev1.ListTeamsRequest, tollgatev1.ListTeamsResponse](http.DefaultClient,
		gw.URL+"/tollgate.v1.AdminService/ListTeams")
	req := connect.NewRequest(&tollgatev1.ListTeamsRequest{})
	req.Header().Set("Authorization", "Bearer "+gw.AdminToken)
	resp, err := c.CallUnary(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, tm := range resp.Msg.GetTeams() {
		found = found || tm.GetId() == "legacy"
	}
	if !found {
		t.Fatalf("ListTeams over the legacy path: %v, want team legacy", resp.Msg.GetTeams())
	}
}
