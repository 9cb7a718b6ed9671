// Package testutil holds the small helpers Tollgate's tests share instead
// of sleeping: [Eventually] polls for a condition that background work
// makes true, [Clock] lets a test move the time of the code under test
// forward, and [Long] gates the few tests too slow for every run.
package testutil

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// DefaultTimeout is how long [Eventually] waits: far more than any
// condition needs on a quiet machine, so that a loaded one does not flake.
const DefaultTimeout = 20 * time.Second

// Eventually calls check until it returns nil and fails the test with
// check's last error if that has not happened within [DefaultTimeout]. It
// polls often at first (from 1 ms, backing off to 25 ms), so a condition
// that is met quickly costs little time. check runs on the test's goroutine
// and may call t.Fatal.
func Eventually(t testing.TB, check func() error) {
	t.Helper()
	EventuallyWithin(t, DefaultTimeout, check)
}

// EventuallyWithin is [Eventually] with another timeout.
func EventuallyWithin(t testing.TB, timeout time.Duration, check func() error) {
	t.Helper()
	if err := Poll(context.Background(), timeout, check); err != nil {
		t.Fatal(err)
	}
}

// Poll calls check until it returns nil, the timeout passes or ctx ends,
// and then returns nil or an error wrapping check's last error. It is
// [Eventually] for helpers that report failure themselves.
func Poll(ctx context.Context, timeout time.Duration, check func() error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	wait := time.Millisecond
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	for {
		err := check()
		if err == nil {
			return nil
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return fmt.Errorf("not so after %v: %w", timeout, err)
		case <-timer.C:
		}
		wait = min(2*wait, 25*time.Millisecond)
	}
}

// Clock is a clock for the code under test that runs with real time but
// can be moved forward: Now is time.Now plus every Advance so far. Real
// time keeps flowing, so background loops that sleep on real timers still
// run, while deadlines and lifetimes computed from Now can be passed at
// once. Its methods are safe for concurrent use; the zero value is a clock
// at real time.
type Clock struct {
	mu     sync.Mutex
	offset time.Duration
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// LongEnv, when set to 1, makes [Long] run long tests even under -short.
const LongEnv = "TOLLGATE_LONG_TESTS"

// Long marks a test that takes long (over about 20 seconds of wall time, or
// heavy CPU) as one that `make test` skips: it skips the test under
// -short, which `make test` passes, unless [LongEnv] is 1. `make test-long`
// (run by CI) runs the packages that call Long with -run '^TestLong', so a
// long test's name must start with TestLong; Long fails a test whose
// top-level name does not. A plain `go test` (without -short) runs
// everything, as usual in Go.
func Long(t testing.TB) {
	t.Helper()
	if top, _, _ := strings.Cut(t.Name(), "/"); !strings.HasPrefix(top, "TestLong") {
		t.Fatalf("testutil.Long: %s must be named TestLong... so that make test-long selects it", top)
	}
	if testing.Short() && os.Getenv(LongEnv) != "1" {
		t.Skip("long test: skipped under -short; make test-long runs it")
	}
}

// Buffer is a bytes.Buffer safe for concurrent writes and reads, for
// collecting the logs of code under test (slog.NewTextHandler(&buf, nil))
// and polling them with [Eventually].
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write implements io.Writer.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Count returns how many times substr occurs in what was written so far.
func (b *Buffer) Count(substr string) int { return strings.Count(b.String(), substr) }

// SameDecode checks a hand-written fast decoder against the full one: when
// fast accepts body, full must decode it without error into an equal
// value. It reports whether fast accepted.
func SameDecode[T any](t testing.TB, body []byte, fast func([]byte, *T) bool, full func([]byte) (*T, error)) bool {
	t.Helper()
	var got T
	if !fast(body, &got) {
		return false
	}
	want, err := full(body)
	if err != nil {
		t.Fatalf("%q: the full decoder refuses what the fast path read: %v", body, err)
	}
	if !reflect.DeepEqual(&got, want) {
		t.Fatalf("%q:\nfast %+v\nfull %+v", body, got, *want)
	}
	return true
}
