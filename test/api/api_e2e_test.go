// Package api_test checks the API conventions every RPC follows, through the
// real server and Postgres: every List call pages with checked page tokens
// (AIP-158), every conditional write honours etags (AIP-154), and updates
// apply field masks (AIP-134).
package api_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/testutil"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/type/money"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	tollgate "github.com/tollgate-dev/tollgate/clients/go"
	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/internal/pgtest"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// fixture is a gateway with at least three of every resource.
type fixture struct {
	gw    *servertest.Gateway
	admin tollgate.AdminClient
	// key is a virtual key client of team-a; usage its UsageService client
	// with the admin token.
	key, usage *tollgate.Client
	keyIDs     []string
	// secret is the virtual key of key.
	secret string
}

func setup(t *testing.T) *fixture {
	t.Helper()
	_, upURL := fakeupstream.StartOpenAI(t)
	gw := servertest.Start(t, servertest.Options{})
	secret := gw.Setup(t, upURL)
	f := &fixture{gw: gw, admin: gw.Admin, key: tollgate.NewClient(gw.URL, secret), usage: tollgate.NewClient(gw.URL, gw.AdminToken), secret: secret}
	ctx := t.Context()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	usd := func(n int64) *money.Money { return &money.Money{CurrencyCode: "USD", Units: n} }
	for i := range 3 {
		n := fmt.Sprint(i)
		must(f.admin.CreateProvider(ctx, connect.NewRequest(&tollgatev1.CreateProviderRequest{
			Provider: &tollgatev1.Provider{Id: "p" + n, Type: tollgatev1.ProviderType_PROVIDER_TYPE_OPENAI_COMPATIBLE, BaseUrl: upURL}})))
		must(f.admin.CreateModel(ctx, connect.NewRequest(&tollgatev1.CreateModelRequest{
			Model: &tollgatev1.Model{Name: "m" + n, ProviderId: "p" + n}})))
		must(f.admin.CreateTeam(ctx, connect.NewRequest(&tollgatev1.CreateTeamRequest{Team: &tollgatev1.Team{Id: "t" + n}})))
		k, err := f.admin.CreateKey(ctx, connect.NewRequest(&tollgatev1.CreateKeyRequest{Key: &tollgatev1.VirtualKey{TeamId: "t0", Name: "k" + n}}))
		must(k, err)
		f.keyIDs = append(f.keyIDs, k.Msg.GetKey().GetId())
		must(f.admin.SetBudget(ctx, connect.NewRequest(&tollgatev1.SetBudgetRequest{Budget: &tollgatev1.Budget{
			Id: "b" + n, Scope: tollgatev1.GovernanceScope_GOVERNANCE_SCOPE_TEAM, TeamId: "t" + n,
			Period: tollgatev1.BudgetPeriod_BUDGET_PERIOD_MONTHLY, Limit: usd(100)}})))
		must(f.admin.SetRateLimit(ctx, connect.NewRequest(&tollgatev1.SetRateLimitRequest{RateLimit: &tollgatev1.RateLimit{
			Id: "l" + n, Scope: tollgatev1.GovernanceScope_GOVERNANCE_SCOPE_TEAM, TeamId: "t" + n, RequestsPerMinute: 1000}})))
		must(f.admin.CreateAlertWebhook(ctx, connect.NewRequest(&tollgatev1.CreateAlertWebhookRequest{Webhook: &tollgatev1.AlertWebhook{
			Id: "w" + n, Url: "https://hooks.example/" + n}})))
		must(f.admin.CreateRoute(ctx, connect.NewRequest(&tollgatev1.CreateRouteRequest{Route: &tollgatev1.Route{
			Name: "r" + n, Strategy: tollgatev1.RouteStrategy_ROUTE_STRATEGY_FALLBACK, Targets: []*tollgatev1.RouteTarget{{Model: "m" + n}}}})))
		must(f.admin.CreateGuardrailPolicy(ctx, connect.NewRequest(&tollgatev1.CreateGuardrailPolicyRequest{Policy: &tollgatev1.GuardrailPolicy{
			Id: "g" + n, AttachKind: tollgatev1.GuardrailAttachKind_GUARDRAIL_ATTACH_KIND_TEAM, AttachTo: "t" + n,
			Guardrails: []*tollgatev1.Guardrail{{Name: "size", Kind: "size", Config: mustStruct(t, map[string]any{"max_bytes": 100000})}}}})))
	}
	for i := range 3 {
		if _, err := f.key.Chat(ctx, servertest.ChatModel, fmt.Sprint("hello ", i)); err != nil {
			t.Fatal(err)
		}
	}
	// Request records are written in the background.
	testutil.Eventually(t, func() error {
		resp, err := f.usage.Usage.ListRequestRecords(ctx, connect.NewRequest(&tollgatev1.ListRequestRecordsRequest{}))
		if err != nil {
			t.Fatal(err)
		}
		if n := len(resp.Msg.GetRecords()); n < 3 {
			return fmt.Errorf("only %d request records", n)
		}
		return nil
	})
	return f
}

