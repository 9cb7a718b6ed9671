package interop_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/internal/testutil"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// withKey adds the credential as gRPC metadata, as any gRPC client does.
func withKey(ctx context.Context, key string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+key)
}

func TestGRPCGoClient(t *testing.T) {
	t.Parallel()
	_, upURL := fakeupstream.StartOpenAI(t, fakeupstream.WithChunks(3))

	plain := servertest.Start(t, servertest.Options{})
	plainKey := plain.Setup(t, upURL)
	secure := startTLSGateway(t)
	secureKey := secure.setup(t, upURL)

	tests := []struct {
		name   string
		target string
		creds  credentials.TransportCredentials
		key    string
	}{
		{"h2c", plain.Addr, insecure.NewCredentials(), plainKey},
		{"tls", secure.addr, credentials.NewTLS(&tls.Config{RootCAs: secure.pool, MinVersion: tls.VersionTLS12}), secureKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			conn, err := grpc.NewClient(tt.target, grpc.WithTransportCredentials(tt.creds))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			c := tollgatev1.NewInferenceServiceClient(conn)
			ctx := withKey(context.Background(), tt.key)

			var header metadata.MD
			resp, err := c.Chat(ctx, chatReq("via "+tt.name), grpc.Header(&header))
			if err != nil {
				t.Fatalf("Chat: %v", err)
			}
			if got, want := resp.GetChoices()[0].GetMessage().GetContent()[0].GetText(), "echo: via "+tt.name; got != want {
				t.Fatalf("reply = %q, want %q", got, want)
			}
			if ids := header.Get("x-request-id"); len(ids) != 1 || ids[0] != resp.GetId() {
				t.Fatalf("x-request-id header %q, response id %q", ids, resp.GetId())
			}

			st, err := c.ChatStream(ctx, &tollgatev1.ChatStreamRequest{Request: chatReq("stream via " + tt.name)})
			if err != nil {
				t.Fatal(err)
			}
			var text strings.Builder
			events := 0
			for {
				m, err := st.Recv()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatalf("stream: %v", err)
				}
				events++
				for _, ch := range m.GetChoices() {
					text.WriteString(ch.GetText())
				}
			}
			if want := "echo: stream via " + tt.name; text.String() != want || events < 3 {
				t.Fatalf("streamed %q in %d events, want %q in 3 or more", text.String(), events, want)
			}

			models, err := c.ListModels(ctx, &tollgatev1.ListModelsRequest{})
			if err != nil || len(models.GetModels()) == 0 {
				t.Fatalf("ListModels = %v, %v", models, err)
			}

			_, err = c.Chat(withKey(context.Background(), "tg-not-a-real-key"), chatReq("x"))
			if status.Code(err) != codes.Unauthenticated {
				t.Fatalf("bad key: %v, want Unauthenticated", err)
			}
			_, err = tollgatev1.NewTeamServiceClient(conn).ListKeys(ctx, &tollgatev1.ListKeysRequest{})
			if status.Code(err) != codes.Unauthenticated {
				t.Fatalf("admin call with a virtual key: %v, want Unauthenticated", err)
			}
		})
	}
}

func TestCancellationReachesUpstream(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// upstream makes the fake upstream slow.
		upstream []fakeupstream.Option
		// call runs a request that the upstream holds for a long time and
		// stops it from the client side; it returns the client's error.
		call       func(ctx context.Context, c tollgatev1.InferenceServiceClient) error
		wantCode   codes.Code
		wantStatus func(tollgatev1.RequestStatus) bool
	}{
		{
			name:     "unary cancel",
			upstream: []fakeupstream.Option{fakeupstream.WithLatency(10 * time.Second)},
			call: func(ctx context.Context, c tollgatev1.InferenceServiceClient) error {
				ctx, cancel := context.WithCancel(ctx)
				time.AfterFunc(300*time.Millisecond, cancel)
				_, err := c.Chat(ctx, chatReq("cancel me"))
				return err
			},
			wantCode:   codes.Canceled,
			wantStatus: func(s tollgatev1.RequestStatus) bool { return s == tollgatev1.RequestStatus_REQUEST_STATUS_CANCELED },
		},
		{
			name:     "stream cancel mid-stream",
			upstream: []fakeupstream.Option{fakeupstream.WithChunks(8), fakeupstream.WithChunkDelay(2 * time.Second)},
			call: func(ctx context.Context, c tollgatev1.InferenceServiceClient) error {
				ctx, cancel := context.WithCancel(ctx)
				defer cancel()
				st, err := c.ChatStream(ctx, &tollgatev1.ChatStreamRequest{Request: chatReq("one two three four five six seven eight")})
				if err != nil {
					return err
				}
				if _, err := st.Recv(); err != nil {
					return err
				}
				cancel()
				for {
					if _, err := st.Recv(); err != nil {
						return err
					}
				}
			},
			wantCode:   codes.Canceled,
			wantStatus: func(s tollgatev1.RequestStatus) bool { return s == tollgatev1.RequestStatus_REQUEST_STATUS_CANCELED },
		},
		{
			name:     "unary deadline",
			upstream: []fakeupstream.Option{fakeupstream.WithLatency(10 * time.Second)},
			call: func(ctx context.Context, c tollgatev1.InferenceServiceClient) error {
				ctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
				defer cancel()
				_, err := c.Chat(ctx, chatReq("too slow"))
				return err
			},
			wantCode:   codes.DeadlineExceeded,
			wantStatus: func(s tollgatev1.RequestStatus) bool { return s != tollgatev1.RequestStatus_REQUEST_STATUS_OK },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			up, upURL := fakeupstream.StartOpenAI(t, tt.upstream...)
			gw := servertest.Start(t, servertest.Options{})
			key := gw.Setup(t, upURL)
			conn, err := grpc.NewClient(gw.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()

			start := time.Now()
			err = tt.call(withKey(context.Background(), key), tollgatev1.NewInferenceServiceClient(conn))
			if status.Code(err) != tt.wantCode {
				t.Fatalf("client error %v, want %v", err, tt.wantCode)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("the call took %v to stop", d)
			}

			// The gateway aborts its upstream call...
			waitFor(t, "the upstream to see the cancellation", func() bool { return up.Cancelled() >= 1 })
			// ...and records the request as not completed.
			usage := servertest.BearerInterceptor(gw.AdminToken)
			var rec *tollgatev1.RequestRecord
			waitFor(t, "the request record", func() bool {
				resp, err := newUsageClient(gw.URL, usage).ListRequestRecords(context.Background(), connect.NewRequest(&tollgatev1.ListRequestRecordsRequest{}))
				if err != nil {
					t.Fatalf("ListRequestRecords: %v", err)
				}
				if recs := resp.Msg.GetRecords(); len(recs) > 0 {
					rec = recs[0]
					return true
				}
				return false
			})
			if !tt.wantStatus(rec.GetStatus()) {
				t.Fatalf("record status %v (error code %q)", rec.GetStatus(), rec.GetErrorCode())
			}
		})
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testutil.Eventually(t, func() error {
		if !cond() {
			return fmt.Errorf("waiting for %s", what)
		}
		return nil
	})
}
