package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// TestOverloadAt2xCapacity measures load shedding (docs/resilience.md) on
// the real binary with one core (GOMAXPROCS=1; pin it with
// TOLLGATE_LOAD_GW_CPU=1 and run the test under taskset -c 0), or in the
// control group TOLLGATE_LOAD_GW_CGROUP names (a directory made beforehand
// with a CPU quota, as a container's CPU limit; GOMAXPROCS is then the
// runtime's, at least 2; on a 2-CPU machine give the group a quota
// below one CPU, e.g. cpu.cfs_quota_us 6000 of cpu.cfs_period_us 10000,
// and set TOLLGATE_LOAD_GW_CPU too, so that the generator on the other
// CPU can offer twice what the gateway serves): it measures the clean
// capacity with a closed loop, offers twice that for 10 s open loop, then
// half of it, and logs for each phase the answers by status with their
// latencies, the gateway's peak RSS, and a timeline: per 500 ms of
// sending, the answers by status, the successful ones' p99 and the
// gateway's in-flight limit (from its metrics listener). It only reports (set
// TOLLGATE_LOAD_TEST=1 to run it): nothing is asserted about time, only
// that every refusal is a 503 "overloaded" in the OpenAI dialect with
// Retry-After, and that the overload was refused rather than queued.
func TestOverloadAt2xCapacity(t *testing.T) {
	if os.Getenv("TOLLGATE_LOAD_TEST") == "" {
		t.Skip("set TOLLGATE_LOAD_TEST=1 to run the overload measurement")
	}
	_, upURL := fakeupstream.StartOpenAI(t)
	var env []string
	if os.Getenv("TOLLGATE_LOAD_GW_CGROUP") == "" {
		env = append(env, "GOMAXPROCS=1")
	}
	metricsAddr := freeAddr(t)
	gw := startBinary(t, append(env, "TOLLGATE_METRICS_ADDR="+metricsAddr)...)
	key := gw.Setup(t, upURL)
	// Clients keep a pool of connections, as SDKs and proxies in front of
	// a gateway do; a request waiting for one counts in its latency.
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxConnsPerHost: 256, MaxIdleConnsPerHost: 256}}
	// A conversation of 150 earlier turns (~16 KB): the gateway's work
	// per request grows with the body, the load generator's hardly, so the
	// generator (on the other CPU, with the fake upstream and Postgres)
	// can offer twice what the gateway's one CPU serves.
	var turns strings.Builder
	for i := range 150 {
		fmt.Fprintf(&turns, `{"role":%q,"content":"Turn %d: a sentence of earlier conversation, about as long as people write them in chat."},`,
			[]string{"user", "assistant"}[i%2], i)
	}
	body := `{"model":"` + servertest.ChatModel + `","messages":[` + turns.String() + `{"role":"user","content":"a typical short question for the model"}],"max_tokens":64}`
	var badRefusal atomic.Value
	send := func() (int, time.Duration) {
		began := time.Now()
		req, err := http.NewRequest(http.MethodPost, gw.URL+"/v1/chat/completions", strings.NewReader(body))
		if err != nil {
			t.Error(err)
			return 0, 0
		}
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return 0, time.Since(began)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		el := time.Since(began)
		if err != nil {
			return 0, el
		}
		if resp.StatusCode != http.StatusOK {
			var e struct {
				Error struct{ Code string } `json:"error"`
			}
			if json.Unmarshal(b, &e) != nil || resp.StatusCode != http.StatusServiceUnavailable ||
				e.Error.Code != "overloaded" || resp.Header.Get("Retry-After") == "" {
				badRefusal.Store(resp.Status + " " + string(b))
			}
		}
		return resp.StatusCode, el
	}

	// Clean capacity: as many requests as 8 closed-loop clients get
	// through in 3 s (after a 1 s warm-up): enough to keep the gateway's
	// CPU busy with a fast upstream, few enough that admission control
	// (its floor is 4 per CPU) hardly refuses any. A client the gateway refuses
	// waits 10 ms before its next request, as clients back off: retrying
	// at once would measure how fast the gateway refuses a storm of
	// retries rather than how many requests it serves.
	closedLoop := func(d time.Duration) int {
		var n atomic.Int64
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		var wg sync.WaitGroup
		for range closedLoopClients {
			wg.Go(func() {
				for ctx.Err() == nil {
					switch code, _ := send(); code {
					case http.StatusOK:
						n.Add(1)
					case http.StatusServiceUnavailable:
						time.Sleep(10 * time.Millisecond) // simulated load: a client's backoff
					}
				}
			})
		}
		wg.Wait()
		return int(n.Load())
	}
	closedLoop(time.Second)
	capacity := closedLoop(3*time.Second) / 3
	t.Logf("clean capacity (%d closed-loop clients): %d requests/s", closedLoopClients, capacity)

	phase := func(name string, rate int, d time.Duration) (shed int) {
		limits := sampleInflightLimit(metricsAddr, timelineStep)
		res := openLoopByStatus(rate, d, send)
		steps := limits()
		for code, lat := range res.lat {
			t.Logf("%s: %6d × %3d  p50 %9v  p99 %9v  max %9v", name, len(lat), code, pct(lat, 50), pct(lat, 99), lat[len(lat)-1])
		}
		for i, w := range res.timeline {
			slices.Sort(w.ok)
			var p99 time.Duration
			if len(w.ok) > 0 {
				p99 = pct(w.ok, 99)
			}
			limit := "?"
			if i < len(steps) {
				limit = steps[i]
			}
			t.Logf("%s: sent at %5v: %5d × 200 (p99 %9v), %5d × 503, %4d other; in-flight limit %s",
				name, time.Duration(i)*timelineStep, len(w.ok), p99, w.shed, w.other, limit)
		}
		t.Logf("%s: offered %d/s for %v, sent %d (%.0f/s), peak RSS %.1f MB", name, rate, d, res.sent,
			float64(res.sent)/res.took.Seconds(), float64(peakRSS(t, gw.pid))/(1<<20))
		return len(res.lat[http.StatusServiceUnavailable])
	}
	shed := phase("2x capacity", 2*capacity, 10*time.Second)
	phase("right after, 0.5x", capacity/2, 3*time.Second)
	if v := badRefusal.Load(); v != nil {
		t.Errorf("a refusal that is not 503 overloaded with Retry-After: %v", v)
	}
	if shed == 0 {
		t.Errorf("nothing was shed at twice the capacity")
	}
}

