package server_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/gen/tollgate/v1/tollgatev1connect"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/internal/pgtest"
	"github.com/tollgate-dev/tollgate/internal/testutil"
	"github.com/tollgate-dev/tollgate/service/server"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

func userMsg(text string) *tollgatev1.Message {
	return &tollgatev1.Message{Role: tollgatev1.Role_ROLE_USER, Content: []*tollgatev1.ContentPart{{Part: &tollgatev1.ContentPart_Text{Text: text}}}}
}

func chatReq(text string) *tollgatev1.ChatRequest {
	return &tollgatev1.ChatRequest{Model: servertest.ChatModel, Messages: []*tollgatev1.Message{userMsg(text)}}
}

// env is a running gateway with a fake upstream and a key.
type env struct {
	gw       *servertest.Gateway
	upstream *fakeupstream.OpenAI
	key      string
}

func start(t *testing.T, opts ...fakeupstream.Option) *env {
	t.Helper()
	up, url := fakeupstream.StartOpenAI(t, opts...)
	gw := servertest.Start(t, servertest.Options{})
	return &env{gw: gw, upstream: up, key: gw.Setup(t, url)}
}

func (e *env) inference(key string, opts ...connect.ClientOption) tollgatev1connect.InferenceServiceClient {
	opts = append(opts, connect.WithInterceptors(servertest.BearerInterceptor(key)))
	return tollgatev1connect.NewInferenceServiceClient(http.DefaultClient, e.gw.URL, opts...)
}

func TestChatOverEveryProtocol(t *testing.T) {
	t.Parallel()
	e := start(t, fakeupstream.WithChunks(3))
	protocols := []struct {
		name string
		opts []connect.ClientOption
	}{
		{"connect", nil},
		{"connect-json", []connect.ClientOption{connect.WithProtoJSON()}},
		{"grpc-web", []connect.ClientOption{connect.WithGRPCWeb()}},
	}
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			c := e.inference(e.key, p.opts...)
			resp, err := c.Chat(context.Background(), connect.NewRequest(chatReq("hello there")))
			if err != nil {
				t.Fatal(err)
			}
			m := resp.Msg
			if got := m.GetChoices()[0].GetMessage().GetContent()[0].GetText(); got != "echo: hello there" {
				t.Fatalf("reply = %q", got)
			}
			if m.GetProvider() != servertest.ProviderID || m.GetRequestedModel() != servertest.ChatModel || !strings.HasPrefix(m.GetId(), "req_") {
				t.Fatalf("provider=%q requested=%q id=%q", m.GetProvider(), m.GetRequestedModel(), m.GetId())
			}
			if m.GetUsage().GetInputTokens() == 0 || m.GetUsage().GetOutputTokens() == 0 {
				t.Fatalf("usage = %v", m.GetUsage())
			}
			if m.GetCost().GetNanos() == 0 && m.GetCost().GetUnits() == 0 {
				t.Fatalf("cost = %v", m.GetCost())
			}
			if resp.Header().Get("X-Request-Id") != m.GetId() {
				t.Fatalf("x-request-id %q != id %q", resp.Header().Get("X-Request-Id"), m.GetId())
			}
			if m.GetChoices()[0].GetFinishReason() != tollgatev1.FinishReason_FINISH_REASON_STOP {
				t.Fatalf("finish = %v", m.GetChoices()[0].GetFinishReason())
			}

			stream, err := c.ChatStream(context.Background(), connect.NewRequest(&tollgatev1.ChatStreamRequest{Request: chatReq("stream me please")}))
			if err != nil {
				t.Fatal(err)
			}
			var text strings.Builder
			var events int
			var last *tollgatev1.ChatStreamResponse
			for stream.Receive() {
				events++
				last = stream.Msg()
				for _, ch := range last.GetChoices() {
					text.WriteString(ch.GetText())
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			if text.String() != "echo: stream me please" {
				t.Fatalf("streamed text = %q", text.String())
			}
			if events < 3 {
				t.Fatalf("only %d events: not streamed", events)
			}
			if last.GetUsage().GetOutputTokens() == 0 || last.GetCost() == nil {
				t.Fatalf("last event lacks usage/cost: %v", last)
			}
		})
	}
	// The upstream was asked for stream usage and got the provider credential.
	var sawStreamUsage bool
	for _, r := range e.upstream.Requests() {
		if got := r.Header.Get("Authorization"); got != "Bearer "+servertest.UpstreamKey {
			t.Fatalf("upstream Authorization = %q", got)
		}
		if bytes.Contains(r.Body, []byte(`"include_usage":true`)) {
			sawStreamUsage = true
		}
	}
	if !sawStreamUsage {
		t.Fatal("streams did not ask the upstream for usage")
	}
}

