package identity_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	tollgate "github.com/tollgate-dev/tollgate/clients/go"
	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/gen/tollgate/v1/tollgatev1connect"
	"github.com/tollgate-dev/tollgate/internal/oidctest"
	"github.com/tollgate-dev/tollgate/internal/pgtest"
	"github.com/tollgate-dev/tollgate/internal/testutil"
	"github.com/tollgate-dev/tollgate/service/server"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// The people of the test identity provider and their groups.
var people = []oidctest.User{
	{Username: "alice", Email: "alice@example.com", Groups: []string{"platform-admins"}},
	{Username: "sam", Email: "sam@example.com", Groups: []string{"team-search-admins"}},
	{Username: "vera", Email: "vera@example.com", Groups: []string{"readers"}},
	{Username: "olga", Email: "olga@example.com", Groups: []string{"owners"}},
	{Username: "nobody", Email: "nobody@example.com"},
}

// roleMap is the gateway's group → role mapping.
const roleMap = "platform-admins=admin,team-search-admins=team-admin:search,readers=viewer,owners=owner"

// startSSO runs a provider and a gateway on PostgreSQL trusting it;
// config, if set, adjusts the gateway's configuration further.
func startSSO(t *testing.T, config func(*server.Config)) (*oidctest.Provider, *servertest.Gateway) {
	t.Helper()
	return startSSOOn(t, config, false)
}

// startSSOOn runs a provider and a gateway trusting it, on the embedded
// store when embedded is set.
func startSSOOn(t *testing.T, config func(*server.Config), embedded bool) (*oidctest.Provider, *servertest.Gateway) {
	t.Helper()
	op := oidctest.Start(t, people...)
	return op, servertest.Start(t, servertest.Options{Embedded: embedded, Config: func(c *server.Config) {
		c.Identity.OIDCIssuer = op.Issuer
		c.Identity.OIDCClientID = oidctest.WebClientID
		c.Identity.OIDCCLIClientID = oidctest.CLIClientID
		c.Identity.OIDCRoles = roleMap
		if config != nil {
			config(c)
		}
	}})
}

// useMasterKeyFile makes the gateway read its master keyring from file
// (TOLLGATE_MASTER_KEY_FILE): the keyring it starts with is the file's
// content, and the file is watched for changes.
func useMasterKeyFile(t *testing.T, c *server.Config, file string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	c.MasterKeyFile, c.MasterKey = file, string(b)
}

// as returns an admin client carrying token.
func as(g *servertest.Gateway, token string) tollgate.AdminClient {
	return tollgate.NewAdminClient(http.DefaultClient, g.URL, connect.WithInterceptors(servertest.BearerInterceptor(token)))
}

// usageAs returns a UsageService client carrying token.
func usageAs(g *servertest.Gateway, token string) tollgatev1connect.UsageServiceClient {
	return tollgatev1connect.NewUsageServiceClient(http.DefaultClient, g.URL, connect.WithInterceptors(servertest.BearerInterceptor(token)))
}

// wantCode fails unless err has code.
func wantCode(t *testing.T, what string, err error, code connect.Code) {
	t.Helper()
	if connect.CodeOf(err) != code {
		t.Fatalf("%s: err = %v, want %s", what, err, code)
	}
}

func must[T any](t *testing.T, what string) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
}

// eventually polls cond (testutil.Poll) until it holds or d passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() error) {
	t.Helper()
	if err := testutil.Poll(context.Background(), d, cond); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

var errNotYet = errors.New("not yet")

func mask(paths ...string) *fieldmaskpb.FieldMask { return &fieldmaskpb.FieldMask{Paths: paths} }

func createTeam(t *testing.T, c tollgate.AdminClient, id string) {
	t.Helper()
	if _, err := c.CreateTeam(context.Background(), connect.NewRequest(&tollgatev1.CreateTeamRequest{Team: &tollgatev1.Team{Id: id}})); err != nil {
		t.Fatalf("create team %s: %v", id, err)
	}
}

func createKey(t *testing.T, c tollgate.AdminClient, team string) *tollgatev1.CreateKeyResponse {
	t.Helper()
	resp, err := c.CreateKey(context.Background(), connect.NewRequest(&tollgatev1.CreateKeyRequest{Key: &tollgatev1.VirtualKey{Name: "k-" + team, TeamId: team}}))
	if err != nil {
		t.Fatalf("create key of %s: %v", team, err)
	}
	return resp.Msg
}
