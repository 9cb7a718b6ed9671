package identity_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	tollgate "github.com/tollgate-dev/tollgate/clients/go"
	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/service/server"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// TestAuditAnswersAuditors plays the scripted sequence: an SSO admin
// creates a key, a service account rotates it, a viewer tries to revoke it
// and is refused. The audit log then names three actors by subject, the
// key id on every event, and the refused attempt; usage records of the key
// name who created it.
func TestAuditAnswersAuditors(t *testing.T) {
	t.Parallel()
	_, upURL := fakeupstream.StartOpenAI(t)
	op, g := startSSO(t, nil)
	ctx := context.Background()
	g.Setup(t, upURL) // a provider, models and team-a, by the admin token
	alice := op.Login(t, "alice").IDToken
	vera := op.Login(t, "vera").IDToken

	// The break-glass owner makes a service account that may rotate keys.
	owner := g.Admin
	must[*connect.Response[tollgatev1.CreateServiceAccountResponse]](t, "service account")(owner.CreateServiceAccount(ctx, connect.NewRequest(&tollgatev1.CreateServiceAccountRequest{
		ServiceAccount: &tollgatev1.ServiceAccount{Id: "ci-rotator", Description: "rotates keys nightly", Owner: "platform@example.com", Roles: []string{"admin"}}})))
	tok := must[*connect.Response[tollgatev1.CreateServiceAccountTokenResponse]](t, "token")(owner.CreateServiceAccountToken(ctx, connect.NewRequest(&tollgatev1.CreateServiceAccountTokenRequest{
		ServiceAccountId: "ci-rotator", Name: "nightly", Ttl: durationpb.New(24 * time.Hour)}))).Msg
	if !strings.HasPrefix(tok.GetSecret(), "tga-") || tok.GetToken().GetCreatedBy() != "admin-token" {
		t.Fatalf("token = %v", tok.GetToken())
	}
	start := time.Now().Add(-time.Second)

	// 1. The SSO admin creates a key.
	created := createKey(t, as(g, alice), servertest.TeamID)
	keyID := created.GetKey().GetId()
	// 2. The service account rotates it.
	must[*connect.Response[tollgatev1.RotateKeyResponse]](t, "rotate by the service account")(as(g, tok.GetSecret()).RotateKey(ctx, connect.NewRequest(&tollgatev1.RotateKeyRequest{Id: keyID})))
	// 3. The viewer tries to revoke it.
	_, err := as(g, vera).RevokeKey(ctx, connect.NewRequest(&tollgatev1.RevokeKeyRequest{Id: keyID}))
	wantCode(t, "viewer revokes", err, connect.CodePermissionDenied)

	evs := must[*connect.Response[tollgatev1.ListAdminAuditEventsResponse]](t, "audit")(usageAs(g, vera).ListAdminAuditEvents(ctx, connect.NewRequest(&tollgatev1.ListAdminAuditEventsRequest{
		StartTime: timestamppb.New(start), ResourceId: keyID}))).Msg.GetEvents()
	if len(evs) != 3 {
		t.Fatalf("%d events for key %s: %v", len(evs), keyID, evs)
	}
	slices.Reverse(evs) // oldest first
	want := []struct{ action, actor, typ, subject, name, role, outcome string }{
		{"CreateKey", "user:sub-alice", "user", "sub-alice", "alice@example.com", "admin", "ok"},
		{"RotateKey", "service-account:ci-rotator", "service_account", "ci-rotator", "ci-rotator", "admin", "ok"},
		{"RevokeKey", "user:sub-vera", "user", "sub-vera", "vera@example.com", "", "permission_denied"},
	}
	for i, w := range want {
		e := evs[i]
		d := e.GetActorDetail()
		got := fmt.Sprintf("%s %s %s %s %s %s %s", e.GetAction(), e.GetActor(), d.GetType(), d.GetSubject(), d.GetName(), d.GetRole(), e.GetOutcome())
		if got != fmt.Sprintf("%s %s %s %s %s %s %s", w.action, w.actor, w.typ, w.subject, w.name, w.role, w.outcome) {
			t.Errorf("event %d = %s, want %+v", i, got, w)
		}
		if e.GetResourceId() != keyID || e.GetResourceKind() != "key" {
			t.Errorf("event %d names %s %q, want key %s", i, e.GetResourceKind(), e.GetResourceId(), keyID)
		}
		if e.GetSourceIp() != "127.0.0.1" || !strings.Contains(e.GetUserAgent(), "connect-go") {
			t.Errorf("event %d from %q %q", i, e.GetSourceIp(), e.GetUserAgent())
		}
		if strings.Contains(e.GetSummary(), created.GetSecret()) {
			t.Errorf("event %d holds the key's secret", i)
		}
	}
	if evs[1].GetActorDetail().GetTokenId() != tok.GetToken().GetId() {
		t.Errorf("rotation's token id = %q, want %s", evs[1].GetActorDetail().GetTokenId(), tok.GetToken().GetId())
	}
	// The refused attempts can be listed on their own, and by actor.
	denied := must[*connect.Response[tollgatev1.ListAdminAuditEventsResponse]](t, "denied")(usageAs(g, vera).ListAdminAuditEvents(ctx, connect.NewRequest(&tollgatev1.ListAdminAuditEventsRequest{
		StartTime: timestamppb.New(start), Outcome: "permission_denied", Actor: "sub-vera"}))).Msg.GetEvents()
	if len(denied) != 1 || denied[0].GetAction() != "RevokeKey" {
		t.Fatalf("denied events = %v", denied)
	}

	// Usage records carry the principal that created the key: one query
	// answers "which users triggered which model calls".
	key := tollgate.NewClient(g.URL, created.GetSecret())
	if _, err := key.Chat(ctx, servertest.ChatModel, "hello"); err == nil {
		t.Fatal("the rotated-away secret still works without a grace period")
	}
	rot := must[*connect.Response[tollgatev1.RotateKeyResponse]](t, "rotate again")(as(g, alice).RotateKey(ctx, connect.NewRequest(&tollgatev1.RotateKeyRequest{Id: keyID})))
	secret := rot.Msg.GetSecret()
	for range 3 {
		if _, err := tollgate.NewClient(g.URL, secret).Chat(ctx, servertest.ChatModel, "hello"); err != nil {
			t.Fatal(err)
		}
	}
	summary := func() (*tollgatev1.GetUsageSummaryResponse, error) {
		r, err := usageAs(g, vera).GetUsageSummary(ctx, connect.NewRequest(&tollgatev1.GetUsageSummaryRequest{
			StartTime: timestamppb.New(time.Now().Add(-90 * 24 * time.Hour)),
			GroupBy:   []tollgatev1.UsageDimension{tollgatev1.UsageDimension_USAGE_DIMENSION_KEY_CREATOR, tollgatev1.UsageDimension_USAGE_DIMENSION_MODEL}}))
		if err != nil {
			return nil, err
		}
		return r.Msg, nil
	}
	eventually(t, 15*time.Second, "usage by key creator", func() error {
		s, err := summary()
		if err != nil {
			return err
		}
		for _, gr := range s.GetGroups() {
			if slices.Equal(gr.GetKeys(), []string{"user:sub-alice", servertest.ChatModel}) && gr.GetRequests() == 3 {
				return nil
			}
		}
		return fmt.Errorf("%w: groups %v", errNotYet, s.GetGroups())
	})
	recs := must[*connect.Response[tollgatev1.ListRequestRecordsResponse]](t, "records by creator")(usageAs(g, vera).ListRequestRecords(ctx, connect.NewRequest(&tollgatev1.ListRequestRecordsRequest{
		KeyCreator: "user:sub-alice"}))).Msg.GetRecords()
	if len(recs) < 3 {
		t.Fatalf("records of keys alice created: %d", len(recs))
	}
	for _, r := range recs {
		if r.GetKeyCreator() != "user:sub-alice" || r.GetKeyId() != keyID {
			t.Fatalf("record %v", r)
		}
	}
}