func TestPlainGRPCClient(t *testing.T) {
	t.Parallel()
	e := start(t)
	conn, err := grpc.NewClient(e.gw.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+e.key)
	c := tollgatev1.NewInferenceServiceClient(conn)
	resp, err := c.Chat(ctx, chatReq("via grpc-go"))
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.GetChoices()[0].GetMessage().GetContent()[0].GetText(); got != "echo: via grpc-go" {
		t.Fatalf("reply = %q", got)
	}
	st, err := c.ChatStream(ctx, &tollgatev1.ChatStreamRequest{Request: chatReq("grpc stream")})
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	for {
		m, err := st.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, ch := range m.GetChoices() {
			text.WriteString(ch.GetText())
		}
	}
	if text.String() != "echo: grpc stream" {
		t.Fatalf("streamed = %q", text.String())
	}

	// Errors carry gRPC codes.
	_, err = c.Chat(metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer tg-nope-nope-nope"), chatReq("x"))
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("bad key: %v", err)
	}

	h, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{Service: "tollgate.v1.InferenceService"})
	if err != nil || h.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health = %v, %v", h, err)
	}
}

func TestAdminKeyLifecycle(t *testing.T) {
	t.Parallel()
	e := start(t)
	ctx := context.Background()
	keyID, secret := e.gw.CreateKey(t, servertest.TeamID, servertest.ChatModel)
	c := e.inference(secret)
	if _, err := c.Chat(ctx, connect.NewRequest(chatReq("before revoke"))); err != nil {
		t.Fatal(err)
	}
	// A key limited to the chat model cannot embed.
	_, err := c.Embed(ctx, connect.NewRequest(&tollgatev1.EmbedRequest{Model: servertest.EmbeddingModel, Inputs: []string{"x"}}))
	if connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("scoped key embed: %v", err)
	}
	models, err := c.ListModels(ctx, connect.NewRequest(&tollgatev1.ListModelsRequest{}))
	if err != nil || len(models.Msg.GetModels()) != 1 || models.Msg.GetModels()[0].GetName() != servertest.ChatModel {
		t.Fatalf("ListModels = %v, %v", models, err)
	}

	if _, err := e.gw.Admin.RevokeKey(ctx, connect.NewRequest(&tollgatev1.RevokeKeyRequest{Id: keyID})); err != nil {
		t.Fatal(err)
	}
	_, err = c.Chat(ctx, connect.NewRequest(chatReq("after revoke")))
	if connect.CodeOf(err) != connect.CodeUnauthenticated || !strings.Contains(err.Error(), "revoked") {
		t.Fatalf("revoked key on the very next request: %v", err)
	}

	// Rotation: the new secret works, the old one works for the grace period only.
	rotID, old := e.gw.CreateKey(t, servertest.TeamID)
	rot, err := e.gw.Admin.RotateKey(ctx, connect.NewRequest(&tollgatev1.RotateKeyRequest{Id: rotID}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.inference(rot.Msg.GetSecret()).Chat(ctx, connect.NewRequest(chatReq("new secret"))); err != nil {
		t.Fatalf("new secret: %v", err)
	}
	if _, err := e.inference(old).Chat(ctx, connect.NewRequest(chatReq("old secret"))); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Fatalf("old secret without grace: %v", err)
	}

	tests := []struct {
		name, key, want string
	}{
		{"missing", "", "missing API key"},
		{"unknown", "tg-unknownunknownunknownunknown", "unknown API key"},
		{"admin token is not a key", e.gw.AdminToken, "unknown API key"},
	}
	for _, tt := range tests {
		_, err := e.inference(tt.key).Chat(ctx, connect.NewRequest(chatReq("x")))
		if connect.CodeOf(err) != connect.CodeUnauthenticated || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
	// Admin calls need the admin token.
	bad := tollgatev1connect.NewTeamServiceClient(http.DefaultClient, e.gw.URL, connect.WithInterceptors(servertest.BearerInterceptor(e.key)))
	if _, err := bad.ListTeams(ctx, connect.NewRequest(&tollgatev1.ListTeamsRequest{})); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Fatalf("admin with a virtual key: %v", err)
	}
}

