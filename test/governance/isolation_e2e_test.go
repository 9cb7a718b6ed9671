package governance_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"connectrpc.com/connect"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/gen/tollgate/v1/tollgatev1connect"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/internal/testutil"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// TestTenantIsolation checks every UsageService read RPC: a key of team A
// reads team A's data only, is refused team B's, and never sees B's rows
// even without a filter.
func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	_, up := fakeupstream.StartOpenAI(t)
	g := servertest.Start(t, servertest.Options{})
	keyA := g.Setup(t, up)
	ctx := context.Background()
	if _, err := g.Admin.CreateTeam(ctx, connect.NewRequest(&tollgatev1.CreateTeamRequest{Team: &tollgatev1.Team{Id: "team-b"}})); err != nil {
		t.Fatal(err)
	}
	keyBID, keyB := g.CreateKey(t, "team-b")
	setBudget(t, g, &tollgatev1.Budget{Id: "b-budget", Scope: tollgatev1.GovernanceScope_GOVERNANCE_SCOPE_TEAM, TeamId: "team-b",
		Period: tollgatev1.BudgetPeriod_BUDGET_PERIOD_MONTHLY, Limit: usd(1_000_000_000)})
	setBudget(t, g, &tollgatev1.Budget{Id: "a-budget", Scope: tollgatev1.GovernanceScope_GOVERNANCE_SCOPE_TEAM, TeamId: servertest.TeamID,
		Period: tollgatev1.BudgetPeriod_BUDGET_PERIOD_MONTHLY, Limit: usd(1_000_000_000)})
	for _, k := range []string{keyA, keyB} {
		if _, err := client(g, k).Chat(ctx, connect.NewRequest(chatReq())); err != nil {
			t.Fatal(err)
		}
	}
	admin := tollgatev1connect.NewUsageServiceClient(http.DefaultClient, g.URL, connect.WithInterceptors(servertest.BearerInterceptor(g.AdminToken)))
	testutil.Eventually(t, func() error { // wait until both records are stored
		r, err := admin.ListRequestRecords(ctx, connect.NewRequest(&tollgatev1.ListRequestRecordsRequest{}))
		if err != nil {
			t.Fatal(err)
		}
		if n := len(r.Msg.GetRecords()); n != 2 {
			return fmt.Errorf("%d records stored, want 2", n)
		}
		return nil
	})
	a := tollgatev1connect.NewUsageServiceClient(http.DefaultClient, g.URL, connect.WithInterceptors(servertest.BearerInterceptor(keyA)))

	reads := []struct {
		name string
		// call reads with team ("" = no filter) and returns what it saw as text.
		call func(team string) (string, error)
	}{
		{"ListRequestRecords", func(team string) (string, error) {
			r, err := a.ListRequestRecords(ctx, connect.NewRequest(&tollgatev1.ListRequestRecordsRequest{TeamId: team}))
			if err != nil {
				return "", err
			}
			return r.Msg.String(), nil
		}},
		{"GetUsageSummary", func(team string) (string, error) {
			r, err := a.GetUsageSummary(ctx, connect.NewRequest(&tollgatev1.GetUsageSummaryRequest{TeamId: team,
				GroupBy: []tollgatev1.UsageDimension{tollgatev1.UsageDimension_USAGE_DIMENSION_TEAM, tollgatev1.UsageDimension_USAGE_DIMENSION_KEY}}))
			if err != nil {
				return "", err
			}
			return r.Msg.String(), nil
		}},
		{"GetBudgetStatus", func(team string) (string, error) {
			r, err := a.GetBudgetStatus(ctx, connect.NewRequest(&tollgatev1.GetBudgetStatusRequest{TeamId: team}))
			if err != nil {
				return "", err
			}
			return r.Msg.String(), nil
		}},
		{"ExportRequestRecords", func(team string) (string, error) {
			s, err := a.ExportRequestRecords(ctx, connect.NewRequest(&tollgatev1.ExportRequestRecordsRequest{TeamId: team, Format: tollgatev1.ExportFormat_EXPORT_FORMAT_JSON_LINES}))
			if err != nil {
				return "", err
			}
			var b strings.Builder
			for s.Receive() {
				b.Write(s.Msg().GetData())
			}
			return b.String(), s.Err()
		}},
		{"ListAdminAuditEvents", func(string) (string, error) {
			r, err := a.ListAdminAuditEvents(ctx, connect.NewRequest(&tollgatev1.ListAdminAuditEventsRequest{}))
			if err != nil {
				return "", err
			}
			return r.Msg.String(), nil
		}},
	}
	for _, rd := range reads {
		t.Run(rd.name, func(t *testing.T) {
			if rd.name == "ListAdminAuditEvents" {
				if _, err := rd.call(""); connect.CodeOf(err) != connect.CodePermissionDenied {
					t.Fatalf("a virtual key read the admin audit log: %v", err)
				}
				return
			}
			if _, err := rd.call("team-b"); connect.CodeOf(err) != connect.CodePermissionDenied {
				t.Fatalf("team A's key asking for team B: %v, want permission_denied", err)
			}
			own, err := rd.call("")
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(own, "team-b") || strings.Contains(own, keyBID) || strings.Contains(own, "b-budget") {
				t.Fatalf("team A's key saw team B's data:\n%s", own)
			}
			if !strings.Contains(own, servertest.TeamID) && !strings.Contains(own, "a-budget") {
				t.Fatalf("team A's key did not see its own data:\n%s", own)
			}
		})
	}
}
