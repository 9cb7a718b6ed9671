package server_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/internal/testutil"
)

// TestLongSlowBodyClients opens 5,000 connections through the real binary
// that send a request body at a byte per second without a key: every one
// is answered 408 and closed at the body timeout (none is held longer),
// while keyed requests from a bystander keep being served (make test-long).
func TestLongSlowBodyClients(t *testing.T) {
	testutil.Long(t)
	const clients, timeout = 5000, 2 * time.Second
	// The anonymous pool is opened wide so that the body timeout, not the
	// pool, is what cuts them (with the default pool most would get a 503
	// at once: see TestAnonymousPool).
	gw := startBinary(t, "TOLLGATE_REQUEST_BODY_TIMEOUT="+timeout.String(), "TOLLGATE_MAX_UNAUTHENTICATED_INFLIGHT=10000", "TOLLGATE_MAX_INFLIGHT=10000")
	_, upURL := fakeupstream.StartOpenAI(t)
	key := gw.Setup(t, upURL)
	fdsBefore := openFDs(t, gw.pid)

	var answered408, closedOther atomic.Int64
	var otherMu sync.Mutex
	others := map[string]int{}
	cut := make([]time.Duration, clients)
	conns := make([]net.Conn, 0, clients)
	start := time.Now()
	var wg sync.WaitGroup
	// A bystander sends keyed requests all along.
	stop := make(chan struct{})
	var bystander []time.Duration
	var failed int
	var side sync.WaitGroup
	side.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			t0 := time.Now()
			if s, _ := postStatus(gw.URL, key); s != http.StatusOK {
				failed++
			}
			bystander = append(bystander, time.Since(t0))
			time.Sleep(50 * time.Millisecond) // the bystander's pace, not synchronisation
		}
	})
	for i := range clients {
		c, err := net.Dial("tcp", gw.Addr)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		defer c.Close()
		if _, err := fmt.Fprintf(c, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		opened := time.Now()
		wg.Go(func() {
			_ = c.SetReadDeadline(time.Now().Add(60 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			cut[i] = time.Since(opened)
			if err == nil && resp.StatusCode == http.StatusRequestTimeout {
				answered408.Add(1)
				return
			}
			closedOther.Add(1)
			otherMu.Lock()
			if err != nil {
				others[err.Error()]++
			} else {
				others[resp.Status]++
			}
			otherMu.Unlock()
		})
	}
	t.Logf("%d slow clients connected in %v", clients, time.Since(start).Round(time.Millisecond))
	// Trickle a byte a second to every connection.
	var trickle sync.WaitGroup
	trickle.Go(func() {
		tk := time.NewTicker(time.Second)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
				for _, c := range conns {
					_ = c.SetWriteDeadline(time.Now().Add(10 * time.Millisecond))
					_, _ = c.Write([]byte(" "))
				}
			}
		}
	})
	wg.Wait()
	close(stop)
	trickle.Wait()
	side.Wait()

	slices.Sort(cut)
	slices.Sort(bystander)
	t.Logf("slow clients: %d answered 408, %d closed otherwise; cut after p50 %v, max %v from their connection (body timeout %v)",
		answered408.Load(), closedOther.Load(), cut[len(cut)/2].Round(time.Millisecond), cut[len(cut)-1].Round(time.Millisecond), timeout)
	t.Logf("bystander: %d requests, %d failed, p50 %v, max %v", len(bystander), failed, bystander[len(bystander)/2].Round(time.Millisecond),
		bystander[len(bystander)-1].Round(time.Millisecond))
	t.Logf("other outcomes: %v", others)
	if answered408.Load()+closedOther.Load() != clients || answered408.Load() == 0 {
		t.Errorf("%d of %d slow clients were cut (%d with 408)", answered408.Load()+closedOther.Load(), clients, answered408.Load())
	}
	if failed > 0 {
		t.Errorf("%d bystander requests failed", failed)
	}
	for _, c := range conns {
		c.Close()
	}
	testutil.Eventually(t, func() error {
		if n := openFDs(t, gw.pid); n > fdsBefore+50 {
			return fmt.Errorf("the gateway holds %d file descriptors, %d before the slow clients", n, fdsBefore)
		}
		return nil
	})
}

// openFDs counts a process's open file descriptors.
func openFDs(t *testing.T, pid int) int {
	t.Helper()
	es, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}

// postStatus sends one keyed chat request and returns its status.
func postStatus(url, key string) (int, error) {
	req, _ := http.NewRequest(http.MethodPost, url+"/v1/chat/completions", strings.NewReader(oaiUnary))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}