func TestRevokeReachesOtherReplicas(t *testing.T) {
	t.Parallel()
	e := start(t)
	replica := servertest.Start(t, servertest.Options{DatabaseURL: e.gw.DatabaseURL})
	keyID, secret := e.gw.CreateKey(t, servertest.TeamID)
	ctx := context.Background()
	onB := tollgatev1connect.NewInferenceServiceClient(http.DefaultClient, replica.URL, connect.WithInterceptors(servertest.BearerInterceptor(secret)))
	testutil.Eventually(t, func() error { // the new key reaches replica B by notification
		_, err := onB.Chat(ctx, connect.NewRequest(chatReq("hi")))
		return err
	})
	if _, err := e.gw.Admin.RevokeKey(ctx, connect.NewRequest(&tollgatev1.RevokeKeyRequest{Id: keyID})); err != nil {
		t.Fatal(err)
	}
	revokedAt := time.Now()
	testutil.Eventually(t, func() error {
		_, err := onB.Chat(ctx, connect.NewRequest(chatReq("hi")))
		if connect.CodeOf(err) != connect.CodeUnauthenticated {
			return fmt.Errorf("revoked key still accepted by replica B: %v", err)
		}
		return nil
	})
	t.Logf("revoke reached replica B after %s", time.Since(revokedAt))
}

func TestInvalidRequests(t *testing.T) {
	t.Parallel()
	e := start(t)
	c := e.inference(e.key)
	temp := 3.0
	tests := []struct {
		name string
		req  *tollgatev1.ChatRequest
		code connect.Code
		want string
	}{
		{"no model", &tollgatev1.ChatRequest{Messages: []*tollgatev1.Message{userMsg("x")}}, connect.CodeInvalidArgument, "model: is required"},
		{"no messages", &tollgatev1.ChatRequest{Model: servertest.ChatModel}, connect.CodeInvalidArgument, "messages: must contain"},
		{"no role", &tollgatev1.ChatRequest{Model: servertest.ChatModel, Messages: []*tollgatev1.Message{{Content: userMsg("x").Content}}}, connect.CodeInvalidArgument, "messages[0].role"},
		{"tool without id", &tollgatev1.ChatRequest{Model: servertest.ChatModel, Messages: []*tollgatev1.Message{userMsg("x"),
			{Role: tollgatev1.Role_ROLE_TOOL, Content: userMsg("r").Content}}}, connect.CodeInvalidArgument, "messages[1].tool_call_id"},
		{"temperature", &tollgatev1.ChatRequest{Model: servertest.ChatModel, Messages: []*tollgatev1.Message{userMsg("x")}, Temperature: &temp}, connect.CodeInvalidArgument, "temperature"},
		{"bad tool name", &tollgatev1.ChatRequest{Model: servertest.ChatModel, Messages: []*tollgatev1.Message{userMsg("x")},
			Tools: []*tollgatev1.Tool{{Name: "has space"}}}, connect.CodeInvalidArgument, "tools[0].name"},
		{"unknown model", &tollgatev1.ChatRequest{Model: "nope", Messages: []*tollgatev1.Message{userMsg("x")}}, connect.CodeNotFound, "model not found"},
		{"embedding model for chat", &tollgatev1.ChatRequest{Model: servertest.EmbeddingModel, Messages: []*tollgatev1.Message{userMsg("x")}}, connect.CodeInvalidArgument, "embedding model"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Chat(context.Background(), connect.NewRequest(tt.req))
			if connect.CodeOf(err) != tt.code || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %v containing %q", err, tt.code, tt.want)
			}
		})
	}
	// Oversized bodies are refused before they are read whole, as
	// invalid (never resource_exhausted, which clients retry), in every
	// protocol.
	big := chatReq(strings.Repeat("x", 10<<20))
	for _, p := range []struct {
		name string
		opts []connect.ClientOption
	}{{"connect", nil}, {"grpc", []connect.ClientOption{connect.WithGRPC()}}, {"grpc-web", []connect.ClientOption{connect.WithGRPCWeb()}}} {
		c := e.inference(e.key, p.opts...)
		if _, err := c.Chat(context.Background(), connect.NewRequest(big)); connect.CodeOf(err) != connect.CodeInvalidArgument ||
			!strings.Contains(err.Error(), "exceeds the gateway's limit") {
			t.Errorf("%s: oversized body: %v", p.name, err)
		}
		s, err := c.ChatStream(context.Background(), connect.NewRequest(&tollgatev1.ChatStreamRequest{Request: big}))
		if err == nil {
			for s.Receive() {
			}
			err = s.Err()
		}
		if connect.CodeOf(err) != connect.CodeInvalidArgument {
			t.Errorf("%s: oversized stream request: %v", p.name, err)
		}
	}
	// Admin input is validated too.
	_, err := e.gw.Admin.CreateProvider(context.Background(), connect.NewRequest(&tollgatev1.CreateProviderRequest{
		Provider: &tollgatev1.Provider{Id: "Bad ID", Type: tollgatev1.ProviderType_PROVIDER_TYPE_OPENAI}}))
	if connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), "provider.id") {
		t.Fatalf("bad provider id: %v", err)
	}
	_, err = e.gw.Admin.CreateTeam(context.Background(), connect.NewRequest(&tollgatev1.CreateTeamRequest{Team: &tollgatev1.Team{Id: servertest.TeamID}}))
	if connect.CodeOf(err) != connect.CodeAlreadyExists {
		t.Fatalf("duplicate team: %v", err)
	}
}