func mustStruct(t *testing.T, m map[string]any) *structpb.Struct {
	t.Helper()
	s, err := structpb.NewStruct(m)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// lister calls one List RPC with a page size and token, and returns the
// page's result ids and next token.
type lister func(ctx context.Context, size int32, token string) (ids []string, next string, err error)

// listOf makes a lister of a generated client method, sending copies of
// base with the page fields set. Results are identified by their id, name
// or request_id field.
func listOf[Req, Resp any](call func(context.Context, *connect.Request[Req]) (*connect.Response[Resp], error), base *Req) lister {
	return func(ctx context.Context, size int32, token string) ([]string, string, error) {
		req := proto.Clone(any(base).(proto.Message))
		m := req.ProtoReflect()
		m.Set(m.Descriptor().Fields().ByName("page_size"), protoreflect.ValueOfInt32(size))
		m.Set(m.Descriptor().Fields().ByName("page_token"), protoreflect.ValueOfString(token))
		resp, err := call(ctx, connect.NewRequest(any(req).(*Req)))
		if err != nil {
			return nil, "", err
		}
		r := any(resp.Msg).(proto.Message).ProtoReflect()
		var ids []string
		r.Range(func(f protoreflect.FieldDescriptor, v protoreflect.Value) bool {
			if f.IsList() && f.Kind() == protoreflect.MessageKind {
				for i := range v.List().Len() {
					ids = append(ids, idOf(v.List().Get(i).Message()))
				}
			}
			return true
		})
		return ids, r.Get(r.Descriptor().Fields().ByName("next_page_token")).String(), nil
	}
}

func idOf(m protoreflect.Message) string {
	for _, name := range []protoreflect.Name{"id", "name", "request_id"} {
		if f := m.Descriptor().Fields().ByName(name); f != nil {
			if v := m.Get(f); v.Interface() != nil {
				return fmt.Sprint(v.Interface())
			}
		}
	}
	return ""
}

// TestEveryListPaginates pages every List RPC one result at a time and
// checks that the pages add up to the whole listing, in order, and that
// tokens are checked: garbage, a token of another listing or of other
// filters, and a negative page size are INVALID_ARGUMENT.
func TestEveryListPaginates(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a, u := f.admin, f.usage.Usage
	hour := time.Now().Add(-time.Hour)
	tests := []struct {
		name string
		list lister
		// other is the same RPC with other filters, when it has filters.
		other lister
		min   int
	}{
		{"ListProviders", listOf(a.ListProviders, &tollgatev1.ListProvidersRequest{}), nil, 4},
		{"ListAllModels", listOf(a.ListAllModels, &tollgatev1.ListAllModelsRequest{}), nil, 5},
		{"ListRoutes", listOf(a.ListRoutes, &tollgatev1.ListRoutesRequest{}), nil, 3},
		{"ListTeams", listOf(a.ListTeams, &tollgatev1.ListTeamsRequest{}), nil, 4},
		{"ListKeys", listOf(a.ListKeys, &tollgatev1.ListKeysRequest{TeamId: "t0"}),
			listOf(a.ListKeys, &tollgatev1.ListKeysRequest{TeamId: "t0", IncludeRevoked: true}), 3},
		{"ListBudgets", listOf(a.ListBudgets, &tollgatev1.ListBudgetsRequest{}),
			listOf(a.ListBudgets, &tollgatev1.ListBudgetsRequest{TeamId: "t1"}), 3},
		{"ListRateLimits", listOf(a.ListRateLimits, &tollgatev1.ListRateLimitsRequest{}),
			listOf(a.ListRateLimits, &tollgatev1.ListRateLimitsRequest{TeamId: "t1"}), 3},
		{"ListAlertWebhooks", listOf(a.ListAlertWebhooks, &tollgatev1.ListAlertWebhooksRequest{}), nil, 3},
		{"ListGuardrailPolicies", listOf(a.ListGuardrailPolicies, &tollgatev1.ListGuardrailPoliciesRequest{}), nil, 3},
		{"InferenceService.ListModels", listOf(f.key.Inference.ListModels, &tollgatev1.ListModelsRequest{}), nil, 5},
		{"ListRequestRecords", listOf(u.ListRequestRecords, &tollgatev1.ListRequestRecordsRequest{}),
			listOf(u.ListRequestRecords, &tollgatev1.ListRequestRecordsRequest{Model: "nope"}), 3},
		{"ListAdminAuditEvents", listOf(u.ListAdminAuditEvents, &tollgatev1.ListAdminAuditEventsRequest{}),
			listOf(u.ListAdminAuditEvents, &tollgatev1.ListAdminAuditEventsRequest{StartTime: timestamppb.New(hour)}), 20},
	}
	ctx := t.Context()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			whole, next, err := tt.list(ctx, 0, "")
			if err != nil || next != "" {
				t.Fatalf("one page of the default size: next %q, err %v", next, err)
			}
			if len(whole) < tt.min {
				t.Fatalf("the listing has %d results, want at least %d: %v", len(whole), tt.min, whole)
			}
			var paged []string
			var firstToken string
			for page := 0; ; page++ {
				ids, tok, err := tt.list(ctx, 1, next)
				if err != nil {
					t.Fatalf("page %d: %v", page, err)
				}
				if len(ids) != 1 {
					t.Fatalf("page %d has %d results, want 1", page, len(ids))
				}
				paged = append(paged, ids...)
				if page == 0 {
					firstToken = tok
				}
				if next = tok; next == "" {
					break
				}
				if page > len(whole) {
					t.Fatal("more pages than results")
				}
			}
			if !slices.Equal(paged, whole) {
				t.Fatalf("pages of 1 = %v, the whole listing = %v", paged, whole)
			}
			// Bigger pages add up too.
			ids, tok, err := tt.list(ctx, 2, "")
			if err != nil || len(ids) != 2 || tok == "" {
				t.Fatalf("page of 2: %v, %q, %v", ids, tok, err)
			}
			rest, _, err := tt.list(ctx, 1000, tok)
			if err != nil || !slices.Equal(append(ids, rest...), whole) {
				t.Fatalf("page of 2 then the rest = %v + %v, %v; want %v", ids, rest, err, whole)
			}

			bad := map[string]func() error{
				"garbage token": func() error { _, _, err := tt.list(ctx, 1, "garbage"); return err },
				"cut token":     func() error { _, _, err := tt.list(ctx, 1, firstToken[:len(firstToken)-2]); return err },
				"altered token": func() error { _, _, err := tt.list(ctx, 1, flip(firstToken)); return err },
				"negative size": func() error { _, _, err := tt.list(ctx, -1, ""); return err },
				"another's token": func() error {
					_, _, err := otherListing(tt.name, tests[0].list, tests[1].list)(ctx, 1, firstToken)
					return err
				},
			}
			if tt.other != nil {
				bad["token with other filters"] = func() error { _, _, err := tt.other(ctx, 1, firstToken); return err }
			}
			for name, call := range bad {
				if err := call(); connect.CodeOf(err) != connect.CodeInvalidArgument {
					t.Errorf("%s: %v, want InvalidArgument", name, err)
				}
			}
		})
	}
}

