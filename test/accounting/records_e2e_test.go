package accounting_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
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

// TestNULRequestIsAnsweredAndStoredSanitised replays the request that used
// to stop record writing for good: an unauthenticated chat request whose
// model holds a NUL. Through the real binary it is answered 401, its record
// is stored sanitised (the NUL replaced, truncated set) and the 1,000
// requests after it are all stored too.
func TestNULRequestIsAnsweredAndStoredSanitised(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewMigratedDatabase(t)
	g := startProcess(t, tollgateBinary(t), dsn, t.TempDir())
	_, up := fakeupstream.StartOpenAI(t)
	secret := g.Setup(t, up)
	client := &http.Client{Timeout: 30 * time.Second}

	status, nulID, err := post(client, g.URL, "", `{"model":"x\u0000y","messages":[{"role":"user","content":"hi"}]}`, nil)
	if err != nil || status != http.StatusUnauthorized || nulID == "" {
		t.Fatalf("NUL request: status %d, request id %q, %v; want 401 with a request id", status, nulID, err)
	}
	const others = 1000
	ids := sendConcurrently(t, client, g.URL, secret, others, 8, nil)
	eventually(t, 60*time.Second, "every record stored", func() error {
		n, err := dbQuery(t, dsn, "SELECT count(*) FROM request_records")
		if err != nil {
			return err
		}
		if n[0] != fmt.Sprint(others+1) {
			return fmt.Errorf("%s records stored, want %d", n[0], others+1)
		}
		return nil
	})
	got := mustQuery(t, dsn, "SELECT requested_model || '|' || truncated || '|' || status FROM request_records WHERE request_id = $1", nulID)
	if want := "x\uFFFDy|true|3"; len(got) != 1 || got[0] != want {
		t.Errorf("the NUL request's record = %q, want %q (model sanitised, truncated, unauthenticated)", got, want)
	}
	stored := mustQuery(t, dsn, "SELECT request_id FROM request_records WHERE status = 1")
	slices.Sort(stored)
	slices.Sort(ids)
	if !slices.Equal(stored, ids) {
		t.Errorf("stored %d OK records, want the %d answered", len(stored), len(ids))
	}
	if dead := mustQuery(t, dsn, "SELECT count(*) FROM request_records_dead"); dead[0] != "0" {
		t.Errorf("%s dead letters, want none", dead[0])
	}
}

// TestForcedDataErrorGoesToDeadLetters makes Postgres reject one record
// (a CHECK constraint the test adds) among 200: the batch is split until
// that record is isolated, which lands in request_records_dead with its
// SQLSTATE, while the others are stored.
func TestForcedDataErrorGoesToDeadLetters(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewMigratedDatabase(t)
	bin, spill := tollgateBinary(t), t.TempDir()
	g := startProcess(t, bin, dsn, spill)
	_, up := fakeupstream.StartOpenAI(t)
	secret := g.Setup(t, up)
	mustQuery(t, dsn, "ALTER TABLE request_records ADD CONSTRAINT tg_test_poison CHECK (end_user <> 'poison-pill')")

	// A second gateway on the same record log refuses to start.
	second := exec.Command(bin, "serve", "-addr", "127.0.0.1:0")
	second.Env = append(os.Environ(), "TOLLGATE_DATABASE_URL="+dsn, "TOLLGATE_MASTER_KEY="+strings.Repeat("cd", 32),
		"TOLLGATE_ADMIN_TOKEN="+adminToken, "TOLLGATE_SPILL_DIR="+spill)
	if out, err := second.CombinedOutput(); err == nil || !strings.Contains(string(out), "used by another process") {
		t.Errorf("a second gateway on the same -spill-dir: %v\n%s\nwant it refused", err, tail(string(out), 2000))
	}
	client := &http.Client{Timeout: 30 * time.Second}

	ids := sendConcurrently(t, client, g.URL, secret, 100, 4, nil)
	status, poisonID, err := post(client, g.URL, secret, chatBody(servertest.ChatModel),
		http.Header{"X-Tollgate-End-User": {"poison-pill"}})
	if err != nil || status != http.StatusOK {
		t.Fatalf("poisoned request: %d, %v", status, err)
	}
	ids = append(ids, sendConcurrently(t, client, g.URL, secret, 100, 4, nil)...)
	eventually(t, 60*time.Second, "the dead letter and the other records", func() error {
		n, err := dbQuery(t, dsn, "SELECT (SELECT count(*) FROM request_records) || '/' || (SELECT count(*) FROM request_records_dead)")
		if err != nil {
			return err
		}
		if n[0] != fmt.Sprintf("%d/1", len(ids)) {
			return fmt.Errorf("records/dead letters = %s, want %d/1", n[0], len(ids))
		}
		return nil
	})
	dead := mustQuery(t, dsn, "SELECT request_id || '|' || code || '|' || (error LIKE '%tg_test_poison%') FROM request_records_dead")
	if want := poisonID + "|23514|true"; dead[0] != want {
		t.Errorf("dead letter = %q, want %q", dead[0], want)
	}
	if v := g.metric("tollgate_accounting_records_dead_lettered_total"); v != 1 {
		t.Errorf("tollgate_accounting_records_dead_lettered_total = %v, want 1", v)
	}
	if v := g.metric("tollgate_accounting_records_dropped_total"); v != 0 {
		t.Errorf("tollgate_accounting_records_dropped_total = %v, want 0", v)
	}
	checkRecordsDoc(t, g, dsn, poisonID)
}

