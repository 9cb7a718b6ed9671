package server

import (
	"testing"
	"time"
)

func TestPool(t *testing.T) {
	t.Parallel()
	var p pool
	p.limit.Store(2)
	for i := range 2 {
		if !p.acquire() {
			t.Fatalf("acquire %d of 2 failed", i+1)
		}
	}
	if p.acquire() {
		t.Fatal("a third acquire over the limit succeeded")
	}
	p.release()
	if !p.acquire() {
		t.Fatal("acquire after a release failed")
	}
	if p.inflight.Load() != 2 || p.shed.Load() != 1 || p.peak.Load() != 2 {
		t.Fatalf("inflight %d shed %d peak %d, want 2 1 2", p.inflight.Load(), p.shed.Load(), p.peak.Load())
	}
}

// TestAdmissionController drives the adaptive limit with a scripted
// scheduler latency.
func TestAdmissionController(t *testing.T) {
	t.Parallel()
	const hard, target = 1000, 10 * time.Millisecond
	tests := []struct {
		name string
		// limit and inflight before the tick; shed during it.
		limit, inflight, shed int64
		lat                   time.Duration
		util                  float64
		want                  int64
	}{
		{"healthy and not binding: back to the hard bound quickly", 100, 10, 0, time.Millisecond, 0.9, 200},
		{"healthy at the hard bound stays", hard, 10, 0, time.Millisecond, 0.9, hard},
		{"healthy but binding: grows by a quarter", 400, 400, 5, time.Millisecond, 0.9, 500},
		{"saturated: cut to three quarters of what is in flight", hard, 200, 0, 2 * target, 0.9, 150},
		{"badly saturated: cut by half", hard, 200, 0, 5 * target, 0.9, 100},
		{"saturated: never below the floor", 40, 10, 0, 5 * target, 0.9, 32},
		{"slow scheduler but little CPU used: others' load, no cut", hard, 200, 0, 5 * target, 0.3, hard},
		{"slow scheduler with CPU to spare: a burst the CPUs absorb, no cut", hard, 200, 0, 5 * target, 0.8, hard},
		{"slow scheduler with CPU to spare while refusing: grows", 300, 300, 20, 2 * target, 0.8, 375},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := newAdmission(hard, 64, true, target)
			a.floor = 32
			a.load = func() (time.Duration, float64) { return tt.lat, tt.util }
			a.main.limit.Store(tt.limit)
			a.main.inflight.Store(tt.inflight)
			a.main.peak.Store(tt.inflight)
			a.main.shedTick.Store(tt.shed)
			a.streak = saturatedTicks - 1 // the previous ticks were slow too, and as busy
			a.streakUtil = float64(a.streak) * tt.util
			a.lastInflight = tt.inflight
			a.tick()
			if got := a.main.limit.Load(); got != tt.want {
				t.Errorf("limit = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestAdmissionControllerWaitsForSustainedSaturation: saturated ticks
// shorter than saturatedTicks in a row (a burst, a GC pause) do not cut
// the limit; a sustained overload does, once, and again only after what
// was in flight came under the new limit.
func TestAdmissionControllerWaitsForSustainedSaturation(t *testing.T) {
	t.Parallel()
	a := newAdmission(1000, 64, true, 10*time.Millisecond)
	a.floor = 16
	saturated := true
	a.load = func() (time.Duration, float64) {
		if saturated {
			return time.Second, 1
		}
		return time.Millisecond, 0.5
	}
	tick := func(inflight int64) int64 {
		a.main.inflight.Store(inflight)
		a.main.peak.Store(inflight)
		a.tick()
		return a.main.limit.Load()
	}
	for i := range saturatedTicks - 1 {
		if got := tick(200); got != 1000 {
			t.Fatalf("limit after %d saturated ticks = %d, want 1000", i+1, got)
		}
	}
	saturated = false // one healthy tick restarts the count
	if got := tick(200); got != 1000 {
		t.Fatalf("limit after a healthy tick = %d, want 1000", got)
	}
	saturated = true
	for range saturatedTicks - 1 {
		if got := tick(200); got != 1000 {
			t.Fatalf("limit before the overload = %d, want 1000", got)
		}
	}
	if got := tick(200); got != 100 {
		t.Fatalf("limit after %d saturated ticks = %d, want 100 (half of what is in flight)", saturatedTicks, got)
	}
	// In flight still 200 > 100: the cut has not shown, so no second cut.
	if got := tick(200); got != 100 {
		t.Fatalf("limit while the cut drains = %d, want 100", got)
	}
	// In flight came under the limit and the CPUs are still saturated:
	// cut again.
	if got := tick(90); got != 45 {
		t.Fatalf("limit once the cut took effect = %d, want 45", got)
	}
	// A cut that never shows is followed by another after recutTicks.
	for range recutTicks - 1 {
		if got := tick(90); got != 45 {
			t.Fatalf("limit while waiting for the cut = %d, want 45", got)
		}
	}
	if got := tick(90); got != 22 {
		t.Fatalf("limit after recutTicks = %d, want 22", got)
	}
}

// TestAdmissionControllerCutsADeepStreakEarly: a streak far above the
// target while the requests in flight keep growing and the CPUs are busy
// (the onset of an overload) is cut after two ticks, as deep as the
// latency is above the target; a streak as slow whose requests in flight
// level off (a burst absorbed), one with CPU to spare, or a single long
// pause, is not cut before saturatedTicks.
func TestAdmissionControllerCutsADeepStreakEarly(t *testing.T) {
	t.Parallel()
	const target = 10 * time.Millisecond
	type tick struct {
		lat      time.Duration
		util     float64
		inflight int64
	}
	for _, tt := range []struct {
		name  string
		ticks []tick
		want  int64 // the limit after the last tick
	}{
		{"onset of an overload: cut at the second tick", []tick{{5 * target, 1, 40}, {5 * target, 1, 100}}, 100 * 2 / 5},
		{"very deep: an eighth at most", []tick{{5 * target, 1, 40}, {40 * target, 1, 100}}, 100 / 8},
		{"shallow: not before the load adds up", []tick{{2 * target, 1, 40}, {2 * target, 1, 100}}, 1000},
		{"shallow, adding up: cut by half at most", []tick{{2 * target, 1, 40}, {2 * target, 1, 100}, {2 * target, 1, 160}}, 160 / 2},
		{"levelling off: a burst absorbed", []tick{{2 * target, 1, 40}, {2 * target, 1, 100}, {2 * target, 1, 100}, {2 * target, 1, 100}}, 1000},
		{"a long pause, then a slow tick", []tick{{100 * target, 1, 40}, {target + target/4, 1, 100}}, 1000},
		{"CPU to spare", []tick{{5 * target, 0.7, 40}, {5 * target, 0.7, 100}, {5 * target, 0.7, 160}}, 1000},
		{"a single long pause", []tick{{100 * target, 1, 40}, {target / 2, 1, 100}, {100 * target, 1, 160}}, 1000},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := newAdmission(1000, 64, true, target)
			a.floor = 4
			a.main.limit.Store(1000)
			var cur tick
			a.load = func() (time.Duration, float64) { return cur.lat, cur.util }
			for _, tk := range tt.ticks {
				cur = tk
				a.main.inflight.Store(tk.inflight)
				a.main.peak.Store(tk.inflight)
				a.tick()
			}
			if got := a.main.limit.Load(); got != tt.want {
				t.Errorf("limit = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestDefaultBounds(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "")
	if n := DefaultMaxInflight(); n < 256 || n > 65536 {
		t.Errorf("DefaultMaxInflight = %d", n)
	}
	if n := DefaultMaxConnections(); n < 64 || n > 65536 {
		t.Errorf("DefaultMaxConnections = %d", n)
	}
}

func TestSchedLatency(t *testing.T) {
	t.Parallel()
	read := newSchedLatency()
	read() // the first call sets the baseline
	done := make(chan struct{})
	for range 100 {
		go func() { done <- struct{}{} }()
	}
	for range 100 {
		<-done
	}
	if d := read(); d < 0 || d > time.Minute {
		t.Errorf("p99 scheduler latency = %v", d)
	}
}

// TestCPUCapacity: a cgroup quota or a CPU affinity below GOMAXPROCS is
// what saturation is measured against (the runtime rounds GOMAXPROCS up,
// to at least 2, for a quota, and GOMAXPROCS may be set by hand).
func TestCPUCapacity(t *testing.T) {
	t.Parallel()
	tests := []struct {
		gomaxprocs, numCPU int
		quota              float64
		want               float64
	}{
		{8, 8, 0, 8},
		{2, 2, 0.5, 0.5},
		{2, 8, 1, 1},
		{2, 8, 1.5, 1.5},
		{2, 8, 4, 2}, // a quota above GOMAXPROCS does not raise it
		{4, 1, 0, 1}, // GOMAXPROCS set above the CPUs the process may run on
		{4, 2, 1.5, 1.5},
		{1, 4, 0, 1},
	}
	for _, tt := range tests {
		if got := cpuCapacity(tt.gomaxprocs, tt.numCPU, tt.quota); got != tt.want {
			t.Errorf("cpuCapacity(%d, %d, %v) = %v, want %v", tt.gomaxprocs, tt.numCPU, tt.quota, got, tt.want)
		}
	}
}

// TestAdmissionControllerCutsAGrowingBacklog: a slow scheduler while the
// process uses little CPU (other processes take it) cuts the limit only
// when the requests in flight keep growing (arrivals outpace
// completions), not when they level off (a burst absorbed).
func TestAdmissionControllerCutsAGrowingBacklog(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name     string
		inflight []int64
		want     int64
	}{
		{"a burst that levels off", []int64{40, 150, 150, 150, 150, 150}, 1000},
		{"a ramp shorter than risingTicks", []int64{10, 20, 40, 80, 120, 160, 200, 240, 240, 240, 240}, 1000},
		{"a backlog that keeps growing", ramp(100, risingTicks), 500},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := newAdmission(1000, 64, true, 10*time.Millisecond)
			a.load = func() (time.Duration, float64) { return 100 * time.Millisecond, 0.4 }
			for _, n := range tt.inflight {
				a.main.inflight.Store(n)
				a.main.peak.Store(n)
				a.tick()
			}
			if got := a.main.limit.Load(); got != tt.want {
				t.Errorf("limit = %d, want %d", got, tt.want)
			}
		})
	}
}

// ramp returns n counts growing by step.
func ramp(step int64, n int) []int64 {
	r := make([]int64, n)
	for i := range r {
		r[i] = step * int64(i+1)
	}
	return r
}

// TestAdmitDrivesTheController: arriving requests run the controller's
// tick when one is due, once per interval however many arrive.
func TestAdmitDrivesTheController(t *testing.T) {
	t.Parallel()
	a := newAdmission(1000, 64, true, 10*time.Millisecond)
	ticks := 0
	a.load = func() (time.Duration, float64) { ticks++; return time.Millisecond, 0.5 }
	a.epoch = time.Now().Add(-time.Hour) // a tick is due
	for range 100 {
		if !a.admit() {
			t.Fatal("refused below the limit")
		}
	}
	if ticks != 1 {
		t.Errorf("%d ticks for 100 requests within one interval, want 1", ticks)
	}
	if got := a.main.inflight.Load(); got != 100 {
		t.Errorf("in flight %d, want 100", got)
	}
}

// TestAdmissionControllerRecovers: after an overload the limit does not
// swing back to the hard bound: it holds, grows by a sixteenth a tick
// while it refuses requests and the scheduler keeps up, is cut again on a
// single saturated tick while it keeps refusing requests (not on a stall
// with refusals on that tick alone), and grows at full speed only after
// calmTicks ticks without an overload. A streak of slow ticks counts by
// its average CPU use.
func TestAdmissionControllerRecovers(t *testing.T) {
	t.Parallel()
	a := newAdmission(1000, 64, true, 10*time.Millisecond)
	a.floor = 16
	var lat time.Duration
	var util float64
	a.load = func() (time.Duration, float64) { return lat, util }
	tick := func(l time.Duration, u float64, inflight, shed int64) int64 {
		lat, util = l, u
		a.main.inflight.Store(inflight)
		a.main.peak.Store(inflight)
		a.main.shedTick.Store(shed)
		a.tick()
		return a.main.limit.Load()
	}
	// Slow ticks with one busy one among them: on average the CPUs have
	// room, no cut.
	for i := range saturatedTicks {
		u := 0.6
		if i == saturatedTicks-1 {
			u = 1
		}
		if got := tick(time.Second, u, 200, 0); got != 1000 {
			t.Fatalf("tick %d of a moderately busy slow streak: limit %d, want 1000", i, got)
		}
	}
	tick(time.Millisecond, 0.5, 200, 0)
	for range saturatedTicks - 1 {
		tick(time.Second, 1, 200, 0)
	}
	if got := tick(time.Second, 1, 200, 0); got != 100 {
		t.Fatalf("limit after a sustained overload = %d, want 100", got)
	}
	for i := range 10 {
		if got := tick(time.Millisecond, 0.5, 50, 0); got != 100 {
			t.Fatalf("healthy tick %d after the cut, not refusing: limit %d, want 100 (held)", i, got)
		}
	}
	if got := tick(time.Millisecond, 0.8, 100, 5); got != 106 {
		t.Fatalf("healthy tick refusing requests: limit %d, want 106 (+1/16)", got)
	}
	// Refusing requests with the CPUs far from busy: the cut went deeper
	// than the overload (a burst's warm-up) or it is over. The limit grows
	// in proportion to the room, at most doubling a tick.
	if got := tick(time.Millisecond, 0.4, 100, 5); got != 212 {
		t.Fatalf("tick refusing requests with the CPUs at 40%%: limit %d, want 212 (doubling)", got)
	}
	if got := tick(time.Millisecond, 0.64, 200, 5); got != 265 {
		t.Fatalf("tick refusing requests with the CPUs at 64%%: limit %d, want 265 (x1.25: 80 %% over 64 %%)", got)
	}
	if got := tick(20*time.Millisecond, 0.5, 200, 5); got != 265 {
		t.Fatalf("slow tick refusing requests with the CPUs at 50%%: limit %d, want 265 (held: the scheduler is behind)", got)
	}
	if got := tick(time.Millisecond, 0.85, 200, 5); got != 281 {
		t.Fatalf("tick refusing requests with the CPUs at 85%%: limit %d, want 281 (+1/16)", got)
	}
	if got := tick(20*time.Millisecond, 1, 100, 5); got != 75 {
		t.Fatalf("one saturated tick while recovering: limit %d, want 75 (cut at once to 3/4 of what is in flight)", got)
	}
	for i := range calmTicks - 1 {
		// The CPUs busy (the limit where they keep up), the latency fine.
		l, u, shed := time.Millisecond, 0.95, int64(0)
		if i%10 == 5 {
			// A stall now and then: the requests in flight pile up behind
			// it and some are refused on that tick alone. Not an overload.
			l, u, shed = 20*time.Millisecond, 1, 3
		}
		if got := tick(l, u, 10, shed); got != 75 {
			t.Fatalf("tick %d while recovering: limit %d, want 75", i, got)
		}
	}
	if got := tick(time.Millisecond, 0.95, 10, 0); got != 150 {
		t.Fatalf("after calmTicks healthy ticks: limit %d, want 150 (doubling again)", got)
	}

	// After another overload, the CPUs with room: the wary time ends
	// after roomTicks, not calmTicks.
	for range saturatedTicks {
		tick(time.Second, 1, 150, 0)
	}
	cut := a.main.limit.Load()
	for i := range roomTicks - 1 {
		if got := tick(time.Millisecond, 0.6, 10, 0); got != cut {
			t.Fatalf("tick %d with the CPUs at 60%% after the overload: limit %d, want %d (held)", i, got, cut)
		}
	}
	if got := tick(time.Millisecond, 0.6, 10, 0); got != cut*2 {
		t.Fatalf("after roomTicks with the CPUs at 60%%: limit %d, want %d (doubling: the overload is over)", got, cut*2)
	}
}
