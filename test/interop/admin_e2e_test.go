package interop_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/type/money"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	tollgate "github.com/tollgate-dev/tollgate/clients/go"
	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/internal/testutil"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// webhookURL is a receiver's secret; no read, audit event or log line may
// contain it (or its path).
const (
	webhookURL  = "https://hooks.example/services/T0AUDIT/B0AUDIT/hook-s3cr3t-path"
	webhookPath = "hook-s3cr3t-path"
)

// allAuditEvents follows ListAdminAuditEvents through all its pages.
func allAuditEvents(t *testing.T, usage *tollgate.Client, req *tollgatev1.ListAdminAuditEventsRequest) []*tollgatev1.AdminAuditEvent {
	t.Helper()
	var all []*tollgatev1.AdminAuditEvent
	for {
		resp, err := usage.Usage.ListAdminAuditEvents(context.Background(), connect.NewRequest(req))
		if err != nil {
			t.Fatalf("ListAdminAuditEvents: %v", err)
		}
		all = append(all, resp.Msg.GetEvents()...)
		if resp.Msg.GetNextPageToken() == "" {
			return all
		}
		req.PageToken = resp.Msg.GetNextPageToken()
	}
}

func TestAdminAuditEvents(t *testing.T) {
	t.Parallel()
	_, upURL := fakeupstream.StartOpenAI(t)
	gw := servertest.Start(t, servertest.Options{})
	gw.Setup(t, upURL)
	admin := tollgate.NewClient(gw.URL, gw.AdminToken)
	ctx := context.Background()

	const newCredential = "sk-rotated-S3CRET-9d1e"
	if _, err := admin.Admin.UpdateProvider(ctx, connect.NewRequest(&tollgatev1.UpdateProviderRequest{
		Provider:   &tollgatev1.Provider{Id: servertest.ProviderID, Type: tollgatev1.ProviderType_PROVIDER_TYPE_OPENAI, BaseUrl: upURL},
		Credential: newCredential, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"credential"}},
	})); err != nil {
		t.Fatalf("UpdateProvider: %v", err)
	}
	if _, err := admin.Admin.CreateAlertWebhook(ctx, connect.NewRequest(&tollgatev1.CreateAlertWebhookRequest{
		Webhook: &tollgatev1.AlertWebhook{Id: "ops", Url: webhookURL},
	})); err != nil {
		t.Fatalf("CreateAlertWebhook: %v", err)
	}
	if _, err := admin.Admin.SetBudget(ctx, connect.NewRequest(&tollgatev1.SetBudgetRequest{Budget: &tollgatev1.Budget{
		Id: "team-a-daily", Scope: tollgatev1.GovernanceScope_GOVERNANCE_SCOPE_TEAM, TeamId: servertest.TeamID,
		Period: tollgatev1.BudgetPeriod_BUDGET_PERIOD_DAILY, Limit: &money.Money{CurrencyCode: "USD", Units: 5},
	}})); err != nil {
		t.Fatalf("SetBudget: %v", err)
	}
	if _, err := admin.Admin.CreateRoute(ctx, connect.NewRequest(&tollgatev1.CreateRouteRequest{Route: &tollgatev1.Route{
		Name: "audited", Strategy: tollgatev1.RouteStrategy_ROUTE_STRATEGY_FALLBACK,
		Targets: []*tollgatev1.RouteTarget{{Model: servertest.ChatModel}},
	}})); err != nil {
		t.Fatalf("CreateRoute: %v", err)
	}
	// A failed write is recorded with its code; reads are not recorded.
	if _, err := admin.Admin.DeleteRoute(ctx, connect.NewRequest(&tollgatev1.DeleteRouteRequest{Name: "nope"})); connect.CodeOf(err) != connect.CodeNotFound {
		t.Fatalf("DeleteRoute(nope) = %v, want not_found", err)
	}
	if _, err := admin.Admin.ListTeams(ctx, connect.NewRequest(&tollgatev1.ListTeamsRequest{})); err != nil {
		t.Fatal(err)
	}

	events := allAuditEvents(t, admin, &tollgatev1.ListAdminAuditEventsRequest{PageSize: 3})
	type seen struct{ kind, id, outcome string }
	got := map[string]seen{}
	for i, e := range events {
		if i > 0 && e.GetId() >= events[i-1].GetId() {
			t.Errorf("events not newest first: %d after %d", e.GetId(), events[i-1].GetId())
		}
		if e.GetActor() != "admin-token" || e.GetTime() == nil || e.GetSummary() == "" {
			t.Errorf("event %d = %v", e.GetId(), e)
		}
		if strings.HasPrefix(e.GetAction(), "List") || strings.HasPrefix(e.GetAction(), "Get") {
			t.Errorf("read %s was audited", e.GetAction())
		}
		for _, secret := range []string{servertest.UpstreamKey, newCredential, webhookURL, webhookPath, "hooks.example/services"} {
			if strings.Contains(e.GetSummary(), secret) || strings.Contains(e.String(), secret) {
				t.Errorf("audit event %s contains a secret: %v", e.GetAction(), e)
			}
		}
		got[e.GetAction()+" "+e.GetResourceId()] = seen{e.GetResourceKind(), e.GetResourceId(), e.GetOutcome()}
	}
	want := map[string]seen{
		"CreateProvider " + servertest.ProviderID: {"provider", servertest.ProviderID, "ok"},
		"UpdateProvider " + servertest.ProviderID: {"provider", servertest.ProviderID, "ok"},
		"CreateModel " + servertest.ChatModel:     {"model", servertest.ChatModel, "ok"},
		"CreateTeam " + servertest.TeamID:         {"team", servertest.TeamID, "ok"},
		"CreateAlertWebhook ops":                  {"alert_webhook", "ops", "ok"},
		"SetBudget team-a-daily":                  {"budget", "team-a-daily", "ok"},
		"CreateRoute audited":                     {"route", "audited", "ok"},
		"DeleteRoute nope":                        {"route", "nope", "not_found"},
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("audit event %q = %+v, want %+v (all: %v)", k, got[k], w, got)
		}
	}
	createdKey := false
	for k := range got {
		createdKey = createdKey || strings.HasPrefix(k, "CreateKey ")
	}
	if !createdKey {
		t.Errorf("no CreateKey event in %v", got)
	}

	// Filters.
	if es := allAuditEvents(t, admin, &tollgatev1.ListAdminAuditEventsRequest{ResourceKind: "budget"}); len(es) != 1 || es[0].GetAction() != "SetBudget" {
		t.Errorf("resource_kind=budget: %v", es)
	}
	if es := allAuditEvents(t, admin, &tollgatev1.ListAdminAuditEventsRequest{StartTime: timestamppb.New(time.Now().Add(time.Hour))}); len(es) != 0 {
		t.Errorf("events from the future: %v", es)
	}

	// Only the admin token reads the audit log.
	_, secret := gw.CreateKey(t, servertest.TeamID)
	key := tollgate.NewClient(gw.URL, secret)
	if _, err := key.Usage.ListAdminAuditEvents(ctx, connect.NewRequest(&tollgatev1.ListAdminAuditEventsRequest{})); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Errorf("ListAdminAuditEvents with a virtual key = %v, want permission_denied", err)
	}

	// Nor do the gateway's own logs hold the secrets.
	logs := gw.Logs.String()
	for _, secret := range []string{servertest.UpstreamKey, newCredential, webhookPath} {
		if strings.Contains(logs, secret) {
			t.Errorf("gateway logs contain secret %q", secret)
		}
	}
}

