package testutil_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/testutil"
)

func TestPoll(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		ctx     func() context.Context
		metAt   int32 // the call from which check succeeds; 0 never
		wantErr string
	}{
		{name: "met at once", ctx: context.Background, metAt: 1},
		{name: "met after a few polls", ctx: context.Background, metAt: 5},
		{name: "never met", ctx: context.Background, wantErr: "not so after 50ms: still 0"},
		{name: "context ended", ctx: func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}, wantErr: "still 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int32
			err := testutil.Poll(tt.ctx(), 50*time.Millisecond, func() error {
				if n := calls.Add(1); tt.metAt == 0 || n < tt.metAt {
					return errors.New("still 0")
				}
				return nil
			})
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Poll = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Poll = %v, want an error containing %q", err, tt.wantErr)
			case tt.metAt > 0 && calls.Load() != tt.metAt:
				t.Errorf("check called %d times, want %d", calls.Load(), tt.metAt)
			}
		})
	}
}

func TestClock(t *testing.T) {
	t.Parallel()
	var c testutil.Clock
	before := time.Now()
	if got := c.Now(); got.Before(before) || got.Sub(before) > time.Minute {
		t.Fatalf("zero Clock.Now = %v, want about %v", got, before)
	}
	c.Advance(time.Hour)
	c.Advance(30 * time.Minute)
	if got := time.Until(c.Now()); got < 89*time.Minute || got > 91*time.Minute {
		t.Errorf("after advancing 1h30m, Now is %v ahead of real time", got)
	}
}

func TestBuffer(t *testing.T) {
	t.Parallel()
	var b testutil.Buffer
	for range 3 {
		if _, err := b.Write([]byte("reconnecting\n")); err != nil {
			t.Fatal(err)
		}
	}
	if n := b.Count("reconnecting"); n != 3 {
		t.Errorf("Count = %d, want 3", n)
	}
}

// TestLongNameChecked runs Long in a test named TestLong...: it must not
// fail, and it skips only under -short without TOLLGATE_LONG_TESTS=1.
func TestLongNameChecked(t *testing.T) {
	t.Run("gate", func(t *testing.T) {
		testutil.Long(t)
		if testing.Short() {
			t.Log("running under -short: TOLLGATE_LONG_TESTS=1 is set")
		}
	})
}