// checkRecordsDoc checks docs/records.md against a gateway that stored one
// dead letter: its SQL block lists it, and every metric it names exists.
func checkRecordsDoc(t *testing.T, g *process, dsn, deadID string) {
	t.Helper()
	doc, err := os.ReadFile("../../docs/records.md")
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(doc), "```sql\n")
	block, _, _ = strings.Cut(block, "```")
	if !ok || block == "" {
		t.Fatal("docs/records.md has no sql block")
	}
	rows, err := dbRows(dsn, block)
	if err != nil || len(rows) != 1 || rows[0][1] != deadID || !strings.Contains(rows[0][4], deadID) {
		t.Errorf("the dead-letter query of docs/records.md returned %q, %v; want the dead letter %s with its record", rows, err, deadID)
	}
	exposed, err := g.metrics()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range regexp.MustCompile(`tollgate_accounting_[a-z_]+`).FindAllString(string(doc), -1) {
		if !strings.Contains(exposed, "\n"+name+" ") {
			t.Errorf("docs/records.md names %s, which /metrics does not expose", name)
		}
	}
	for _, name := range regexp.MustCompile("`([a-z_]+)`").FindAllStringSubmatch(metricsParagraph(string(doc)), -1) {
		if strings.HasPrefix(name[1], "tollgate_") {
			continue // the prefix itself
		}
		if !strings.Contains(exposed, "\ntollgate_accounting_"+name[1]+" ") {
			t.Errorf("docs/records.md lists metric %s, which /metrics does not expose", name[1])
		}
	}
}

// metricsParagraph returns the text of the "## Metrics" section.
func metricsParagraph(doc string) string {
	_, after, _ := strings.Cut(doc, "## Metrics")
	return after
}

// dbRows runs sql and returns every column of every row as text.
func dbRows(dsn, sql string) ([][]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	rows, _ := conn.Query(ctx, sql)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) ([]string, error) {
		vs, err := r.Values()
		out := make([]string, len(vs))
		for i, v := range vs {
			out[i] = fmt.Sprint(v)
		}
		return out, err
	})
}

// sendConcurrently sends n chat requests from workers goroutines and
// returns the request ids of those answered 200.
func sendConcurrently(t *testing.T, client *http.Client, url, secret string, n, workers int, header http.Header) []string {
	t.Helper()
	var mu sync.Mutex
	var ids []string
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				status, id, err := post(client, url, secret, chatBody(servertest.ChatModel), header)
				if err != nil || status != http.StatusOK {
					t.Errorf("request: %d, %v", status, err)
					return
				}
				mu.Lock()
				ids = append(ids, id)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return ids
}

// load is an open-loop client at a fixed rate that remembers when each
// request was answered 200.
type load struct {
	stop     chan struct{}
	wg       sync.WaitGroup
	mu       sync.Mutex
	answered map[string]time.Time
	failed   atomic.Int64
}

func startLoad(url, secret string, rate int) *load {
	l := &load{stop: make(chan struct{}), answered: make(map[string]time.Time)}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	sem := make(chan struct{}, 512)
	l.wg.Go(func() {
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		for {
			select {
			case <-l.stop:
				return
			case <-tick.C:
			}
			select {
			case sem <- struct{}{}:
			default:
				l.failed.Add(1) // too many in flight: counts as not answered
				continue
			}
			l.wg.Go(func() {
				defer func() { <-sem }()
				status, id, err := post(client, url, secret, chatBody(servertest.ChatModel), nil)
				if err != nil || status != http.StatusOK {
					l.failed.Add(1)
					return
				}
				at := time.Now()
				l.mu.Lock()
				l.answered[id] = at
				l.mu.Unlock()
			})
		}
	})
	return l
}

func (l *load) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.answered)
}

// finish stops sending and waits for the requests in flight.
func (l *load) finish() map[string]time.Time {
	close(l.stop)
	l.wg.Wait()
	return l.answered
}