func TestUpstreamErrorsMapToCodes(t *testing.T) {
	t.Parallel()
	e := start(t)
	c := e.inference(e.key)
	tests := []struct {
		name  string
		fault fakeupstream.Fault
		code  connect.Code
	}{
		{"429", fakeupstream.RateLimitFault(2 * time.Second), connect.CodeResourceExhausted},
		{"500", fakeupstream.StatusFault(500), connect.CodeUnavailable},
		{"400", fakeupstream.StatusFault(400), connect.CodeInvalidArgument},
		{"reset", fakeupstream.ResetFault(), connect.CodeUnavailable},
	}
	for _, tt := range tests {
		e.upstream.Enqueue(tt.fault)
		if tt.code != connect.CodeInvalidArgument {
			// Plain models are retried once (package routing): fail both attempts.
			e.upstream.Enqueue(tt.fault)
		}
		_, err := c.Chat(context.Background(), connect.NewRequest(chatReq("x")))
		if connect.CodeOf(err) != tt.code {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.code)
		}
	}
}

// TestCredentialNeverLeaks checks that a provider credential is sealed in
// the database and appears in no response, error or log line.
func TestCredentialNeverLeaks(t *testing.T) {
	t.Parallel()
	e := start(t)
	ctx := context.Background()
	var seen strings.Builder
	p, err := e.gw.Admin.GetProvider(ctx, connect.NewRequest(&tollgatev1.GetProviderRequest{Id: servertest.ProviderID}))
	if err != nil || !p.Msg.GetProvider().GetHasCredential() {
		t.Fatalf("GetProvider = %v, %v", p, err)
	}
	seen.WriteString(p.Msg.String())
	list, _ := e.gw.Admin.ListProviders(ctx, connect.NewRequest(&tollgatev1.ListProvidersRequest{}))
	seen.WriteString(list.Msg.String())
	// Make the upstream fail in several ways, echoing the Authorization header.
	c := e.inference(e.key)
	for _, f := range []fakeupstream.Fault{fakeupstream.StatusFault(401), fakeupstream.StatusFault(500), fakeupstream.ResetFault()} {
		e.upstream.Enqueue(f)
		if f.Status != http.StatusUnauthorized {
			// Plain models are retried once (package routing): fail both attempts.
			e.upstream.Enqueue(f)
		}
		_, err := c.Chat(ctx, connect.NewRequest(chatReq("x")))
		if err == nil {
			t.Fatal("want an error")
		}
		seen.WriteString(err.Error())
	}
	resp, err := c.Chat(ctx, connect.NewRequest(chatReq("fine")))
	if err != nil {
		t.Fatal(err)
	}
	seen.WriteString(resp.Msg.String())
	e.gw.Stop()
	seen.WriteString(e.gw.Logs.String())
	if strings.Contains(seen.String(), servertest.UpstreamKey) || strings.Contains(seen.String(), "SECRET-4f9a") {
		t.Fatal("the provider credential leaked into a response, error or log")
	}
	if !strings.Contains(e.gw.Logs.String(), `"msg":"request"`) {
		t.Fatal("no request logs captured: the leak check would be vacuous")
	}

	conn, err := pgx.Connect(ctx, e.gw.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var sealed []byte
	if err := conn.QueryRow(ctx, "SELECT sealed_credential FROM providers WHERE id = $1", servertest.ProviderID).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if len(sealed) == 0 || bytes.Contains(sealed, []byte(servertest.UpstreamKey)) {
		t.Fatalf("credential stored in plain text or not at all: %q", sealed)
	}
	var dump strings.Builder
	rows, _ := conn.Query(ctx, "SELECT row_to_json(p)::text FROM providers p")
	for rows.Next() {
		var s string
		_ = rows.Scan(&s)
		dump.WriteString(s)
	}
	if strings.Contains(dump.String(), servertest.UpstreamKey) {
		t.Fatal("credential readable in the providers table")
	}
}

func TestUsageRecords(t *testing.T) {
	t.Parallel()
	e := start(t)
	ctx := context.Background()
	c := e.inference(e.key)
	for i := range 3 {
		req := chatReq("count me")
		req.EndUser = "user-" + string(rune('a'+i))
		if _, err := c.Chat(ctx, connect.NewRequest(req)); err != nil {
			t.Fatal(err)
		}
	}
	_, _ = e.inference("tg-wrongwrongwrongwrongwrong").Chat(ctx, connect.NewRequest(chatReq("x")))
	usage := tollgatev1connect.NewUsageServiceClient(http.DefaultClient, e.gw.URL, connect.WithInterceptors(servertest.BearerInterceptor(e.gw.AdminToken)))
	var recs []*tollgatev1.RequestRecord
	testutil.Eventually(t, func() error {
		resp, err := usage.ListRequestRecords(ctx, connect.NewRequest(&tollgatev1.ListRequestRecordsRequest{}))
		if err != nil {
			t.Fatal(err)
		}
		if recs = resp.Msg.GetRecords(); len(recs) < 4 {
			return fmt.Errorf("%d records, want 4", len(recs))
		}
		return nil
	})
	if len(recs) != 4 {
		t.Fatalf("%d records, want 4", len(recs))
	}
	var ok, unauth int
	for _, r := range recs {
		switch r.GetStatus() {
		case tollgatev1.RequestStatus_REQUEST_STATUS_OK:
			ok++
			if r.GetTeamId() != servertest.TeamID || r.GetProvider() != servertest.ProviderID || r.GetUsage().GetInputTokens() == 0 || r.GetCost() == nil || !strings.HasPrefix(r.GetEndUser(), "user-") {
				t.Errorf("incomplete record: %v", r)
			}
		case tollgatev1.RequestStatus_REQUEST_STATUS_UNAUTHENTICATED:
			unauth++
		}
	}
	if ok != 3 || unauth != 1 {
		t.Fatalf("ok=%d unauth=%d", ok, unauth)
	}
	sum, err := usage.GetUsageSummary(ctx, connect.NewRequest(&tollgatev1.GetUsageSummaryRequest{
		GroupBy: []tollgatev1.UsageDimension{tollgatev1.UsageDimension_USAGE_DIMENSION_TEAM, tollgatev1.UsageDimension_USAGE_DIMENSION_MODEL}}))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Msg.GetTotal().GetRequests() != 4 {
		t.Fatalf("summary total = %v", sum.Msg.GetTotal())
	}
	// A virtual key sees only its team.
	keyUsage := tollgatev1connect.NewUsageServiceClient(http.DefaultClient, e.gw.URL, connect.WithInterceptors(servertest.BearerInterceptor(e.key)))
	if _, err := keyUsage.ListRequestRecords(ctx, connect.NewRequest(&tollgatev1.ListRequestRecordsRequest{TeamId: "other-team"})); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("key reading another team: %v", err)
	}
	own, err := keyUsage.ListRequestRecords(ctx, connect.NewRequest(&tollgatev1.ListRequestRecordsRequest{}))
	if err != nil || len(own.Msg.GetRecords()) != 3 {
		t.Fatalf("key reading own team: %d records, %v", len(own.Msg.GetRecords()), err)
	}
}

