package rpc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/type/money"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/gateway"
	"github.com/tollgate-dev/tollgate/service/store"
)

func TestToConnectError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		code connect.Code
		msg  string
	}{
		{"unauthenticated", fmt.Errorf("%w: key revoked", gateway.ErrUnauthenticated), connect.CodeUnauthenticated, "key revoked"},
		{"permission", fmt.Errorf("%w: nope", gateway.ErrPermissionDenied), connect.CodePermissionDenied, "nope"},
		{"model", fmt.Errorf("%w: \"x\"", gateway.ErrModelNotFound), connect.CodeNotFound, "model not found"},
		{"invalid", &gateway.InvalidRequestError{Param: "messages", Message: "empty"}, connect.CodeInvalidArgument, "messages: empty"},
		{"unavailable", gateway.ErrUnavailable, connect.CodeUnavailable, "unavailable"},
		{"store not found", fmt.Errorf("team %q: %w", "t", store.ErrNotFound), connect.CodeNotFound, "team"},
		{"conflict", store.ErrConflict, connect.CodeAlreadyExists, "exists"},
		{"in use", store.ErrInUse, connect.CodeFailedPrecondition, "in use"},
		{"upstream 429", &providers.Error{Provider: "p", Kind: providers.KindRateLimited, Status: 429, RetryAfter: time.Second}, connect.CodeResourceExhausted, "provider p"},
		{"upstream 500", &providers.Error{Provider: "p", Kind: providers.KindServer, Status: 500}, connect.CodeUnavailable, "provider p"},
		{"upstream 400", &providers.Error{Provider: "p", Kind: providers.KindInvalidRequest, Status: 400}, connect.CodeInvalidArgument, "provider p"},
		{"upstream context", &providers.Error{Provider: "p", Kind: providers.KindContextLength, Status: 400}, connect.CodeInvalidArgument, "context"},
		{"upstream timeout", &providers.Error{Provider: "p", Kind: providers.KindTimeout}, connect.CodeDeadlineExceeded, "timeout"},
		{"gateway credential rejected", &providers.Error{Provider: "p", Kind: providers.KindAuthentication, Status: 401}, connect.CodeInternal, "rejected the gateway's credential"},
		{"canceled", context.Canceled, connect.CodeCanceled, "canceled"},
		{"internal hides details", errors.New("pq: password=hunter2"), connect.CodeInternal, "internal error; request id req_"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := toConnectError(gateway.WithRequestID(context.Background(), "req_test"), slog.New(slog.DiscardHandler), tt.err)
			if connect.CodeOf(err) != tt.code || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("got %v (%v), want %v containing %q", connect.CodeOf(err), err, tt.code, tt.msg)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatal("internal detail leaked")
			}
		})
	}
}

func TestMoney(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      *money.Money
		nanos   int64
		wantErr string
	}{
		{"nil", nil, 0, ""},
		{"dollars and nanos", &money.Money{CurrencyCode: "USD", Units: 2, Nanos: 500_000_000}, 2_500_000_000, ""},
		{"no currency", &money.Money{Nanos: 150_000_000}, 150_000_000, ""},
		{"euro", &money.Money{CurrencyCode: "EUR", Units: 1}, 0, "currency_code"},
		{"negative", &money.Money{Units: -1}, 0, "negative"},
		{"sign mismatch", &money.Money{Units: 1, Nanos: -1}, 0, "sign"},
		{"nanos overflow", &money.Money{Nanos: 1_000_000_000}, 0, "nanos"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := moneyFromProto("price", tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.nanos {
				t.Fatalf("got %d, %v", got, err)
			}
			if tt.in != nil {
				back := moneyToProto(got)
				if back.GetUnits()*1_000_000_000+int64(back.GetNanos()) != got || back.GetCurrencyCode() != "USD" {
					t.Fatalf("round trip: %v", back)
				}
			}
		})
	}
}
