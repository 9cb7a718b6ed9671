// Package accounting_test checks end to end that no request record is lost
// when Postgres goes away under load.
package accounting_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/internal/pgtest"
	"github.com/tollgate-dev/tollgate/internal/testutil"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// TestLongNoRecordLostDuringOutage sends requests from several goroutines
// through the real server while Postgres (a private cluster) is stopped,
// and checks that every answered request (success or error: governance
// fails closed while the store is down) ends up in request_records once
// Postgres is back. The phases end on events, not on time: enough
// requests answered before the outage; during it, enough answered and the
// usage writer failed several batches; after it, enough answered again.
// A long test (a private cluster and thousands of requests): make
// test-long runs it.
func TestLongNoRecordLostDuringOutage(t *testing.T) {
	testutil.Long(t)
	t.Parallel()
	cluster := pgtest.PrivateCluster(t)
	g := servertest.Start(t, servertest.Options{DatabaseURL: cluster.NewMigratedDatabase(t)})
	_, up := fakeupstream.StartOpenAI(t)
	secret := g.Setup(t, up)

	var answered, ok atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 30 * time.Second}
	body := `{"model":"` + servertest.ChatModel + `","max_tokens":16,"messages":[{"role":"user","content":"hello"}]}`
	for range 8 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				req, err := http.NewRequest(http.MethodPost, g.URL+"/v1/chat/completions", strings.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				req.Header.Set("Authorization", "Bearer "+secret)
				req.Header.Set("Content-Type", "application/json")
				res, err := client.Do(req)
				if err != nil {
					continue // no answer: nothing to record
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				answered.Add(1)
				if res.StatusCode == http.StatusOK {
					ok.Add(1)
				}
				time.Sleep(5 * time.Millisecond) // simulated latency: a client's think time between requests
			}
		})
	}
	answeredAtLeast := func(n int64) func() error {
		return func() error {
			if got := answered.Load(); got < n {
				return fmt.Errorf("%d requests answered, want %d", got, n)
			}
			return nil
		}
	}
	const phase = 100 // requests answered per phase
	ctx := context.Background()
	testutil.Eventually(t, answeredAtLeast(phase))
	before := answered.Load()
	if err := cluster.Stop(ctx); err != nil {
		t.Fatalf("stop Postgres: %v", err)
	}
	failures := g.Metric(t, "tollgate_accounting_batch_failures_total")
	testutil.Eventually(t, answeredAtLeast(before+phase))
	testutil.Eventually(t, func() error {
		if n := g.Metric(t, "tollgate_accounting_batch_failures_total"); n < failures+3 {
			return fmt.Errorf("%v batches failed during the outage, want 3", n-failures)
		}
		return nil
	})
	if err := cluster.Start(ctx); err != nil {
		t.Fatalf("start Postgres: %v", err)
	}
	testutil.Eventually(t, answeredAtLeast(answered.Load()+phase))
	close(stop)
	wg.Wait()
	during := answered.Load() - before

	want := answered.Load()
	var got int64
	testutil.EventuallyWithin(t, 90*time.Second, func() error {
		if got = countRecords(t, g.DatabaseURL); got < want {
			return fmt.Errorf("request_records holds %d records, want %d", got, want)
		}
		return nil
	})
	t.Logf("answered %d requests (%d OK, %d during and after the outage); %d records stored", want, ok.Load(), during, got)
	if got != want {
		t.Errorf("request_records holds %d records, want %d (one per answered request)", got, want)
	}
	if ok.Load() == 0 {
		t.Errorf("no request succeeded")
	}
}

// countRecords returns the number of stored request records, or -1 while
// the database is unreachable.
func countRecords(t *testing.T, dsn string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return -1
	}
	defer conn.Close(ctx)
	var n int64
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM request_records").Scan(&n); err != nil {
		return -1
	}
	return n
}
