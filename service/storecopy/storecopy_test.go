package storecopy_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/type/money"
	"google.golang.org/protobuf/types/known/durationpb"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/gen/tollgate/v1/tollgatev1connect"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/internal/pgtest"
	"github.com/tollgate-dev/tollgate/semcache"
	"github.com/tollgate-dev/tollgate/service/app"
	"github.com/tollgate-dev/tollgate/service/server"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
	"github.com/tollgate-dev/tollgate/service/store"
	"github.com/tollgate-dev/tollgate/service/store/pgstore"
	"github.com/tollgate-dev/tollgate/service/store/sqlitestore"
	"github.com/tollgate-dev/tollgate/service/storecopy"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// chat sends one OpenAI-format chat with key and returns the status and
// the cache outcome.
func chat(t *testing.T, url, key, text string, stream bool) (int, string) {
	t.Helper()
	body := fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":%q}],"temperature":0,"stream":%v}`,
		servertest.ChatModel, text, stream)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, url+"/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("X-Tollgate-Cache")
}

// TestCopyEmbeddedToPostgres fills a gateway on the embedded store
// (configuration, keys rotated and revoked, a budget with spend, records
// of two teams, audit events, cache entries), stops it, copies its data
// directory to an empty Postgres database with `tollgate store copy`, and
// checks usage totals per team and budget spend exactly; then a gateway
// on the copied database serves the same keys (and refuses the revoked
// one), answers from the copied cache, and reports the same spend.
func TestCopyEmbeddedToPostgres(t *testing.T) {
	t.Parallel()
	_, upstream := fakeupstream.StartOpenAI(t)
	exact := func(c *server.Config) { c.Cache.Mode = "exact" }
	lite := servertest.Start(t, servertest.Options{Embedded: true, Config: exact})
	ctx := t.Context()
	keyA := lite.Setup(t, upstream)
	admin := lite.Admin
	if _, err := admin.CreateTeam(ctx, connect.NewRequest(&tollgatev1.CreateTeamRequest{Team: &tollgatev1.Team{Id: "team-b"}})); err != nil {
		t.Fatal(err)
	}
	_, keyB := lite.CreateKey(t, "team-b")
	rotatedID, oldSecret := lite.CreateKey(t, "team-b")
	rot, err := admin.RotateKey(ctx, connect.NewRequest(&tollgatev1.RotateKeyRequest{Id: rotatedID, GracePeriod: durationpb.New(time.Hour)}))
	if err != nil {
		t.Fatal(err)
	}
	newSecret := rot.Msg.GetSecret()
	revokedID, revokedSecret := lite.CreateKey(t, servertest.TeamID)
	if _, err := admin.RevokeKey(ctx, connect.NewRequest(&tollgatev1.RevokeKeyRequest{Id: revokedID})); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.SetBudget(ctx, connect.NewRequest(&tollgatev1.SetBudgetRequest{Budget: &tollgatev1.Budget{
		Id: "a-monthly", Scope: tollgatev1.GovernanceScope_GOVERNANCE_SCOPE_TEAM, TeamId: servertest.TeamID,
		Period: tollgatev1.BudgetPeriod_BUDGET_PERIOD_MONTHLY, Limit: &money.Money{CurrencyCode: "USD", Units: 100},
	}})); err != nil {
		t.Fatal(err)
	}
	// A service account and its token: the copy keeps the token's hash,
	// so the same secret administers the gateway on PostgreSQL.
	ids := tollgatev1connect.NewIdentityServiceClient(http.DefaultClient, lite.URL,
		connect.WithInterceptors(servertest.BearerInterceptor(lite.AdminToken)))
	if _, err := ids.CreateServiceAccount(ctx, connect.NewRequest(&tollgatev1.CreateServiceAccountRequest{
		ServiceAccount: &tollgatev1.ServiceAccount{Id: "ci", Roles: []string{"admin"}}})); err != nil {
		t.Fatal(err)
	}
	tok, err := ids.CreateServiceAccountToken(ctx, connect.NewRequest(&tollgatev1.CreateServiceAccountTokenRequest{ServiceAccountId: "ci", Name: "deploy"}))
	if err != nil {
		t.Fatal(err)
	}
	saTeams := func(url string) error {
		c := tollgatev1connect.NewTeamServiceClient(http.DefaultClient, url,
			connect.WithInterceptors(servertest.BearerInterceptor(tok.Msg.GetSecret())))
		_, err := c.ListTeams(ctx, connect.NewRequest(&tollgatev1.ListTeamsRequest{}))
		return err
	}
	if err := saTeams(lite.URL); err != nil {
		t.Fatalf("service-account token on the embedded store: %v", err)
	}
	for i := range 12 {
		key := []string{keyA, keyB, newSecret}[i%3]
		if status, _ := chat(t, lite.URL, key, fmt.Sprintf("question %d", i%5), i%4 == 0); status != http.StatusOK {
			t.Fatalf("chat %d: status %d", i, status)
		}
	}
	if status, _ := chat(t, lite.URL, oldSecret, "old secret in its grace", false); status != http.StatusOK {
		t.Fatalf("old secret within its grace: %d", status)
	}
	if status, _ := chat(t, lite.URL, revokedSecret, "revoked", false); status != http.StatusUnauthorized {
		t.Fatalf("revoked key: %d", status)
	}
	lite.Stop() // flushes the records and returns the leases: spend is final
	dir := lite.Config.DataDir

	src, err := sqlitestore.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	byTeam := store.SummaryQuery{GroupBy: []store.Dimension{store.DimTeam}}
	wantUsage, err := src.SummarizeUsage(ctx, byTeam)
	if err != nil {
		t.Fatal(err)
	}
	wantSpend, err := src.ListCounters(ctx, "budget:")
	if err != nil {
		t.Fatal(err)
	}
	if len(wantUsage) < 2 || len(wantSpend) != 1 || wantSpend[0].Used.A == 0 {
		t.Fatalf("source: usage %+v, spend %+v; want usage of both teams and a spent budget", wantUsage, wantSpend)
	}
	src.Close()

	dsn := pgtest.NewDatabase(t) // empty: the copy migrates it
	var stdout, stderr bytes.Buffer
	code := app.Main(ctx, []string{"store", "copy", "--from", "sqlite:" + dir, "--to", dsn, "--cache"},
		func(string) string { return "" }, &stdout, &stderr)
	if code != app.ExitOK || !strings.Contains(stdout.String(), "verified") {
		t.Fatalf("store copy exited %d:\n%s\n%s", code, stdout.String(), stderr.String())
	}
	t.Logf("store copy:\n%s", stdout.String())

	dst, err := pgstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	gotUsage, err := dst.SummarizeUsage(ctx, byTeam)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprintf("%+v", gotUsage) != fmt.Sprintf("%+v", wantUsage) {
		t.Errorf("usage per team after the copy:\n%+v\nwant\n%+v", gotUsage, wantUsage)
	}
	for _, c := range wantSpend {
		got, err := dst.ReadCounter(ctx, c.Counter, c.Window)
		if err != nil || got.Used != c.Used {
			t.Errorf("spend of %s: %+v, %v; want %+v", c.Counter, got.Used, err, c.Used)
		}
	}
	dst.Close()

	pg := servertest.Start(t, servertest.Options{DatabaseURL: dsn, Config: exact})
	for name, key := range map[string]string{"team a": keyA, "team b": keyB, "rotated": newSecret, "old secret in grace": oldSecret} {
		if status, _ := chat(t, pg.URL, key, "after the copy", false); status != http.StatusOK {
			t.Errorf("%s key on the copied database: status %d", name, status)
		}
	}
	if status, _ := chat(t, pg.URL, revokedSecret, "revoked", false); status != http.StatusUnauthorized {
		t.Errorf("revoked key on the copied database: status %d", status)
	}
	if status, cache := chat(t, pg.URL, keyA, "question 3", false); status != http.StatusOK || cache != "hit-exact" {
		t.Errorf("a copied cache entry: status %d, cache %q", status, cache)
	}
	if err := saTeams(pg.URL); err != nil {
		t.Errorf("service-account token on the copied database: %v", err)
	}
	st, err := pg.Admin.ListBudgets(ctx, connect.NewRequest(&tollgatev1.ListBudgetsRequest{}))
	if err != nil || len(st.Msg.GetBudgets()) != 1 {
		t.Errorf("budgets on the copied database: %v, %v", st, err)
	}
}

