// Package accounting_test checks end to end that no request record is lost
// when Postgres goes away under load.
package accounting_test

import (
	"context"
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
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// TestNoRecordLostDuringOutage sends requests from several goroutines
// through the real server while Postgres is stopped for ten seconds, and
// checks that every answered request (success or error: governance fails
// closed while the store is down) ends up in request_records once Postgres
// is back. Not parallel: it stops the package's Postgres.
func TestNoRecordLostDuringOutage(t *testing.T) {
	g := servertest.Start(t, servertest.Options{})
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
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	ctx := context.Background()
	time.Sleep(2 * time.Second)
	before := answered.Load()
	if err := pgtest.Server().Stop(ctx); err != nil {
		t.Fatalf("stop Postgres: %v", err)
	}
	time.Sleep(10 * time.Second)
	if err := pgtest.Server().Start(ctx); err != nil {
		t.Fatalf("start Postgres: %v", err)
	}
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()
	during := answered.Load() - before

	want := answered.Load()
	var got int64
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		got = countRecords(t, g.DatabaseURL)
		if got >= want {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("answered %d requests (%d OK, %d after the first 2 s, spanning the outage); %d records stored", want, ok.Load(), during, got)
	if got != want {
		t.Errorf("request_records holds %d records, want %d (one per answered request)", got, want)
	}
	if ok.Load() == 0 || during == 0 {
		t.Errorf("load too light to mean anything: %d OK, %d answered during and after the outage", ok.Load(), during)
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
