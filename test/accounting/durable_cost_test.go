package accounting_test

import (
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/internal/pgtest"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// TestDurableRecordsCost measures what the record log and -durable-records
// cost per request through the real binary: the gateway's CPU per request
// (from /proc) and the client's p50 and p99 latency at a steady rate, for
// no log, the log with the default group commit, and the log with
// -durable-records, in interleaved rounds. It reports, never asserts: opt
// in with TOLLGATE_LOAD_TEST=1 (TOLLGATE_DURABLE_RATE, default 500/s;
// TOLLGATE_DURABLE_SECONDS, default 10).
func TestDurableRecordsCost(t *testing.T) {
	if os.Getenv("TOLLGATE_LOAD_TEST") != "1" {
		t.Skip("set TOLLGATE_LOAD_TEST=1 to measure the cost of the record log")
	}
	rate := envInt("TOLLGATE_DURABLE_RATE", 500)
	seconds := envInt("TOLLGATE_DURABLE_SECONDS", 10)
	bin := tollgateBinary(t)
	_, up := fakeupstream.StartOpenAI(t)
	modes := []struct {
		name  string
		log   bool
		flags []string
	}{
		{"no log", false, nil},
		{"log, group commit every 20ms", true, nil},
		{"log, -durable-records", true, []string{"-durable-records"}},
	}
	type gw struct {
		p      *process
		secret string
	}
	gws := make([]gw, len(modes))
	for i, m := range modes {
		spill := ""
		if m.log {
			spill = t.TempDir()
		}
		p := startProcess(t, bin, pgtest.NewMigratedDatabase(t), spill, m.flags...)
		gws[i] = gw{p, p.Setup(t, up)}
	}
	type result struct{ cpu, p50, p99 []float64 }
	results := make([]result, len(modes))
	for round := range 3 {
		for i, m := range modes {
			g := gws[i]
			steady(g.p.URL, g.secret, rate, 2*time.Second) // warm up
			c0 := procCPU(t, g.p.cmd.Process.Pid)
			lat := steady(g.p.URL, g.secret, rate, time.Duration(seconds)*time.Second)
			c1 := procCPU(t, g.p.cmd.Process.Pid)
			slices.Sort(lat)
			r := &results[i]
			cpu := float64((c1 - c0).Microseconds()) / float64(len(lat))
			p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
			r.cpu, r.p50, r.p99 = append(r.cpu, cpu), append(r.p50, p50), append(r.p99, p99)
			t.Logf("round %d %-30s %d requests: gateway CPU %.0f µs/request, p50 %.0f µs, p99 %.0f µs", round+1, m.name, len(lat), cpu, p50, p99)
		}
	}
	for i, m := range modes {
		r := results[i]
		t.Logf("median %-30s gateway CPU %.0f µs/request, p50 %.0f µs, p99 %.0f µs", m.name, median(r.cpu), median(r.p50), median(r.p99))
	}
}

// steady sends requests at rate for d, open loop, and returns the latency
// in microseconds of those answered 200.
func steady(url, secret string, rate int, d time.Duration) []float64 {
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	var mu sync.Mutex
	var lat []float64
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	for end := time.Now().Add(d); time.Now().Before(end); {
		<-tick.C
		wg.Go(func() {
			began := time.Now()
			status, _, err := post(client, url, secret, chatBody(servertest.ChatModel), nil)
			if err == nil && status == http.StatusOK {
				mu.Lock()
				lat = append(lat, float64(time.Since(began).Microseconds()))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return lat
}

// procCPU returns the CPU time (user and system, all threads) of pid.
func procCPU(t *testing.T, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	u, _ := strconv.ParseInt(f[11], 10, 64)
	k, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+k) * 10 * time.Millisecond // CLK_TCK = 100
}

func median(vs []float64) float64 {
	s := slices.Clone(vs)
	slices.Sort(s)
	return s[len(s)/2]
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}
