package server

import (
	"context"
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tollgate-dev/tollgate/internal/cgroup"
)

// Admission control: every inference request takes a slot before its body
// is read and gives it back when its handler returns, so a stream holds
// its slot while it is open. A request finding no free slot is refused at
// once with a 503 in its dialect (admission.go's caller, front.go), which
// bounds the memory and the queueing of a replica at any offered load.
//
// The number of slots is adaptive between a floor and a hard bound:
//
//   - The hard bound (-max-inflight) bounds memory. Its default comes from
//     the memory the process may use (GOMEMLIMIT, else its control
//     group's memory limit, else 4 GiB): half of it at perRequestBytes per
//     request.
//   - Below it, the limit follows the CPU. Every tick the controller reads
//     the Go scheduler's latency (how long runnable goroutines waited for a
//     CPU, runtime/metrics /sched/latencies:seconds), the process's CPU
//     use and the number of requests in flight. A latency above the target
//     for saturatedTicks ticks in a row (200 ms) is an overload when the
//     process uses nearly all of its CPUs (saturatedShare of cpuCapacity:
//     GOMAXPROCS, its CPU affinity or its control group's quota, whichever
//     is least), or when the requests in flight grew on every tick
//     for risingTicks (500 ms: they arrive faster than they complete,
//     whichever process takes the CPUs). A deep streak is an overload
//     sooner: with the CPUs busy and the requests in flight growing, the
//     ticks count by their latency (deepLoad), so a queue building fast
//     is cut within 40 ms, in proportion to the latency. Then the limit drops to a
//     fraction of what is in flight, once, and drops again only when what
//     was in flight has come under the new limit (the cut took effect) or
//     a while has passed; otherwise it grows back, quickly when it is not
//     binding, except for calmTicks (2 s) after an overload, when it grows
//     slowly and a saturated tick cuts again (so the limit settles
//     instead of swinging between the floor and the hard bound) — unless
//     the CPUs had room meanwhile (roomShare): the overload is over. So a
//     burst the CPUs absorb, a pause (a GC cycle, a burst of new
//     connections) or a busy neighbour does not cut it, and a load the
//     replica cannot keep up with is refused instead of queued. The
//     controller ticks on arriving requests (admit), not only on a timer:
//     in an overload a timer's goroutine would wait in the scheduler's
//     queue behind the requests it is to refuse.
//     An LLM gateway's requests mostly wait for upstreams, so a fixed
//     limit sized for the CPU would refuse healthy long streams, while
//     one sized for memory would let a CPU-bound overload queue for
//     seconds; the scheduler's latency, the CPU use and the trend of
//     what is in flight together tell them apart.
//   - The floor (4 per GOMAXPROCS) keeps a saturated replica serving. It
//     is low because the CPU-driven cut only comes down to it when the
//     requests themselves are what saturates the CPUs: then a handful per
//     CPU keeps it busy, and each one more only adds to everyone's wait
//     (at 16 per CPU a 2x overload kept the admitted requests' p99 above
//     100 ms; requests waiting on upstreams never bring the limit there).
//
// Requests that carry no known credential take their slot from a pool of
// their own (-max-unauthenticated-inflight) instead, so slow or abusive
// anonymous clients cannot crowd out keyed traffic. Memory stays bounded
// by the sum of the two bounds.

// perRequestBytes is the memory assumed per in-flight request when the
// hard bound is derived from the memory budget: a typical request and
// answer, the goroutines and buffers of the server, the engine and the
// upstream client.
const perRequestBytes = 256 << 10

// defaultMemoryBudget is the budget assumed when neither GOMEMLIMIT nor a
// cgroup limit says.
const defaultMemoryBudget = 4 << 30

// memoryBudget returns the memory the process may use: GOMEMLIMIT when
// set, else its control group's memory limit, else defaultMemoryBudget.
func memoryBudget() int64 {
	if l := debug.SetMemoryLimit(-1); l > 0 && l < math.MaxInt64 {
		return l
	}
	if l := cgroup.Read().Memory; l > 0 {
		return l
	}
	return defaultMemoryBudget
}

