package identity_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/type/money"
	"google.golang.org/protobuf/types/known/emptypb"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/internal/oidctest"
	"github.com/tollgate-dev/tollgate/service/access"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// TestSSO runs the admin API against a real OpenID Provider: people log in
// there and call the gateway with their ID tokens and access tokens; their
// groups map to roles.
func TestSSO(t *testing.T) {
	t.Parallel()
	testSSO(t, false)
}

// TestSSOEmbedded runs TestSSO on the embedded store.
func TestSSOEmbedded(t *testing.T) {
	t.Parallel()
	testSSO(t, true)
}

func testSSO(t *testing.T, embedded bool) {
	op, g := startSSOOn(t, nil, embedded)
	ctx := context.Background()
	alice := op.Login(t, "alice")
	sam := op.Login(t, "sam")
	vera := op.Login(t, "vera")

	t.Run("admin from group platform-admins creates a team and a key", func(t *testing.T) {
		for _, tok := range []string{alice.IDToken, alice.AccessToken} {
			who := must[*connect.Response[tollgatev1.GetCallerResponse]](t, "GetCaller")(as(g, tok).GetCaller(ctx, connect.NewRequest(&tollgatev1.GetCallerRequest{})))
			p := who.Msg.GetPrincipal()
			if p.GetType() != tollgatev1.PrincipalType_PRINCIPAL_TYPE_USER || p.GetSubject() != "sub-alice" || p.GetId() != "user:sub-alice" ||
				!slices.Equal(p.GetRoles(), []string{"admin"}) || !slices.Contains(p.GetGroups(), "platform-admins") {
				t.Fatalf("caller = %v", p)
			}
			if tok == alice.IDToken && p.GetEmail() != "alice@example.com" {
				t.Fatalf("caller of the ID token has no e-mail address: %v", p)
			}
		}
		a := as(g, alice.IDToken)
		createTeam(t, a, "search")
		createTeam(t, a, "batch")
		k := createKey(t, a, "search")
		if k.GetKey().GetCreatedBy() != "user:sub-alice" || !strings.HasPrefix(k.GetSecret(), "tg-") {
			t.Fatalf("key = %v", k.GetKey())
		}
		createKey(t, as(g, alice.AccessToken), "batch") // the JWT access token works too
		// An admin may not manage principals (owner only).
		_, err := a.CreateServiceAccount(ctx, connect.NewRequest(&tollgatev1.CreateServiceAccountRequest{ServiceAccount: &tollgatev1.ServiceAccount{Id: "x", Roles: []string{"viewer"}}}))
		wantCode(t, "admin creates a service account", err, connect.CodePermissionDenied)
	})

	t.Run("team-admin of search manages only search", func(t *testing.T) {
		s := as(g, sam.IDToken)
		own := createKey(t, s, "search")
		_, err := s.CreateKey(ctx, connect.NewRequest(&tollgatev1.CreateKeyRequest{Key: &tollgatev1.VirtualKey{TeamId: "batch"}}))
		wantCode(t, "key of batch", err, connect.CodePermissionDenied)
		batchKey := createKey(t, as(g, alice.IDToken), "batch")
		_, err = s.RevokeKey(ctx, connect.NewRequest(&tollgatev1.RevokeKeyRequest{Id: batchKey.GetKey().GetId()}))
		wantCode(t, "revoke a batch key", err, connect.CodePermissionDenied)
		_, err = s.GetKey(ctx, connect.NewRequest(&tollgatev1.GetKeyRequest{Id: batchKey.GetKey().GetId()}))
		wantCode(t, "read a batch key", err, connect.CodePermissionDenied)
		must[*connect.Response[tollgatev1.RotateKeyResponse]](t, "rotate own key")(s.RotateKey(ctx, connect.NewRequest(&tollgatev1.RotateKeyRequest{Id: own.GetKey().GetId()})))

		keys := must[*connect.Response[tollgatev1.ListKeysResponse]](t, "ListKeys")(s.ListKeys(ctx, connect.NewRequest(&tollgatev1.ListKeysRequest{})))
		if len(keys.Msg.GetKeys()) == 0 {
			t.Fatal("team-admin lists no keys")
		}
		for _, k := range keys.Msg.GetKeys() {
			if k.GetTeamId() != "search" {
				t.Fatalf("team-admin of search sees key %s of %s", k.GetId(), k.GetTeamId())
			}
		}
		_, err = s.ListKeys(ctx, connect.NewRequest(&tollgatev1.ListKeysRequest{TeamId: "batch"}))
		wantCode(t, "list batch keys", err, connect.CodePermissionDenied)
		teams := must[*connect.Response[tollgatev1.ListTeamsResponse]](t, "ListTeams")(s.ListTeams(ctx, connect.NewRequest(&tollgatev1.ListTeamsRequest{})))
		if len(teams.Msg.GetTeams()) != 1 || teams.Msg.GetTeams()[0].GetId() != "search" {
			t.Fatalf("team-admin sees teams %v", teams.Msg.GetTeams())
		}

		budget := func(team string) *connect.Request[tollgatev1.SetBudgetRequest] {
			return connect.NewRequest(&tollgatev1.SetBudgetRequest{Budget: &tollgatev1.Budget{Id: team + "-monthly",
				Scope: tollgatev1.GovernanceScope_GOVERNANCE_SCOPE_TEAM, TeamId: team, Period: tollgatev1.BudgetPeriod_BUDGET_PERIOD_MONTHLY,
				Limit: &money.Money{CurrencyCode: "USD", Units: 5}}})
		}
		must[*connect.Response[tollgatev1.SetBudgetResponse]](t, "search budget")(s.SetBudget(ctx, budget("search")))
		_, err = s.SetBudget(ctx, budget("batch"))
		wantCode(t, "batch budget", err, connect.CodePermissionDenied)
		must[*connect.Response[tollgatev1.SetBudgetResponse]](t, "batch budget by the admin")(as(g, alice.IDToken).SetBudget(ctx, budget("batch")))
		// Replacing batch's budget while naming its own team is refused too.
		hijack := budget("search")
		hijack.Msg.Budget.Id = "batch-monthly"
		_, err = s.SetBudget(ctx, hijack)
		wantCode(t, "overwrite batch's budget", err, connect.CodePermissionDenied)
		_, err = s.DeleteBudget(ctx, connect.NewRequest(&tollgatev1.DeleteBudgetRequest{Id: "batch-monthly"}))
		wantCode(t, "delete batch's budget", err, connect.CodePermissionDenied)
		bs := must[*connect.Response[tollgatev1.ListBudgetsResponse]](t, "ListBudgets")(s.ListBudgets(ctx, connect.NewRequest(&tollgatev1.ListBudgetsRequest{})))
		if len(bs.Msg.GetBudgets()) != 1 || bs.Msg.GetBudgets()[0].GetTeamId() != "search" {
			t.Fatalf("team-admin sees budgets %v", bs.Msg.GetBudgets())
		}
		_, err = s.SetRateLimit(ctx, connect.NewRequest(&tollgatev1.SetRateLimitRequest{RateLimit: &tollgatev1.RateLimit{Id: "b-rpm",
			Scope: tollgatev1.GovernanceScope_GOVERNANCE_SCOPE_TEAM, TeamId: "batch", RequestsPerMinute: 10}}))
		wantCode(t, "batch rate limit", err, connect.CodePermissionDenied)

		// Usage: its team's, never batch's.
		_, err = usageAs(g, sam.IDToken).GetUsageSummary(ctx, connect.NewRequest(&tollgatev1.GetUsageSummaryRequest{TeamId: "batch"}))
		wantCode(t, "batch usage", err, connect.CodePermissionDenied)
		must[*connect.Response[tollgatev1.GetUsageSummaryResponse]](t, "own usage")(usageAs(g, sam.IDToken).GetUsageSummary(ctx, connect.NewRequest(&tollgatev1.GetUsageSummaryRequest{})))
		_, err = usageAs(g, sam.IDToken).ListAdminAuditEvents(ctx, connect.NewRequest(&tollgatev1.ListAdminAuditEventsRequest{}))
		wantCode(t, "audit log", err, connect.CodePermissionDenied)
		// Catalog writes and team creation are beyond a team-admin.
		_, err = s.CreateTeam(ctx, connect.NewRequest(&tollgatev1.CreateTeamRequest{Team: &tollgatev1.Team{Id: "mine"}}))
		wantCode(t, "create team", err, connect.CodePermissionDenied)
		must[*connect.Response[tollgatev1.ListAllModelsResponse]](t, "read the catalog")(s.ListAllModels(ctx, connect.NewRequest(&tollgatev1.ListAllModelsRequest{})))
	})

	t.Run("viewer gets PermissionDenied on every write", func(t *testing.T) {
		n := 0
		for proc, rule := range access.Rules {
			if strings.HasSuffix(string(rule.Perm), ".read") || rule.Perm == access.Self || rule.Perm == access.Public {
				continue
			}
			n++
			c := connect.NewClient[emptypb.Empty, emptypb.Empty](http.DefaultClient, g.URL+proc,
				connect.WithInterceptors(servertest.BearerInterceptor(vera.IDToken)))
			_, err := c.CallUnary(ctx, connect.NewRequest(&emptypb.Empty{}))
			wantCode(t, proc, err, connect.CodePermissionDenied)
		}
		if n < 30 {
			t.Fatalf("only %d writes tried", n)
		}
		// Reads work, the audit log included.
		v := as(g, vera.IDToken)
		must[*connect.Response[tollgatev1.ListKeysResponse]](t, "viewer lists keys")(v.ListKeys(ctx, connect.NewRequest(&tollgatev1.ListKeysRequest{})))
		must[*connect.Response[tollgatev1.ListAdminAuditEventsResponse]](t, "viewer reads audit")(usageAs(g, vera.IDToken).ListAdminAuditEvents(ctx, connect.NewRequest(&tollgatev1.ListAdminAuditEventsRequest{})))
	})

	t.Run("bad tokens are Unauthenticated", func(t *testing.T) {
		other := oidctest.Start(t, people...)
		stranger, _ := rsa.GenerateKey(rand.Reader, 2048)
		claims := func(extra map[string]any) map[string]any {
			c := map[string]any{"sub": "sub-alice", "aud": oidctest.WebClientID, "groups": []string{"platform-admins"}}
			for k, v := range extra {
				c[k] = v
			}
			return c
		}
		for name, tok := range map[string]string{
			"expired":        op.Sign(claims(map[string]any{"exp": time.Now().Add(-10 * time.Minute).Unix()})),
			"wrongly signed": oidctest.SignWith(stranger, "kid-1", op.Issuer, claims(nil)),
			"other issuer":   other.Login(t, "alice").IDToken,
			"other audience": op.Sign(claims(map[string]any{"aud": "someone-else"})),
			"garbage jwt":    "aaaaaaaa.bbbbbbbbbb.cccccccc",
			"unknown token":  "not-the-admin-token-0123456789",
		} {
			_, err := as(g, tok).ListTeams(ctx, connect.NewRequest(&tollgatev1.ListTeamsRequest{}))
			wantCode(t, name, err, connect.CodeUnauthenticated)
		}
		// The provider's own token, made for this gateway, passes.
		must[*connect.Response[tollgatev1.ListTeamsResponse]](t, "well-formed signed token")(as(g, op.Sign(claims(nil))).ListTeams(ctx, connect.NewRequest(&tollgatev1.ListTeamsRequest{})))
		// A person without a mapped group is authenticated but may do nothing.
		nobody := op.Login(t, "nobody").IDToken
		_, err := as(g, nobody).ListTeams(ctx, connect.NewRequest(&tollgatev1.ListTeamsRequest{}))
		wantCode(t, "no roles", err, connect.CodePermissionDenied)
		must[*connect.Response[tollgatev1.GetCallerResponse]](t, "GetCaller without roles")(as(g, nobody).GetCaller(ctx, connect.NewRequest(&tollgatev1.GetCallerRequest{})))
	})

	t.Run("key rotation at the provider is picked up without restart", func(t *testing.T) {
		before := op.Login(t, "alice").IDToken
		must[*connect.Response[tollgatev1.ListTeamsResponse]](t, "before rotation")(as(g, before).ListTeams(ctx, connect.NewRequest(&tollgatev1.ListTeamsRequest{})))
		op.RotateKeys()
		after := op.Login(t, "alice").IDToken
		eventually(t, 10*time.Second, "token signed by the new key", func() error {
			_, err := as(g, after).ListTeams(ctx, connect.NewRequest(&tollgatev1.ListTeamsRequest{}))
			return err
		})
	})
}