// TestCopyRefusesNonEmptyTarget checks that nothing is written into a
// database that already holds data, and that the source must be free.
func TestCopyRefusesNonEmptyTarget(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	src, err := sqlitestore.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if err := src.CreateTeam(ctx, &store.Team{ID: "from-source"}); err != nil {
		t.Fatal(err)
	}
	dst, err := pgstore.Open(ctx, pgtest.NewMigratedDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if err := dst.CreateTeam(ctx, &store.Team{ID: "already-there"}); err != nil {
		t.Fatal(err)
	}
	_, err = storecopy.Copy(ctx, src, dst, storecopy.Options{CacheFrom: semcache.SQLite(src.DB()), CacheTo: semcache.Postgres(dst.Pool())})
	if !errors.Is(err, storecopy.ErrNotEmpty) || !strings.Contains(err.Error(), "1 teams") {
		t.Fatalf("Copy into a non-empty target = %v, want ErrNotEmpty", err)
	}
	if _, err := dst.GetTeam(ctx, "from-source"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the refused copy wrote a team: %v", err)
	}

	var stdout, stderr bytes.Buffer
	code := app.Main(ctx, []string{"store", "copy", "--from", "sqlite:" + src.Dir(), "--to", pgtest.NewDatabase(t)},
		func(string) string { return "" }, &stdout, &stderr)
	if code == app.ExitOK || !strings.Contains(stderr.String(), "stop it first") {
		t.Errorf("copy of a directory in use exited %d: %s", code, stderr.String())
	}
}