// DefaultMaxInflight is the hard bound on in-flight requests derived from
// the memory budget: half of it at perRequestBytes each, between 256 and
// 65,536.
func DefaultMaxInflight() int {
	return int(min(max(memoryBudget()/2/perRequestBytes, 256), 65536))
}

// DefaultMaxConnections bounds open client connections: a quarter of the
// memory budget at 32 KiB per connection, between 1,024 and 65,536, and at
// most half the process's file descriptor limit.
func DefaultMaxConnections() int {
	n := min(max(memoryBudget()/4/(32<<10), 1024), 65536)
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err == nil && rl.Cur > 0 && rl.Cur < math.MaxInt64 {
		n = min(n, max(int64(rl.Cur/2), 64))
	}
	return int(n)
}

// admissionFloor is the adaptive limit's minimum.
func admissionFloor() int64 { return int64(4 * runtime.GOMAXPROCS(0)) }

// pool is a counting semaphore that never blocks.
type pool struct {
	inflight atomic.Int64
	limit    atomic.Int64
	// peak is the highest in-flight count since the controller last looked.
	peak atomic.Int64
	// shed counts refusals; shedTick those since the controller last looked.
	shed, shedTick atomic.Int64
}

// acquire takes a slot if one is free.
func (p *pool) acquire() bool {
	n := p.inflight.Add(1)
	if n > p.limit.Load() {
		p.inflight.Add(-1)
		p.shed.Add(1)
		p.shedTick.Add(1)
		return false
	}
	for {
		pk := p.peak.Load()
		if n <= pk || p.peak.CompareAndSwap(pk, n) {
			return true
		}
	}
}

func (p *pool) release() { p.inflight.Add(-1) }

// admission holds the pools and the adaptive controller.
type admission struct {
	// main is the pool of inference requests with a known key; its limit
	// is adaptive.
	main pool
	// anon is the pool of requests without a known credential.
	anon pool
	// hard bounds main's limit.
	hard int64
	// floor is main's minimum limit.
	floor int64
	// adaptive turns the CPU-driven limit on.
	adaptive bool
	// target is the scheduler latency (p99 over a tick) above which the
	// CPUs count as saturated.
	target time.Duration
	// retryAfter is the hint sent with refusals.
	retryAfter time.Duration
	// load reads the scheduler latency (p99) and the process's CPU use (a
	// share of GOMAXPROCS) since its previous call; a field so tests can
	// drive the controller.
	load func() (time.Duration, float64)
	// overloadedTicks counts ticks that found the CPUs saturated.
	overloadedTicks atomic.Int64
	// epoch and lastTick (since epoch) pace the ticks; tickMu lets one
	// caller tick at a time.
	epoch    time.Time
	lastTick atomic.Int64
	tickMu   sync.Mutex
	// streak counts consecutive ticks with the latency above target,
	// rising those among them on which the requests in flight grew, and
	// sinceCut the ticks since the last cut while it has not yet taken
	// effect (-1: none pending); lastInflight is the count at the last
	// tick. The controller's goroutine only.
	streak, rising, sinceCut int
	lastInflight             int64
	// shedTicks counts the ticks in a row on which the limit refused
	// requests, this one included.
	shedTicks int
	// streakUtil sums the CPU use over the streak's ticks: the streak
	// counts as saturated by its average, so that one busy tick at a
	// moderate load (a GC cycle, a clump of arrivals) is not taken for
	// a saturated CPU.
	streakUtil float64
	// streakLoad sums over the streak's ticks the latency in targets, at
	// most tickLoadCap a tick: what makes a deep streak an overload
	// (deepLoad).
	streakLoad float64
	// calmUtil sums the CPU use over the calm ticks (roomShare).
	calmUtil float64
	// calm counts the ticks since the last overloaded one while the
	// controller recovers from it (-1: not recovering).
	calm int
}

// tickInterval is the controller's period.
const tickInterval = 20 * time.Millisecond