func TestAlertWebhookURLNeverReturned(t *testing.T) {
	t.Parallel()
	gw := servertest.Start(t, servertest.Options{})
	ctx := context.Background()
	created, err := gw.Admin.CreateAlertWebhook(ctx, connect.NewRequest(&tollgatev1.CreateAlertWebhookRequest{Webhook: &tollgatev1.AlertWebhook{
		Id: "ops", Url: webhookURL, Kinds: []tollgatev1.AlertKind{tollgatev1.AlertKind_ALERT_KIND_BUDGET_THRESHOLD},
	}}))
	if err != nil {
		t.Fatalf("CreateAlertWebhook: %v", err)
	}
	listed, err := gw.Admin.ListAlertWebhooks(ctx, connect.NewRequest(&tollgatev1.ListAlertWebhooksRequest{}))
	if err != nil {
		t.Fatalf("ListAlertWebhooks: %v", err)
	}
	if len(listed.Msg.GetWebhooks()) != 1 {
		t.Fatalf("ListAlertWebhooks = %v", listed.Msg)
	}
	for name, w := range map[string]*tollgatev1.AlertWebhook{"create": created.Msg.GetWebhook(), "list": listed.Msg.GetWebhooks()[0]} {
		if w.GetUrl() != "" || strings.Contains(w.String(), webhookPath) {
			t.Errorf("%s returned the URL: %v", name, w)
		}
		if w.GetUrlHint() != "https://hooks.example" || w.GetId() != "ops" || len(w.GetKinds()) != 1 {
			t.Errorf("%s = %v, want id ops, url_hint https://hooks.example, one kind", name, w)
		}
	}
	// Invalid URLs are refused without being repeated.
	_, err = gw.Admin.CreateAlertWebhook(ctx, connect.NewRequest(&tollgatev1.CreateAlertWebhookRequest{Webhook: &tollgatev1.AlertWebhook{
		Id: "bad", Url: "ftp://hooks.example/s3cr3t-ftp",
	}}))
	if connect.CodeOf(err) != connect.CodeInvalidArgument || strings.Contains(err.Error(), "s3cr3t-ftp") {
		t.Errorf("CreateAlertWebhook(ftp://) = %v, want invalid_argument without the URL", err)
	}
}