// TestLongKillNineLosesAtMostTheWindow kills the real binary with SIGKILL
// under 300 requests/s, restarts it on the same record log and counts the
// answered requests whose record never reached Postgres: none with
// -durable-records, and otherwise only requests answered within the last
// few sync intervals before the kill (the documented window is one
// interval plus scheduling delay; the test allows five). Also when killed
// four seconds into a Postgres outage, restarted during the outage, and
// Postgres restarted once the new process waits for it.
// No record is ever stored twice. A long test: make test-long runs it.
func TestLongKillNineLosesAtMostTheWindow(t *testing.T) {
	testutil.Long(t)
	const (
		rate         = 300
		syncInterval = 20 * time.Millisecond
		window       = 5 * syncInterval
	)
	tests := []struct {
		name    string
		durable bool
		outage  bool
	}{
		{"durable", true, false},
		{"default", false, false},
		{"durable, 4 s into a Postgres outage", true, true},
		{"default, 4 s into a Postgres outage", false, true},
	}
	bin := tollgateBinary(t)
	_, up := fakeupstream.StartOpenAI(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cluster := pgtest.PrivateCluster(t)
			dsn := cluster.NewMigratedDatabase(t)
			spill := t.TempDir()
			flags := []string{"-records-sync-interval", syncInterval.String()}
			if tt.durable {
				flags = append(flags, "-durable-records")
			}
			if tt.outage {
				// Keys keep being served through the outage (by default a
				// replica re-validates keys after 3 s without Postgres and
				// refuses them when it cannot), so that requests are
				// answered until the kill.
				flags = append(flags, "-config-max-staleness", "1m")
			}
			g := startProcess(t, bin, dsn, spill, flags...)
			secret := g.Setup(t, up)

			ld := startLoad(g.URL, secret, rate)
			eventually(t, 60*time.Second, "load under way", func() error {
				if n := ld.count(); n < 2*rate {
					return fmt.Errorf("%d answered", n)
				}
				return nil
			})
			var duringOutage int
			if tt.outage {
				if err := cluster.Stop(context.Background()); err != nil {
					t.Fatal(err)
				}
				before := ld.count()
				time.Sleep(4 * time.Second) // the outage the gateway is killed in
				duringOutage = ld.count() - before
			}
			killedAt := time.Now()
			g.kill9(t)
			answered := ld.finish()
			segs, _ := filepath.Glob(filepath.Join(spill, "records-*.jsonl"))
			g2 := launchProcess(t, bin, dsn, spill, flags...)
			if tt.outage {
				// Restarted while Postgres is still down, the gateway waits
				// for it, holding its record log; then Postgres returns.
				eventually(t, 30*time.Second, "the restarted gateway waiting for Postgres", func() error {
					if !strings.Contains(g2.logs.String(), "waiting for Postgres") {
						return errors.New("no 'waiting for Postgres' line yet")
					}
					return nil
				})
				if err := cluster.Start(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			g2.waitReady(t)
			eventually(t, 2*time.Minute, "the log replayed", func() error {
				left := 0
				for _, s := range segs {
					if _, err := os.Stat(s); err == nil {
						left++
					}
				}
				if left > 0 {
					return fmt.Errorf("%d of %d segments left", left, len(segs))
				}
				return nil
			})

			stored := map[string]bool{}
			for _, id := range mustQuery(t, dsn, "SELECT request_id FROM request_records") {
				stored[id] = true
			}
			var lost, late []string
			for id, at := range answered {
				if !stored[id] {
					lost = append(lost, id)
					if killedAt.Sub(at) > window {
						late = append(late, fmt.Sprintf("%s answered %v before the kill", id, killedAt.Sub(at).Round(time.Millisecond)))
					}
				}
			}
			inWindow := 0
			for _, at := range answered {
				if killedAt.Sub(at) <= window {
					inWindow++
				}
			}
			t.Logf("%d answered (%d during the outage, %d in the last %v), %d failed or cut by the kill; %d lost; replayed %v",
				len(answered), duringOutage, inWindow, window, ld.failed.Load(), len(lost), g2.metric("tollgate_accounting_records_replayed_total"))
			if tt.durable && len(lost) > 0 {
				t.Errorf("-durable-records lost %d answered records: %v", len(lost), lost)
			}
			if len(late) > 0 {
				t.Errorf("lost records answered before the window of %v: %s", window, strings.Join(late, "; "))
			}
			if tt.outage && duringOutage < rate {
				t.Errorf("only %d requests answered during the outage", duringOutage)
			}
			if dups := mustQuery(t, dsn, "SELECT request_id FROM request_records GROUP BY 1 HAVING count(*) > 1"); len(dups) > 0 {
				t.Errorf("records stored twice: %v", dups)
			}
		})
	}
}
