package gctune

import (
	"io"
	"log/slog"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestPercent(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		name           string
		live, headroom uint64
		base, want     int
	}{
		{"small heap gets the headroom", 8 * mib, 32 * mib, 100, 400},
		{"rounded up", 3 * mib, 10 * mib, 100, 334},
		{"capped", 1 * mib, 32 * mib, 100, MaxPercent},
		{"large heap paced by default", 64 * mib, 32 * mib, 100, 100},
		{"equal growth", 32 * mib, 32 * mib, 100, 100},
		{"operator's higher base kept", 8 * mib, 32 * mib, 500, 500},
		{"nothing live yet", 0, 32 * mib, 100, MaxPercent},
		{"no headroom", 8 * mib, 0, 100, 100},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Percent(tc.live, tc.headroom, tc.base); got != tc.want {
				t.Errorf("Percent(%d, %d, %d) = %d, want %d", tc.live, tc.headroom, tc.base, got, tc.want)
			}
		})
	}
}

// gcPercent reads the runtime's GC percentage without changing it.
func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// TestTunerFollowsLiveHeap runs the tuner on this process: after
// collections it sets the runtime's percentage from the live heap, raises
// it when most of the heap is freed, and restores the base when stopped.
func TestTunerFollowsLiveHeap(t *testing.T) {
	defer debug.SetGCPercent(gcPercent())
	const headroom = 256 << 20 // far above this test's live heap
	// A live heap larger than the headroom: default pacing.
	big := make([][]byte, 0, 512)
	for range 512 {
		big = append(big, make([]byte, 1<<20))
	}
	runtime.GC()
	tu := Start(headroom, 100, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer tu.Stop()
	waitFor(t, tu, func() bool { return tu.Percent() == 100 && gcPercent() == 100 }, "GOGC 100 with 512 MiB live")

	// Most of it freed: the next collections see a small live heap.
	runtime.KeepAlive(big)
	big = nil
	waitFor(t, tu, func() bool { return tu.Percent() > 400 && gcPercent() == tu.Percent() }, "a raised GOGC with a few MiB live")

	tu.Stop()
	if got := gcPercent(); got != 100 {
		t.Errorf("after Stop the GC percentage is %d, want the base 100", got)
	}
	runs := tu.Runs()
	runtime.GC()
	runtime.GC()
	time.Sleep(50 * time.Millisecond)
	if tu.Runs() != runs || gcPercent() != 100 {
		t.Errorf("the tuner ran after Stop (runs %d -> %d, GOGC %d)", runs, tu.Runs(), gcPercent())
	}
}

// waitFor runs collections until cond holds, failing after 10 s.
func waitFor(t *testing.T, tu *Tuner, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s after 10 s: tuner GOGC %d, runtime GOGC %d, %d runs", what, tu.Percent(), gcPercent(), tu.Runs())
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}