// closedLoopClients is how many clients measure the clean capacity.
const closedLoopClients = 8

// timelineStep is the width of a window of an open-loop phase's timeline.
const timelineStep = 500 * time.Millisecond

// byStatus is what an open-loop phase saw: latencies by status code (0:
// transport error), sorted, and a timeline by when requests were sent.
type byStatus struct {
	lat      map[int][]time.Duration
	timeline []window
	sent     int
	took     time.Duration
}

// window is what the requests sent in one timelineStep of a phase got:
// the latencies of the successful ones, and how many were refused with
// 503 or got anything else.
type window struct {
	ok          []time.Duration
	shed, other int
}

// sampleInflightLimit reads the gateway's main in-flight limit from its
// metrics listener every step until the returned function is called,
// which returns the samples.
func sampleInflightLimit(addr string, step time.Duration) func() []string {
	var out []string
	done := make(chan struct{})
	stopped := make(chan struct{})
	c := &http.Client{Timeout: time.Second}
	go func() {
		defer close(stopped)
		tick := time.NewTicker(step)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				out = append(out, gaugeValue(c, addr, "tollgate_inflight_limit", "pool", "main"))
			}
		}
	}()
	return func() []string {
		close(done)
		<-stopped
		return out
	}
}

// gaugeValue returns the value of the gauge name whose label has value,
// read from addr's /metrics with the Prometheus text parser, or "?" when
// it cannot be read.
func gaugeValue(c *http.Client, addr, name, label, value string) string {
	fams, err := scrapeFamilies(c, "http://"+addr+"/metrics", "")
	if err != nil || fams[name] == nil {
		return "?"
	}
	for _, m := range fams[name].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == label && l.GetValue() == value {
				return strconv.FormatFloat(m.GetGauge().GetValue(), 'f', -1, 64)
			}
		}
	}
	return "?"
}

// openLoopByStatus starts fn rate times a second for d, whatever the
// latency, and groups the answers by status.
func openLoopByStatus(rate int, d time.Duration, fn func() (int, time.Duration)) byStatus {
	var mu sync.Mutex
	res := byStatus{lat: map[int][]time.Duration{}}
	var wg sync.WaitGroup
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	for ; time.Since(start) < d; res.sent++ {
		if wait := time.Until(start.Add(time.Duration(res.sent) * interval)); wait > 0 {
			time.Sleep(wait) // simulated load: pacing the open-loop arrivals, not synchronisation
		}
		at := int(time.Since(start) / timelineStep)
		wg.Go(func() {
			code, el := fn()
			mu.Lock()
			defer mu.Unlock()
			res.lat[code] = append(res.lat[code], el)
			for len(res.timeline) <= at {
				res.timeline = append(res.timeline, window{})
			}
			switch w := &res.timeline[at]; code {
			case http.StatusOK:
				w.ok = append(w.ok, el)
			case http.StatusServiceUnavailable:
				w.shed++
			default:
				w.other++
			}
		})
	}
	res.took = time.Since(start)
	wg.Wait()
	for _, l := range res.lat {
		slices.Sort(l)
	}
	return res
}