// otherListing returns a lister of a different RPC than name.
func otherListing(name string, providers, models lister) lister {
	if name == "ListProviders" {
		return models
	}
	return providers
}

// flip changes one character in the middle of a token.
func flip(s string) string {
	b := []byte(s)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// TestEtags checks every conditional write: the etag read before another
// write is stale and the call fails with FAILED_PRECONDITION; the current
// etag works; what is not an etag is INVALID_ARGUMENT. It also checks that
// a second replica serves the same etags.
func TestEtags(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.admin
	ctx := t.Context()
	replica := servertest.Start(t, servertest.Options{DatabaseURL: f.gw.DatabaseURL})

	type resource struct {
		// etag reads the resource's current etag through admin a.
		etag func(a tollgate.AdminClient) (string, error)
		// touch writes the resource without an etag, so that an etag read
		// before is stale.
		touch func() error
		// write is the conditional write under test, with etag e.
		write func(e string) error
	}
	providerEtag := func(id string) func(tollgate.AdminClient) (string, error) {
		return func(a tollgate.AdminClient) (string, error) {
			r, err := a.GetProvider(ctx, connect.NewRequest(&tollgatev1.GetProviderRequest{Id: id}))
			return r.Msg.GetProvider().GetEtag(), err
		}
	}
	modelEtag := func(name string) func(tollgate.AdminClient) (string, error) {
		return func(a tollgate.AdminClient) (string, error) {
			r, err := a.GetModel(ctx, connect.NewRequest(&tollgatev1.GetModelRequest{Name: name}))
			return r.Msg.GetModel().GetEtag(), err
		}
	}
	routeEtag := func(name string) func(tollgate.AdminClient) (string, error) {
		return func(a tollgate.AdminClient) (string, error) {
			r, err := a.GetRoute(ctx, connect.NewRequest(&tollgatev1.GetRouteRequest{Name: name}))
			return r.Msg.GetRoute().GetEtag(), err
		}
	}
	policyEtag := func(id string) func(tollgate.AdminClient) (string, error) {
		return func(a tollgate.AdminClient) (string, error) {
			r, err := a.GetGuardrailPolicy(ctx, connect.NewRequest(&tollgatev1.GetGuardrailPolicyRequest{Id: id}))
			return r.Msg.GetPolicy().GetEtag(), err
		}
	}
	teamEtag := func(id string) func(tollgate.AdminClient) (string, error) {
		return func(a tollgate.AdminClient) (string, error) {
			r, err := a.GetTeam(ctx, connect.NewRequest(&tollgatev1.GetTeamRequest{Id: id}))
			return r.Msg.GetTeam().GetEtag(), err
		}
	}
	budgetEtag := func(id, team string) func(tollgate.AdminClient) (string, error) {
		return func(a tollgate.AdminClient) (string, error) {
			r, err := a.ListBudgets(ctx, connect.NewRequest(&tollgatev1.ListBudgetsRequest{TeamId: team}))
			for _, b := range r.Msg.GetBudgets() {
				if b.GetId() == id {
					return b.GetEtag(), err
				}
			}
			return "", fmt.Errorf("budget %s not listed: %w", id, err)
		}
	}
	limitEtag := func(id, team string) func(tollgate.AdminClient) (string, error) {
		return func(a tollgate.AdminClient) (string, error) {
			r, err := a.ListRateLimits(ctx, connect.NewRequest(&tollgatev1.ListRateLimitsRequest{TeamId: team}))
			for _, l := range r.Msg.GetRateLimits() {
				if l.GetId() == id {
					return l.GetEtag(), err
				}
			}
			return "", fmt.Errorf("rate limit %s not listed: %w", id, err)
		}
	}
	webhookEtag := func(a tollgate.AdminClient) (string, error) {
		r, err := a.ListAlertWebhooks(ctx, connect.NewRequest(&tollgatev1.ListAlertWebhooksRequest{}))
		for _, w := range r.Msg.GetWebhooks() {
			if w.GetId() == "w1" {
				return w.GetEtag(), err
			}
		}
		return "", fmt.Errorf("webhook w1 not listed: %w", err)
	}
	ok := func(_ any, err error) error { return err }
	setBudget := func(id, team, etag string, usd int64) error {
		return ok(a.SetBudget(ctx, connect.NewRequest(&tollgatev1.SetBudgetRequest{Budget: &tollgatev1.Budget{
			Id: id, Scope: tollgatev1.GovernanceScope_GOVERNANCE_SCOPE_TEAM, TeamId: team, Etag: etag,
			Period: tollgatev1.BudgetPeriod_BUDGET_PERIOD_MONTHLY, Limit: &money.Money{CurrencyCode: "USD", Units: usd}}})))
	}
	setLimit := func(id, team, etag string, rpm int64) error {
		return ok(a.SetRateLimit(ctx, connect.NewRequest(&tollgatev1.SetRateLimitRequest{RateLimit: &tollgatev1.RateLimit{
			Id: id, Scope: tollgatev1.GovernanceScope_GOVERNANCE_SCOPE_TEAM, TeamId: team, RequestsPerMinute: rpm, Etag: etag}})))
	}
	updateProvider := func(id, etag, url string) error {
		return ok(a.UpdateProvider(ctx, connect.NewRequest(&tollgatev1.UpdateProviderRequest{
			Provider: &tollgatev1.Provider{Id: id, BaseUrl: url, Etag: etag}, UpdateMask: mask("base_url")})))
	}
	updateModel := func(name, etag string, window int32) error {
		return ok(a.UpdateModel(ctx, connect.NewRequest(&tollgatev1.UpdateModelRequest{
			Model: &tollgatev1.Model{Name: name, ContextWindow: window, Etag: etag}, UpdateMask: mask("context_window")})))
	}
	updateRoute := func(name, etag string, timeout time.Duration) error {
		return ok(a.UpdateRoute(ctx, connect.NewRequest(&tollgatev1.UpdateRouteRequest{
			Route: &tollgatev1.Route{Name: name, Timeout: durationpb.New(timeout), Etag: etag}, UpdateMask: mask("timeout")})))
	}
	updatePolicy := func(id, etag, desc string) error {
		return ok(a.UpdateGuardrailPolicy(ctx, connect.NewRequest(&tollgatev1.UpdateGuardrailPolicyRequest{
			Policy: &tollgatev1.GuardrailPolicy{Id: id, Description: desc, Etag: etag}, UpdateMask: mask("description")})))
	}
	tests := map[string]resource{
		"UpdateProvider": {providerEtag("p1"), func() error { return updateProvider("p1", "", "http://127.0.0.1:1/v1") },
			func(e string) error { return updateProvider("p1", e, "http://127.0.0.1:2/v1") }},
		"DeleteProvider": {providerEtag("p2"), func() error { return updateProvider("p2", "", "http://127.0.0.1:3/v1") },
			func(e string) error {
				if err := ok(a.DeleteRoute(ctx, connect.NewRequest(&tollgatev1.DeleteRouteRequest{Name: "r2"}))); err != nil && connect.CodeOf(err) != connect.CodeNotFound {
					return err
				}
				if err := ok(a.DeleteModel(ctx, connect.NewRequest(&tollgatev1.DeleteModelRequest{Name: "m2"}))); err != nil && connect.CodeOf(err) != connect.CodeNotFound {
					return err
				}
				return ok(a.DeleteProvider(ctx, connect.NewRequest(&tollgatev1.DeleteProviderRequest{Id: "p2", Etag: e})))
			}},
		"UpdateModel": {modelEtag("m1"), func() error { return updateModel("m1", "", 1000) },
			func(e string) error { return updateModel("m1", e, 2000) }},
		"DeleteModel": {modelEtag("m0"), func() error { return updateModel("m0", "", 3000) },
			func(e string) error {
				if err := ok(a.DeleteRoute(ctx, connect.NewRequest(&tollgatev1.DeleteRouteRequest{Name: "r0"}))); err != nil && connect.CodeOf(err) != connect.CodeNotFound {
					return err
				}
				return ok(a.DeleteModel(ctx, connect.NewRequest(&tollgatev1.DeleteModelRequest{Name: "m0", Etag: e})))
			}},
		"UpdateRoute": {routeEtag("r1"), func() error { return updateRoute("r1", "", time.Second) },
			func(e string) error { return updateRoute("r1", e, 2*time.Second) }},
		"UpdateGuardrailPolicy": {policyEtag("g1"), func() error { return updatePolicy("g1", "", "one") },
			func(e string) error { return updatePolicy("g1", e, "two") }},
		"DeleteGuardrailPolicy": {policyEtag("g2"), func() error { return updatePolicy("g2", "", "three") },
			func(e string) error {
				return ok(a.DeleteGuardrailPolicy(ctx, connect.NewRequest(&tollgatev1.DeleteGuardrailPolicyRequest{Id: "g2", Etag: e})))
			}},
		"SetBudget": {budgetEtag("b1", "t1"), func() error { return setBudget("b1", "t1", "", 200) },
			func(e string) error { return setBudget("b1", "t1", e, 300) }},
		"DeleteBudget": {budgetEtag("b2", "t2"), func() error { return setBudget("b2", "t2", "", 400) },
			func(e string) error {
				return ok(a.DeleteBudget(ctx, connect.NewRequest(&tollgatev1.DeleteBudgetRequest{Id: "b2", Etag: e})))
			}},
		"SetRateLimit": {limitEtag("l1", "t1"), func() error { return setLimit("l1", "t1", "", 2000) },
			func(e string) error { return setLimit("l1", "t1", e, 3000) }},
		"DeleteRateLimit": {limitEtag("l2", "t2"), func() error { return setLimit("l2", "t2", "", 4000) },
			func(e string) error {
				return ok(a.DeleteRateLimit(ctx, connect.NewRequest(&tollgatev1.DeleteRateLimitRequest{Id: "l2", Etag: e})))
			}},
		"DeleteTeam": {teamEtag("t2"), nil, func(e string) error {
			return ok(a.DeleteTeam(ctx, connect.NewRequest(&tollgatev1.DeleteTeamRequest{Id: "t2", Etag: e})))
		}},
		"DeleteAlertWebhook": {webhookEtag, nil, func(e string) error {
			return ok(a.DeleteAlertWebhook(ctx, connect.NewRequest(&tollgatev1.DeleteAlertWebhookRequest{Id: "w1", Etag: e})))
		}},
	}
	// The tests write the same rows (DeleteBudget after SetBudget, ...):
	// run them in order.
	names := make([]string, 0, len(tests))
	for n := range tests {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		tt := tests[name]
		t.Run(name, func(t *testing.T) {
			before, err := tt.etag(a)
			if err != nil || before == "" {
				t.Fatalf("etag: %q, %v", before, err)
			}
			// The other replica serves the same etag.
			if other, err := tt.etag(replica.Admin); err != nil || other != before {
				t.Fatalf("replica's etag %q (%v), want %q", other, err, before)
			}
			if err := tt.write("not an etag!"); connect.CodeOf(err) != connect.CodeInvalidArgument {
				t.Errorf("write with a malformed etag: %v, want InvalidArgument", err)
			}
			// Versions never repeat across tables: another resource's etag
			// is never this one's.
			stale, err := providerEtag(servertest.ProviderID)(a)
			if err != nil {
				t.Fatal(err)
			}
			if tt.touch != nil {
				if err := tt.touch(); err != nil {
					t.Fatalf("touch: %v", err)
				}
				after, err := tt.etag(a)
				if err != nil || after == before {
					t.Fatalf("etag after a write = %q (%v), before %q: want a new one", after, err, before)
				}
				stale = before
			}
			if err := tt.write(stale); connect.CodeOf(err) != connect.CodeFailedPrecondition {
				t.Fatalf("write with a stale etag: %v, want FailedPrecondition", err)
			}
			current, err := tt.etag(a)
			if err != nil {
				t.Fatal(err)
			}
			if err := tt.write(current); err != nil {
				t.Fatalf("write with the current etag: %v", err)
			}
		})
	}
}

func mask(paths ...string) *fieldmaskpb.FieldMask { return &fieldmaskpb.FieldMask{Paths: paths} }

// TestUpdateMasks checks AIP-134 semantics on every Update RPC: a mask
// changes only its fields, an empty mask replaces the resource, and
// unknown, output-only and identity paths are INVALID_ARGUMENT.
func TestUpdateMasks(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.admin
	ctx := t.Context()

	// A route: one field, a nested field, then a full replacement.
	_, err := a.UpdateRoute(ctx, connect.NewRequest(&tollgatev1.UpdateRouteRequest{
		Route:      &tollgatev1.Route{Name: "r1", Retry: &tollgatev1.RetryPolicy{MaxAttempts: 4, BackoffMax: durationpb.New(time.Second)}, Sticky: true},
		UpdateMask: mask("retry.max_attempts"),
	}))
	if err != nil {
		t.Fatal(err)
	}
	got := getRoute(t, a, "r1")
	if got.GetRetry().GetMaxAttempts() != 4 || got.GetRetry().GetBackoffMax() != nil || got.GetSticky() || len(got.GetTargets()) != 1 {
		t.Fatalf("after a mask of retry.max_attempts: %v", got)
	}
	_, err = a.UpdateRoute(ctx, connect.NewRequest(&tollgatev1.UpdateRouteRequest{Route: &tollgatev1.Route{
		Name: "r1", Strategy: tollgatev1.RouteStrategy_ROUTE_STRATEGY_WEIGHTED,
		Targets: []*tollgatev1.RouteTarget{{Model: "m1", Weight: 1}, {Model: "m2", Weight: 3}},
	}}))
	if err != nil {
		t.Fatal(err)
	}
	if got := getRoute(t, a, "r1"); got.GetRetry() != nil || len(got.GetTargets()) != 2 || got.GetStrategy() != tollgatev1.RouteStrategy_ROUTE_STRATEGY_WEIGHTED {
		t.Fatalf("after a full replacement: %v", got)
	}
	// A guardrail policy: the description only.
	_, err = a.UpdateGuardrailPolicy(ctx, connect.NewRequest(&tollgatev1.UpdateGuardrailPolicyRequest{
		Policy: &tollgatev1.GuardrailPolicy{Id: "g1", Description: "new words"}, UpdateMask: mask("description"),
	}))
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.GetGuardrailPolicy(ctx, connect.NewRequest(&tollgatev1.GetGuardrailPolicyRequest{Id: "g1"}))
	if err != nil || p.Msg.GetPolicy().GetDescription() != "new words" || len(p.Msg.GetPolicy().GetGuardrails()) != 1 || p.Msg.GetPolicy().GetAttachTo() != "t1" {
		t.Fatalf("policy after a description update: %v, %v", p.Msg.GetPolicy(), err)
	}
	// A provider: its credential only, through the mask path "credential".
	_, err = a.UpdateProvider(ctx, connect.NewRequest(&tollgatev1.UpdateProviderRequest{
		Provider: &tollgatev1.Provider{Id: "p1"}, Credential: "sk-new", UpdateMask: mask("credential"),
	}))
	if err != nil {
		t.Fatal(err)
	}
	pr, err := a.GetProvider(ctx, connect.NewRequest(&tollgatev1.GetProviderRequest{Id: "p1"}))
	if err != nil || !pr.Msg.GetProvider().GetHasCredential() || pr.Msg.GetProvider().GetBaseUrl() == "" {
		t.Fatalf("provider after a credential update: %v, %v", pr.Msg.GetProvider(), err)
	}

	bad := []struct {
		name string
		call func() error
	}{
		{"unknown path", func() error {
			_, err := a.UpdateModel(ctx, connect.NewRequest(&tollgatev1.UpdateModelRequest{Model: &tollgatev1.Model{Name: "m1"}, UpdateMask: mask("colour")}))
			return err
		}},
		{"output-only path", func() error {
			_, err := a.UpdateModel(ctx, connect.NewRequest(&tollgatev1.UpdateModelRequest{Model: &tollgatev1.Model{Name: "m1"}, UpdateMask: mask("create_time")}))
			return err
		}},
		{"the name", func() error {
			_, err := a.UpdateRoute(ctx, connect.NewRequest(&tollgatev1.UpdateRouteRequest{Route: &tollgatev1.Route{Name: "r1"}, UpdateMask: mask("name")}))
			return err
		}},
		{"a path into a list", func() error {
			_, err := a.UpdateRoute(ctx, connect.NewRequest(&tollgatev1.UpdateRouteRequest{Route: &tollgatev1.Route{Name: "r1"}, UpdateMask: mask("targets.weight")}))
			return err
		}},
		{"star with more", func() error {
			_, err := a.UpdateGuardrailPolicy(ctx, connect.NewRequest(&tollgatev1.UpdateGuardrailPolicyRequest{Policy: &tollgatev1.GuardrailPolicy{Id: "g1"}, UpdateMask: mask("*", "description")}))
			return err
		}},
		{"immutable provider type", func() error {
			_, err := a.UpdateProvider(ctx, connect.NewRequest(&tollgatev1.UpdateProviderRequest{Provider: &tollgatev1.Provider{Id: "p1"}, UpdateMask: mask("type")}))
			return err
		}},
		{"an update that leaves an invalid resource", func() error {
			_, err := a.UpdateRoute(ctx, connect.NewRequest(&tollgatev1.UpdateRouteRequest{Route: &tollgatev1.Route{Name: "r1"}, UpdateMask: mask("targets")}))
			return err
		}},
	}
	for _, tt := range bad {
		if err := tt.call(); connect.CodeOf(err) != connect.CodeInvalidArgument {
			t.Errorf("%s: %v, want InvalidArgument", tt.name, err)
		}
	}
	// Missing resources are NOT_FOUND.
	if _, err := a.UpdateRoute(ctx, connect.NewRequest(&tollgatev1.UpdateRouteRequest{Route: &tollgatev1.Route{Name: "nope"}, UpdateMask: mask("sticky")})); connect.CodeOf(err) != connect.CodeNotFound {
		t.Errorf("update of a missing route: %v, want NotFound", err)
	}
}

func getRoute(t *testing.T, a tollgate.AdminClient, name string) *tollgatev1.Route {
	t.Helper()
	r, err := a.GetRoute(t.Context(), connect.NewRequest(&tollgatev1.GetRouteRequest{Name: name}))
	if err != nil {
		t.Fatal(err)
	}
	return r.Msg.GetRoute()
}

// TestAdminServicesNeedTheAdminToken checks the three admin services
// refuse a virtual key, valid or not, saying why once.
func TestAdminServicesNeedTheAdminToken(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := t.Context()
	for _, tt := range []struct{ name, token, want string }{
		{"valid virtual key", f.secret, "a virtual key cannot make admin calls"},
		{"unknown virtual key", "tg-not-admin", "unauthenticated: unknown API key"},
	} {
		bad := tollgate.NewAdminClient(http.DefaultClient, f.gw.URL, connect.WithInterceptors(servertest.BearerInterceptor(tt.token)))
		for name, call := range map[string]func() error{
			"CatalogService": func() error {
				_, err := bad.ListProviders(ctx, connect.NewRequest(&tollgatev1.ListProvidersRequest{}))
				return err
			},
			"TeamService": func() error {
				_, err := bad.ListTeams(ctx, connect.NewRequest(&tollgatev1.ListTeamsRequest{}))
				return err
			},
			"PolicyService": func() error {
				_, err := bad.ListBudgets(ctx, connect.NewRequest(&tollgatev1.ListBudgetsRequest{}))
				return err
			},
		} {
			err := call()
			if connect.CodeOf(err) != connect.CodeUnauthenticated || !strings.Contains(err.Error(), tt.want) ||
				strings.Count(err.Error(), "unauthenticated") != 1 {
				t.Errorf("%s with a %s: %v, want unauthenticated saying %q once", name, tt.name, err, tt.want)
			}
		}
	}
}