// saturatedShare is the share of its CPUs (GOMAXPROCS) the process must
// use for a high scheduler latency to count as its own overload. Below
// it the CPUs have room: requests queue only briefly (a burst, a GC
// cycle), and the queue drains without refusing anyone.
const saturatedShare = 0.9

// saturatedTicks is how many ticks in a row (200 ms) the latency must be
// above target for an overload: a shorter spell is a burst or a pause the
// CPUs absorb, and a burst's requests in flight rise to a plateau within
// about one upstream latency, while an overload's keep rising.
//
// A deep streak is one sooner: while the requests in flight grew on the
// last deepRisingTicks ticks, each tick counts by its latency in targets
// (at most tickLoadCap) and deepLoad of them make an overload, so a
// streak far above the target is one after 2 ticks (40 ms), and its cut
// goes as deep as the latency is above the target. At the onset of a 2x
// overload of a 0.6-CPU replica the latency was 5, 10, 29, 25, 42 ms in
// the first five ticks (target 3 ms) while the requests in flight went
// 12, 42, 69, 105: counted by length the cut came after 200 ms, with 168
// requests queued and the first ones admitted waiting 200 ms. Bursts of
// 2,000 RPS of 50 ms requests on one CPU had latencies of up to 15 ms
// for two or three ticks while the requests in flight rose to about 100,
// but with CPU to spare on average (busy below saturatedShare).
const saturatedTicks = 10

// tickLoadCap is the most one tick of a deep streak counts towards
// deepLoad: a single long pause (a throttled control group, a GC cycle)
// is not an overload.
const tickLoadCap = 4

// deepLoad is the load (the sum of the ticks' latencies in targets) of
// a deep streak that makes an overload: 5, so that the traced onset above
// is cut at its second tick (1.7 + 3.3); with 8 it came a tick or more
// later (docs/resilience.md has the runs). Bursts of 1,000 to 3,000 RPS
// after idle were still served whole (../shared/bench/burst.sh).
const deepLoad = 5

// deepRisingTicks is how many ticks in a row the requests in flight must
// have grown for a deep streak. Its last tick must also be at least twice
// the target: a queue that drains after a long pause (whose tick counts
// tickLoadCap) shows a latency falling back to the target, while in a
// building one it keeps rising by about a tick a tick.
const deepRisingTicks = 2

// risingTicks is how many ticks in a row (500 ms) the requests in flight
// must grow, with the latency above target, for an overload while the
// process uses less than saturatedShare of its CPUs (others take them):
// longer than the ramp of a burst absorbed by a slowed replica.
const risingTicks = 25

// calmTicks is how long (2 s) after an overload the controller stays
// wary: it cuts on a single saturated tick while the limit keeps refusing
// requests (two ticks in a row), and grows the limit only by
// a sixteenth a tick and only while the limit refuses requests and the
// scheduler keeps up (faster while the CPUs have room: see tick).
// Growing back at full speed right after a cut re-admits the overload
// within a few ticks, so the limit would swing between the floor and the
// hard bound while the latency stays high.
const calmTicks = 100

// roomTicks and roomShare end the wary time early: when the process used
// on average less than roomShare of its CPUs over at least roomTicks
// (500 ms) since the last overloaded tick, the overload is over (under
// one, with the limit where the CPUs keep up, they are busy). Staying
// wary then kept the limit near the floor for the whole 2 s, refusing the
// requests that piled up behind every stall of a replica at half its
// capacity.
const (
	roomTicks = 25
	roomShare = 0.8
)

// recutTicks is how long (500 ms) a cut may take to show before the
// controller cuts again although what was in flight is still above the
// limit (long streams, which use little CPU, drain slowly).
const recutTicks = 25

func newAdmission(hard, anon int, adaptive bool, target time.Duration) *admission {
	a := &admission{hard: int64(hard), floor: min(admissionFloor(), int64(hard)), adaptive: adaptive, target: target,
		retryAfter: time.Second, load: newLoadSampler(), sinceCut: -1, calm: -1, epoch: time.Now()}
	a.main.limit.Store(a.hard)
	a.anon.limit.Store(int64(anon))
	return a
}