// export runs ExportRequestRecords and returns the concatenated chunks.
func export(ctx context.Context, c *tollgate.Client, req *tollgatev1.ExportRequestRecordsRequest) (string, error) {
	stream, err := c.Usage.ExportRequestRecords(ctx, connect.NewRequest(req))
	if err != nil {
		return "", err
	}
	defer stream.Close()
	var b strings.Builder
	for stream.Receive() {
		b.Write(stream.Msg().GetData())
	}
	return b.String(), stream.Err()
}

func TestExportRequestRecords(t *testing.T) {
	t.Parallel()
	_, upURL := fakeupstream.StartOpenAI(t)
	gw := servertest.Start(t, servertest.Options{})
	secretA := gw.Setup(t, upURL)
	ctx := context.Background()
	if _, err := gw.Admin.CreateTeam(ctx, connect.NewRequest(&tollgatev1.CreateTeamRequest{Team: &tollgatev1.Team{Id: "team-b"}})); err != nil {
		t.Fatal(err)
	}
	_, secretB := gw.CreateKey(t, "team-b")
	keyA, keyB := tollgate.NewClient(gw.URL, secretA), tollgate.NewClient(gw.URL, secretB)
	admin := tollgate.NewClient(gw.URL, gw.AdminToken)
	for i, c := range []*tollgate.Client{keyA, keyA, keyB} {
		if _, err := c.Chat(ctx, servertest.ChatModel, "export me"); err != nil {
			t.Fatalf("chat %d: %v", i, err)
		}
	}

	// parse reads a CSV export into its header and rows.
	parse := func(t *testing.T, data string) ([]string, [][]string) {
		t.Helper()
		recs, err := csv.NewReader(strings.NewReader(data)).ReadAll()
		if err != nil || len(recs) == 0 {
			t.Fatalf("export is not CSV (%v):\n%s", err, data)
		}
		return recs[0], recs[1:]
	}
	col := func(header []string, name string) int {
		for i, h := range header {
			if h == name {
				return i
			}
		}
		t.Fatalf("no column %q in %q", name, header)
		return -1
	}

	// The records are written asynchronously: wait for all three.
	var header []string
	var rows [][]string
	testutil.Eventually(t, func() error {
		data, err := export(ctx, admin, &tollgatev1.ExportRequestRecordsRequest{Format: tollgatev1.ExportFormat_EXPORT_FORMAT_CSV})
		if err != nil {
			t.Fatalf("export as admin: %v", err)
		}
		if header, rows = parse(t, data); len(rows) != 3 {
			return fmt.Errorf("export does not hold 3 rows:\n%s", data)
		}
		return nil
	})
	if strings.Join(header[:4], ",") != "time,request_id,key_id,team_id" {
		t.Fatalf("header = %q", header)
	}
	team, model, status, cost, ts := col(header, "team_id"), col(header, "requested_model"), col(header, "status"), col(header, "cost_nanos"), col(header, "time")
	teams := map[string]int{}
	for i, r := range rows {
		teams[r[team]]++
		if r[model] != servertest.ChatModel || r[status] != "REQUEST_STATUS_OK" || r[cost] == "0" || r[cost] == "" {
			t.Errorf("row %d = %q", i, r)
		}
		if i > 0 && r[ts] < rows[i-1][ts] {
			t.Errorf("rows not oldest first: %q after %q", r[ts], rows[i-1][ts])
		}
	}
	if teams[servertest.TeamID] != 2 || teams["team-b"] != 1 {
		t.Errorf("rows per team = %v, want 2 of %s and 1 of team-b", teams, servertest.TeamID)
	}

	// A virtual key gets its own team's rows only, asked for or not.
	for _, req := range []*tollgatev1.ExportRequestRecordsRequest{{}, {TeamId: servertest.TeamID}} {
		data, err := export(ctx, keyA, req)
		if err != nil {
			t.Fatalf("export with team %q as key A: %v", req.GetTeamId(), err)
		}
		h, rs := parse(t, data)
		if len(rs) != 2 {
			t.Fatalf("key A export (team %q) has %d rows, want 2:\n%s", req.GetTeamId(), len(rs), data)
		}
		for _, r := range rs {
			if r[col(h, "team_id")] != servertest.TeamID {
				t.Errorf("key A saw another team's row: %q", r)
			}
		}
	}
	data, err := export(ctx, keyB, &tollgatev1.ExportRequestRecordsRequest{Format: tollgatev1.ExportFormat_EXPORT_FORMAT_JSON_LINES})
	if err != nil {
		t.Fatalf("export as key B: %v", err)
	}
	if lines := strings.Split(strings.TrimSpace(data), "\n"); len(lines) != 1 || !strings.Contains(lines[0], `"teamId":"team-b"`) {
		t.Errorf("key B JSON-lines export:\n%s", data)
	}
	if _, err := export(ctx, keyA, &tollgatev1.ExportRequestRecordsRequest{TeamId: "team-b"}); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Errorf("key A exporting team-b = %v, want permission_denied", err)
	}
	if _, err := export(ctx, tollgate.NewClient(gw.URL, "tg-not-a-key"), &tollgatev1.ExportRequestRecordsRequest{}); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Errorf("export with a bad key = %v, want unauthenticated", err)
	}
}