func TestGracefulShutdownDrainsStreams(t *testing.T) {
	t.Parallel()
	e := start(t, fakeupstream.WithChunks(5), fakeupstream.WithChunkDelay(100*time.Millisecond))
	stream, err := e.inference(e.key).ChatStream(context.Background(), connect.NewRequest(&tollgatev1.ChatStreamRequest{Request: chatReq("one two three four five")}))
	if err != nil {
		t.Fatal(err)
	}
	if !stream.Receive() {
		t.Fatalf("no first event: %v", stream.Err())
	}
	text := stream.Msg().GetChoices()[0].GetText()
	go e.gw.Stop() // SIGTERM equivalent, while the stream is in flight
	for stream.Receive() {
		for _, ch := range stream.Msg().GetChoices() {
			text += ch.GetText()
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("stream cut by shutdown: %v", err)
	}
	if text != "echo: one two three four five" {
		t.Fatalf("text = %q", text)
	}
}

// TestLongGRPCURL drives the gateway with grpcurl, as an operator would.
// It runs in make test-long, which builds grpcurl: with its xDS support,
// grpcurl's own packages cost about a minute of CPU on a fresh machine,
// more than the whole of this package. TestReflection covers in make test
// what grpcurl needs of the gateway.
func TestLongGRPCURL(t *testing.T) {
	testutil.Long(t)
	t.Parallel()
	grpcurl := findTool(t, "grpcurl")
	e := start(t)
	out := runTool(t, grpcurl, "-plaintext", e.gw.Addr, "list")
	for _, svc := range []string{"tollgate.v1.InferenceService", "tollgate.v1.CatalogService", "tollgate.v1.TeamService",
		"tollgate.v1.PolicyService", "tollgate.v1.UsageService", "grpc.health.v1.Health"} {
		if !strings.Contains(out, svc) {
			t.Fatalf("grpcurl list lacks %s:\n%s", svc, out)
		}
	}
	out = runTool(t, grpcurl, "-plaintext", "-H", "authorization: Bearer "+e.key,
		"-d", `{"model":"gpt-4o-mini","messages":[{"role":"ROLE_USER","content":[{"text":"from grpcurl"}]}]}`,
		e.gw.Addr, "tollgate.v1.InferenceService/Chat")
	if !strings.Contains(out, `"text": "echo: from grpcurl"`) {
		t.Fatalf("grpcurl Chat:\n%s", out)
	}
	out = runTool(t, grpcurl, "-plaintext", "-H", "authorization: Bearer "+e.gw.AdminToken, e.gw.Addr, "tollgate.v1.CatalogService/ListProviders")
	if !strings.Contains(out, `"hasCredential": true`) || strings.Contains(out, servertest.UpstreamKey) {
		t.Fatalf("grpcurl ListProviders:\n%s", out)
	}
}

func findTool(t *testing.T, name string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	local := filepath.Join(filepath.Dir(file), "..", "..", ".bin", name)
	if _, err := os.Stat(local); err == nil {
		return local
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	t.Fatalf("%s not found: run `make tools` (make test-long does)", name)
	return ""
}

func runTool(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", filepath.Base(bin), args, err, out)
	}
	return string(out)
}

// TestMetrics checks where /metrics is served: not on the API port by
// default, on it with the metrics token, and on -metrics-addr.
func TestMetrics(t *testing.T) {
	t.Parallel()
	up, url := fakeupstream.StartOpenAI(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr := ln.Addr().String()
	ln.Close()
	const token = "metrics-token-0123456789"
	gw := servertest.Start(t, servertest.Options{Config: func(c *server.Config) { c.MetricsAddr, c.MetricsToken = metricsAddr, token }})
	e := &env{gw: gw, upstream: up, key: gw.Setup(t, url)}
	if _, err := e.inference(e.key).Chat(context.Background(), connect.NewRequest(chatReq("metered"))); err != nil {
		t.Fatal(err)
	}
	get := func(url, auth string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, _ := get(e.gw.URL+"/metrics", ""); code != http.StatusUnauthorized {
		t.Errorf("API port without the token: %d, want 401", code)
	}
	if code, _ := get(e.gw.URL+"/metrics", "wrong"); code != http.StatusUnauthorized {
		t.Errorf("API port with a wrong token: %d, want 401", code)
	}
	for _, src := range []struct{ url, auth string }{{e.gw.URL + "/metrics", token}, {"http://" + metricsAddr + "/metrics", ""}} {
		code, body := get(src.url, src.auth)
		for _, want := range []string{"tollgate_accounting_records_recorded_total 1", "go_goroutines", "tollgate_accounting_records_dropped_total 0",
			`tollgate_inflight_limit{pool="main"}`, "tollgate_ready 1", "tollgate_config_stale 0", "tollgate_postgres_up 1"} {
			if code != http.StatusOK || !strings.Contains(body, want) {
				t.Fatalf("%s: %d, lacks %q:\n%s", src.url, code, want, body)
			}
		}
	}
	// Without a token, the API port has no /metrics at all.
	plain := servertest.Start(t, servertest.Options{Config: func(c *server.Config) { c.MetricsToken = "" }})
	if code, _ := get(plain.URL+"/metrics", ""); code != http.StatusNotFound {
		t.Errorf("default API port /metrics: %d, want 404", code)
	}
}

// TestServesThroughPostgresOutage stops Postgres under a running gateway:
// requests keep being answered from memory, and every request record
// reaches the database once it is back. The gateway's database is on a
// private cluster, so no other test sees the outage.
func TestServesThroughPostgresOutage(t *testing.T) {
	t.Parallel()
	cluster := pgtest.PrivateCluster(t)
	up, url := fakeupstream.StartOpenAI(t)
	gw := servertest.Start(t, servertest.Options{DatabaseURL: cluster.NewMigratedDatabase(t)})
	e := &env{gw: gw, upstream: up, key: gw.Setup(t, url)}
	ctx := context.Background()
	c := e.inference(e.key)
	const before, during = 5, 20
	for range before {
		if _, err := c.Chat(ctx, connect.NewRequest(chatReq("before"))); err != nil {
			t.Fatal(err)
		}
	}
	if err := cluster.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	restarted := false
	defer func() {
		if !restarted {
			_ = cluster.Start(ctx)
		}
	}()
	for range during {
		if _, err := c.Chat(ctx, connect.NewRequest(chatReq("during"))); err != nil {
			t.Fatalf("request failed while Postgres was down: %v", err)
		}
	}
	// The writer has tried to store the records and failed at least once.
	testutil.Eventually(t, func() error {
		if n := e.gw.Metric(t, "tollgate_accounting_batch_failures_total"); n < 1 {
			return fmt.Errorf("%v failed batches, want at least 1", n)
		}
		return nil
	})
	if err := cluster.Start(ctx); err != nil {
		t.Fatal(err)
	}
	restarted = true
	conn, err := pgx.Connect(ctx, e.gw.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	testutil.Eventually(t, func() error {
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM request_records").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != before+during {
			return fmt.Errorf("%d records stored, want %d", n, before+during)
		}
		return nil
	})
}
