// Package e2e_test proves the wiring of routing and resilience through the
// real server (servertest), its adapters and fake upstreams that misbehave
// on command: routes created over the admin API reach the engine on every
// replica, real upstream failures are classified by the adapters and fail
// over, records land in Postgres, breaker state is exported. The decisions
// themselves (every error kind, deadlines, breaker transitions, streams,
// strategies) are table-tested in package gateway and package routing.
package e2e_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/durationpb"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/gen/tollgate/v1/tollgatev1connect"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/internal/pgtest"
	"github.com/tollgate-dev/tollgate/internal/testutil"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// Fixture names: the primary is servertest's provider; the backup is a
// second provider serving the same upstream model.
const (
	primary     = servertest.ProviderID
	backup      = "backup"
	upstreamMdl = "gpt-4o-mini"
)

// faults make the primary fail a request whose prompt carries
// "inject:<name>", so parallel subtests get their own faults.
var faults = map[string]fakeupstream.Fault{
	"500":   fakeupstream.StatusFault(http.StatusInternalServerError),
	"400":   fakeupstream.StatusFault(http.StatusBadRequest),
	"reset": fakeupstream.ResetFault(),
	"die":   fakeupstream.DieAfterFault(2),
}

func markerFaults(r *fakeupstream.Request) (fakeupstream.Fault, bool) {
	i := bytes.Index(r.Body, []byte("inject:"))
	if i < 0 {
		return fakeupstream.Fault{}, false
	}
	rest := string(r.Body[i+len("inject:"):])
	for name, f := range faults {
		if strings.HasPrefix(rest, name+" ") || strings.HasPrefix(rest, name+`"`) {
			return f, true
		}
	}
	return fakeupstream.Fault{}, false
}

// env is a gateway with two upstreams and a key.
type env struct {
	gw              *servertest.Gateway
	primary, backup *fakeupstream.OpenAI
	key             string
}

func start(t *testing.T, opts ...fakeupstream.Option) *env {
	t.Helper()
	p, pURL := fakeupstream.StartOpenAI(t, append([]fakeupstream.Option{fakeupstream.WithFaultFunc(markerFaults)}, opts...)...)
	b, bURL := fakeupstream.StartOpenAI(t, opts...)
	gw := servertest.Start(t, servertest.Options{})
	key := gw.Setup(t, pURL)
	ctx := context.Background()
	if _, err := gw.Admin.CreateProvider(ctx, connect.NewRequest(&tollgatev1.CreateProviderRequest{
		Provider:   &tollgatev1.Provider{Id: backup, Type: tollgatev1.ProviderType_PROVIDER_TYPE_OPENAI, BaseUrl: bURL},
		Credential: servertest.UpstreamKey,
	})); err != nil {
		t.Fatal(err)
	}
	return &env{gw: gw, primary: p, backup: b, key: key}
}

func (e *env) client(gw *servertest.Gateway) tollgatev1connect.InferenceServiceClient {
	return tollgatev1connect.NewInferenceServiceClient(http.DefaultClient, gw.URL, connect.WithInterceptors(servertest.BearerInterceptor(e.key)))
}

func (e *env) createRoute(t *testing.T, r *tollgatev1.Route) {
	t.Helper()
	if _, err := e.gw.Admin.CreateRoute(context.Background(), connect.NewRequest(&tollgatev1.CreateRouteRequest{Route: r})); err != nil {
		t.Fatalf("CreateRoute(%s): %v", r.GetName(), err)
	}
}

func target(provider string) *tollgatev1.RouteTarget {
	return &tollgatev1.RouteTarget{ProviderId: provider, Model: upstreamMdl}
}

func dur(d time.Duration) *durationpb.Duration { return durationpb.New(d) }

func chatReq(model, text, endUser string) *tollgatev1.ChatRequest {
	return &tollgatev1.ChatRequest{Model: model, EndUser: endUser, Messages: []*tollgatev1.Message{{
		Role: tollgatev1.Role_ROLE_USER, Content: []*tollgatev1.ContentPart{{Part: &tollgatev1.ContentPart_Text{Text: text}}},
	}}}
}

// record is the stored request record of an end user's request.
type record struct {
	provider  string
	attempts  int
	partial   bool
	errorCode string
}

// waitRecord polls the database until the record of endUser's request is written.
func waitRecord(t *testing.T, gw *servertest.Gateway, endUser string) record {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, gw.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var r record
	testutil.Eventually(t, func() error {
		err := conn.QueryRow(ctx, `SELECT provider, attempts, partial, error_code FROM request_records WHERE end_user = $1`, endUser).
			Scan(&r.provider, &r.attempts, &r.partial, &r.errorCode)
		if err != nil && !strings.Contains(err.Error(), "no rows") {
			t.Fatalf("query record: %v", err)
		}
		if err != nil {
			return fmt.Errorf("no record of end user %q", endUser)
		}
		return nil
	})
	return r
}