func TestCreateModelTakesListPrice(t *testing.T) {
	t.Parallel()
	_, upURL := fakeupstream.StartOpenAI(t)
	gw := servertest.Start(t, servertest.Options{})
	gw.Setup(t, upURL)
	ctx := context.Background()
	usd := func(nanos int32) *money.Money { return &money.Money{CurrencyCode: "USD", Nanos: nanos} }
	tests := []struct {
		name  string
		model *tollgatev1.Model
		want  *tollgatev1.ModelPricing // nil: no price
	}{
		{
			name:  "upstream model name",
			model: &tollgatev1.Model{Name: "cheap-chat", ProviderId: servertest.ProviderID, UpstreamModel: "gpt-4o-mini"},
			want:  &tollgatev1.ModelPricing{InputPerMillion: usd(150_000_000), OutputPerMillion: usd(600_000_000), CachedInputPerMillion: usd(75_000_000)},
		},
		{
			name:  "dated snapshot of a known model",
			model: &tollgatev1.Model{Name: "gpt-4o-mini-2024-07-18", ProviderId: servertest.ProviderID},
			want:  &tollgatev1.ModelPricing{InputPerMillion: usd(150_000_000), OutputPerMillion: usd(600_000_000), CachedInputPerMillion: usd(75_000_000)},
		},
		{
			name:  "an explicit price wins",
			model: &tollgatev1.Model{Name: "discounted", ProviderId: servertest.ProviderID, UpstreamModel: "gpt-4o-mini", Pricing: &tollgatev1.ModelPricing{InputPerMillion: usd(1), OutputPerMillion: usd(2)}},
			want:  &tollgatev1.ModelPricing{InputPerMillion: usd(1), OutputPerMillion: usd(2)},
		},
	}
	for _, tt := range tests {
		resp, err := gw.Admin.CreateModel(ctx, connect.NewRequest(&tollgatev1.CreateModelRequest{Model: tt.model}))
		if err != nil {
			t.Fatalf("%s: CreateModel: %v", tt.name, err)
		}
		got, err := gw.Admin.GetModel(ctx, connect.NewRequest(&tollgatev1.GetModelRequest{Name: tt.model.GetName()}))
		if err != nil {
			t.Fatalf("%s: GetModel: %v", tt.name, err)
		}
		for _, p := range []*tollgatev1.ModelPricing{resp.Msg.GetModel().GetPricing(), got.Msg.GetModel().GetPricing()} {
			for _, f := range []struct {
				field     string
				got, want *money.Money
			}{
				{"input", p.GetInputPerMillion(), tt.want.GetInputPerMillion()},
				{"output", p.GetOutputPerMillion(), tt.want.GetOutputPerMillion()},
				{"cached input", p.GetCachedInputPerMillion(), tt.want.GetCachedInputPerMillion()},
			} {
				if f.got.GetUnits() != f.want.GetUnits() || f.got.GetNanos() != f.want.GetNanos() {
					t.Errorf("%s: %s price = %v, want %v", tt.name, f.field, f.got, f.want)
				}
			}
		}
	}
}