// admit takes a slot of the main pool if one is free. Arriving requests
// drive the controller: under an overload the controller's own goroutine
// would wait in the scheduler's queue behind the very requests it is to
// refuse, while requests keep arriving; run only covers quiet times.
func (a *admission) admit() bool {
	if a.adaptive {
		a.maybeTick()
	}
	return a.main.acquire()
}

// maybeTick runs a tick when one is due and no other caller runs one.
func (a *admission) maybeTick() {
	now := int64(time.Since(a.epoch))
	last := a.lastTick.Load()
	if now-last < int64(tickInterval) || !a.lastTick.CompareAndSwap(last, now) || !a.tickMu.TryLock() {
		return
	}
	defer a.tickMu.Unlock()
	a.tick()
}

// run adjusts the main pool's limit every tick until ctx is done, for
// the times when no request arrives to do it (admit).
func (a *admission) run(ctx context.Context) {
	if !a.adaptive {
		return
	}
	t := time.NewTicker(tickInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			a.maybeTick()
		}
	}
}

// tick is one step of the controller: multiplicative decrease in an
// overload (at most once until the cut took effect, holding meanwhile),
// slow growth for calmTicks after one, growth otherwise (by a quarter
// while the limit is what refuses requests, doubling when it is not).
func (a *admission) tick() {
	lat, util := a.load()
	inflight := a.main.inflight.Load()
	peak := a.main.peak.Swap(inflight)
	shed := a.main.shedTick.Swap(0)
	limit := a.main.limit.Load()
	slow := lat > a.target
	if slow {
		a.streak++
		a.streakUtil += util
		a.streakLoad += min(float64(lat)/float64(a.target), tickLoadCap)
		if inflight > a.lastInflight {
			a.rising++
		} else {
			a.rising = 0
		}
	} else {
		a.streak, a.rising, a.streakUtil, a.streakLoad = 0, 0, 0, 0
	}
	a.lastInflight = inflight
	if a.sinceCut >= 0 {
		a.sinceCut++
		if peak <= limit || a.sinceCut >= recutTicks {
			a.sinceCut = -1 // the last cut took effect (or had its time)
		}
	}
	if shed > 0 {
		a.shedTicks++
	} else {
		a.shedTicks = 0
	}
	need := saturatedTicks
	if a.calm >= 0 && a.shedTicks >= 2 {
		// Recovering from an overload while the limit keeps refusing
		// requests: the overload is back at once. A saturated tick that
		// comes with refusals on it alone is a stall (a throttled control
		// group, a GC cycle) the requests in flight piled up behind:
		// cutting for it kept a replica at half its capacity at the floor,
		// refusing a few percent of its requests, for as long as such
		// stalls kept coming less than calmTicks apart.
		need = 1
	}
	busy := a.streak > 0 && a.streakUtil/float64(a.streak) >= saturatedShare
	deep := a.calm < 0 && a.streak < need && a.streakLoad >= deepLoad && a.rising >= deepRisingTicks && lat >= 2*a.target
	overloaded := busy && (a.streak >= need || deep) || a.streak >= need && a.rising >= risingTicks
	switch {
	case overloaded:
		a.overloadedTicks.Add(1)
		a.calm, a.calmUtil = 0, 0
	case a.calm >= 0:
		a.calm++
		a.calmUtil += util
		if a.calm >= calmTicks || a.calm >= roomTicks && a.calmUtil/float64(a.calm) < roomShare {
			a.calm = -1
		}
	}
	var next int64
	switch {
	case overloaded && a.sinceCut < 0:
		// Cut to a fraction of what was in flight: the work already
		// admitted is what the CPUs cannot keep up with.
		next = min(limit, peak) * 3 / 4
		switch {
		case deep:
			// A queue building fast: down to the share of it the CPUs
			// keep up with, as the latency tells (twice the target over
			// the latency), between an eighth and a half.
			f := min(max(2*float64(a.target)/float64(lat), 1.0/8), 1.0/2)
			next = int64(float64(min(limit, peak)) * f)
		case lat > 4*a.target:
			next = min(limit, peak) / 2
		}
		a.sinceCut, a.rising = 0, 0
	case overloaded:
		// The last cut has not shown yet: hold.
		next = limit
	case a.calm >= 0:
		// Recovering: probe upwards slowly, while the limit is what
		// refuses requests and the CPUs keep up; hold otherwise. When it
		// refuses requests while the CPUs have room, the cut went deeper
		// than the overload (the onset of a burst: a few ticks of warm-up
		// saturate a replica that then needs a third of its CPU), or the
		// overload is over: grow in proportion to the room, at most
		// doubling a tick, instead of refusing until roomTicks end the
		// wary time (after 3,000-RPS bursts on one CPU that was 500 ms
		// with the CPUs at 15-37 %, refusing 1,100 requests).
		next = limit
		if shed > 0 && !slow {
			next = limit + max(1, limit/16)
			if util < roomShare {
				next = max(next, int64(float64(limit)*min(2, roomShare/max(util, 0.01))))
			}
		}
	case shed > 0:
		next = limit + max(1, limit/4)
	default:
		next = limit * 2
	}
	a.main.limit.Store(min(max(next, a.floor), a.hard))
}

