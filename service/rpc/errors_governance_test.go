package rpc

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	"github.com/tollgate-dev/tollgate/service/governance"
)

func TestLimitErrorToConnect(t *testing.T) {
	t.Parallel()
	reset := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		err       error
		subject   string
		reason    string
		retry     time.Duration
		wantRetry bool
	}{
		{"budget", fmt.Errorf("chat: %w", &governance.LimitError{Budget: true, ID: "b1", Scope: "team", Subject: "team-a",
			Period: "monthly", Dimension: governance.DimCost, Limit: 10, Reset: reset}), "team:team-a", "BUDGET_EXCEEDED", 0, false},
		{"rate limit", &governance.LimitError{ID: "r1", Scope: "key", Subject: "k1", Dimension: governance.DimRequests,
			Limit: 60, Reset: reset, RetryAfter: 1500 * time.Millisecond}, "key:k1", "RATE_LIMITED", 1500 * time.Millisecond, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ce, ok := toConnectError(context.Background(), slog.New(slog.DiscardHandler), tt.err).(*connect.Error)
			if !ok || ce.Code() != connect.CodeResourceExhausted {
				t.Fatalf("got %v, want a ResourceExhausted connect error", ce)
			}
			var quota, info, retry bool
			for _, d := range ce.Details() {
				v, err := d.Value()
				if err != nil {
					t.Fatal(err)
				}
				switch v := v.(type) {
				case *errdetails.QuotaFailure:
					quota = v.GetViolations()[0].GetSubject() == tt.subject
				case *errdetails.ErrorInfo:
					info = v.GetReason() == tt.reason && v.GetMetadata()["reset"] == "2026-12-01T00:00:00Z"
				case *errdetails.RetryInfo:
					retry = v.GetRetryDelay().AsDuration() == tt.retry
				}
			}
			if !quota || !info || retry != tt.wantRetry {
				t.Errorf("details: quota %v info %v retry %v; want true true %v", quota, info, retry, tt.wantRetry)
			}
		})
	}
}