// TestServiceAccountTokens checks the lifecycle of service-account tokens:
// last use written in the background, rotation with a grace period,
// revocation and disabling refused at once, the break-glass token switched
// off once an owner exists.
func TestServiceAccountTokens(t *testing.T) {
	t.Parallel()
	testServiceAccountTokens(t, false)
}

// TestServiceAccountTokensEmbedded runs TestServiceAccountTokens on the
// embedded store.
func TestServiceAccountTokensEmbedded(t *testing.T) {
	t.Parallel()
	testServiceAccountTokens(t, true)
}

func testServiceAccountTokens(t *testing.T, embedded bool) {
	g := servertest.Start(t, servertest.Options{Embedded: embedded, Config: func(c *server.Config) {
		c.Identity.TokenUseFlush, c.Identity.BreakGlass = time.Second, "off"
	}})
	ctx := context.Background()
	owner := g.Admin
	newAccount := func(id string, roles ...string) string {
		must[*connect.Response[tollgatev1.CreateServiceAccountResponse]](t, "account")(owner.CreateServiceAccount(ctx, connect.NewRequest(&tollgatev1.CreateServiceAccountRequest{
			ServiceAccount: &tollgatev1.ServiceAccount{Id: id, Roles: roles}})))
		return must[*connect.Response[tollgatev1.CreateServiceAccountTokenResponse]](t, "token")(owner.CreateServiceAccountToken(ctx, connect.NewRequest(&tollgatev1.CreateServiceAccountTokenRequest{
			ServiceAccountId: id}))).Msg.GetSecret()
	}
	_, err := owner.CreateServiceAccount(ctx, connect.NewRequest(&tollgatev1.CreateServiceAccountRequest{ServiceAccount: &tollgatev1.ServiceAccount{Id: "bad", Roles: []string{"root"}}}))
	wantCode(t, "unknown role", err, connect.CodeInvalidArgument)

	deployer := newAccount("deployer", "team-admin:team-a")
	createTeam(t, owner, "team-a")
	createKey(t, as(g, deployer), "team-a")
	_, err = as(g, deployer).CreateTeam(ctx, connect.NewRequest(&tollgatev1.CreateTeamRequest{Team: &tollgatev1.Team{Id: "x"}}))
	wantCode(t, "team-admin creates a team", err, connect.CodePermissionDenied)

	// Last use reaches the store in the background.
	eventually(t, 10*time.Second, "last use written", func() error {
		ts, err := owner.ListServiceAccountTokens(ctx, connect.NewRequest(&tollgatev1.ListServiceAccountTokensRequest{ServiceAccountId: "deployer"}))
		if err != nil {
			return err
		}
		if len(ts.Msg.GetTokens()) != 1 || ts.Msg.GetTokens()[0].GetLastUseTime() == nil {
			return fmt.Errorf("%w: %v", errNotYet, ts.Msg.GetTokens())
		}
		return nil
	})

	// Rotation: the new token works, the old one for its grace period only.
	ts := must[*connect.Response[tollgatev1.ListServiceAccountTokensResponse]](t, "tokens")(owner.ListServiceAccountTokens(ctx, connect.NewRequest(&tollgatev1.ListServiceAccountTokensRequest{ServiceAccountId: "deployer"})))
	oldID := ts.Msg.GetTokens()[0].GetId()
	rot := must[*connect.Response[tollgatev1.RotateServiceAccountTokenResponse]](t, "rotate")(owner.RotateServiceAccountToken(ctx, connect.NewRequest(&tollgatev1.RotateServiceAccountTokenRequest{
		Id: oldID, Grace: durationpb.New(time.Hour)}))).Msg
	if rot.GetToken().GetRotatedFrom() != oldID {
		t.Fatalf("rotated token = %v", rot.GetToken())
	}
	for name, s := range map[string]string{"old": deployer, "new": rot.GetSecret()} {
		must[*connect.Response[tollgatev1.ListKeysResponse]](t, name+" token in grace")(as(g, s).ListKeys(ctx, connect.NewRequest(&tollgatev1.ListKeysRequest{})))
	}
	must[*connect.Response[tollgatev1.RotateServiceAccountTokenResponse]](t, "rotate without grace")(owner.RotateServiceAccountToken(ctx, connect.NewRequest(&tollgatev1.RotateServiceAccountTokenRequest{
		Id: rot.GetToken().GetId()})))
	_, err = as(g, rot.GetSecret()).ListKeys(ctx, connect.NewRequest(&tollgatev1.ListKeysRequest{}))
	wantCode(t, "token rotated without grace", err, connect.CodeUnauthenticated)

	// Revocation and disabling are refused on the next call.
	viewer := newAccount("dashboards", "viewer")
	must[*connect.Response[tollgatev1.ListTeamsResponse]](t, "viewer reads")(as(g, viewer).ListTeams(ctx, connect.NewRequest(&tollgatev1.ListTeamsRequest{})))
	must[*connect.Response[tollgatev1.UpdateServiceAccountResponse]](t, "disable")(owner.UpdateServiceAccount(ctx, connect.NewRequest(&tollgatev1.UpdateServiceAccountRequest{
		ServiceAccount: &tollgatev1.ServiceAccount{Id: "dashboards", Disabled: true}, UpdateMask: mask("disabled")})))
	_, err = as(g, viewer).ListTeams(ctx, connect.NewRequest(&tollgatev1.ListTeamsRequest{}))
	wantCode(t, "disabled account", err, connect.CodeUnauthenticated)

	// Break-glass: the admin token works until an owner exists, then is off.
	must[*connect.Response[tollgatev1.ListTeamsResponse]](t, "admin token before an owner")(owner.ListTeams(ctx, connect.NewRequest(&tollgatev1.ListTeamsRequest{})))
	root := newAccount("root", "owner")
	_, err = owner.ListTeams(ctx, connect.NewRequest(&tollgatev1.ListTeamsRequest{}))
	wantCode(t, "admin token once an owner exists", err, connect.CodeUnauthenticated)
	rootTok := must[*connect.Response[tollgatev1.ListServiceAccountTokensResponse]](t, "root tokens")(as(g, root).ListServiceAccountTokens(ctx, connect.NewRequest(&tollgatev1.ListServiceAccountTokensRequest{ServiceAccountId: "root"})))
	must[*connect.Response[tollgatev1.RevokeServiceAccountTokenResponse]](t, "revoke")(as(g, root).RevokeServiceAccountToken(ctx, connect.NewRequest(&tollgatev1.RevokeServiceAccountTokenRequest{Id: rootTok.Msg.GetTokens()[0].GetId()})))
	_, err = as(g, root).ListTeams(ctx, connect.NewRequest(&tollgatev1.ListTeamsRequest{}))
	wantCode(t, "revoked token", err, connect.CodeUnauthenticated)
	// With no owner left, the break-glass token works again.
	must[*connect.Response[tollgatev1.ListTeamsResponse]](t, "admin token with no owner")(owner.ListTeams(ctx, connect.NewRequest(&tollgatev1.ListTeamsRequest{})))
}