// newLoadSampler returns a function reporting, since its previous call,
// the p99 of the Go scheduler's latency and the process's CPU time as a
// share of the CPUs it may use (cpuCapacity).
func newLoadSampler() func() (time.Duration, float64) {
	lat := newSchedLatency()
	quota := cgroup.Read().CPU
	var last time.Time
	var lastCPU time.Duration
	return func() (time.Duration, float64) {
		now, cpu := time.Now(), processCPU()
		var util float64
		if !last.IsZero() {
			if wall := now.Sub(last); wall > 0 {
				util = float64(cpu-lastCPU) / float64(wall) / cpuCapacity(runtime.GOMAXPROCS(0), runtime.NumCPU(), quota)
			}
		}
		last, lastCPU = now, cpu
		return lat(), util
	}
}

// cpuCapacity is the number of CPUs the process may use: GOMAXPROCS, or
// fewer when its CPU affinity (runtime.NumCPU) or its control group's CPU
// quota (0: none) allows fewer. The runtime rounds a fractional quota up,
// to at least two CPUs, when it sets GOMAXPROCS (and GOMAXPROCS may be set
// by hand above the CPUs there are), so a container limited to one CPU or
// less could otherwise never use the share of GOMAXPROCS that counts as
// saturation, and would queue instead of refusing.
func cpuCapacity(gomaxprocs, numCPU int, quota float64) float64 {
	c := float64(min(gomaxprocs, numCPU))
	if quota > 0 && quota < c {
		return quota
	}
	return c
}

// processCPU is the process's user and system CPU time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// newSchedLatency returns a function reporting the p99 of the Go
// scheduler's latency since its previous call (0 without samples).
func newSchedLatency() func() time.Duration {
	samples := []metrics.Sample{{Name: "/sched/latencies:seconds"}}
	var prev []uint64
	return func() time.Duration {
		metrics.Read(samples)
		if samples[0].Value.Kind() != metrics.KindFloat64Histogram {
			return 0
		}
		h := samples[0].Value.Float64Histogram()
		if len(prev) != len(h.Counts) {
			prev = make([]uint64, len(h.Counts))
			copy(prev, h.Counts)
			return 0
		}
		var total uint64
		for i, c := range h.Counts {
			total += c - prev[i]
		}
		if total == 0 {
			return 0
		}
		want := total - total/100 // the 99th percentile
		var seen uint64
		var p99 time.Duration
		for i, c := range h.Counts {
			seen += c - prev[i]
			if seen >= want {
				// Buckets[i+1] is the bucket's upper bound.
				ub := h.Buckets[i+1]
				if math.IsInf(ub, 1) {
					ub = h.Buckets[i]
				}
				p99 = time.Duration(ub * float64(time.Second))
				break
			}
		}
		copy(prev, h.Counts)
		return p99
	}
}
