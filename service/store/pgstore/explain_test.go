package pgstore

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-dev/tollgate/internal/pgtest"
	"github.com/tollgate-dev/tollgate/internal/testutil"
	"github.com/tollgate-dev/tollgate/service/store"
)

// TestRecordQueriesUseIndexes stores 50,000 generated records through
// InsertRecords, so that the rollups hold them too, analyzes them, and
// checks with the default planner settings that the usual filters of
// ListRecords are served by indexes, that summaries over whole minutes and
// hours read only the rollups, and that the raw records at a summary's
// edges are read through an index.
func TestRecordQueriesUseIndexes(t *testing.T) {
	t.Parallel()
	recordQueriesUseIndexes(t, 50_000)
}

// TestLongRecordQueriesUseIndexes is TestRecordQueriesUseIndexes over
// 1,000,000 rows. A long test: make test-long runs it.
func TestLongRecordQueriesUseIndexes(t *testing.T) {
	testutil.Long(t)
	t.Parallel()
	recordQueriesUseIndexes(t, 1_000_000)
}

func recordQueriesUseIndexes(t *testing.T, rows int) {
	t.Helper()
	ctx := t.Context()
	dsn := pgtest.NewMigratedDatabase(t)
	s, err := Open(ctx, dsn, WithMaxConns(2))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(s.Close)
	end := time.Now().UTC().Truncate(time.Hour)
	start := end.Add(-7 * 24 * time.Hour)
	began := time.Now()
	// 200 teams of 10 keys each, 20 models, 1 record in 20 with an end
	// user, spread evenly over the week.
	var seg store.SegmentID
	_, _ = rand.Read(seg[:])
	step := end.Sub(start) / time.Duration(rows)
	const batch = 5000
	for first := 0; first < rows; first += batch {
		rs := make([]store.Record, min(batch, rows-first))
		for j := range rs {
			i := first + j
			k := i % 2000
			rs[j] = store.Record{
				Time: start.Add(time.Duration(i) * step), RequestID: fmt.Sprintf("req-%d", i),
				KeyID: fmt.Sprintf("key-%d", k), TeamID: fmt.Sprintf("team-%d", k%200), ServiceID: fmt.Sprintf("svc-%d", k%7),
				Tags: []string{fmt.Sprintf("env-%d", i%3)}, RequestedModel: fmt.Sprintf("model-%d", i%20), Provider: "p", Model: "m",
				Status: store.StatusOK, InputTokens: 100, OutputTokens: 50, CostNanos: 1000,
			}
			if i%20 == 0 {
				rs[j].EndUser = fmt.Sprintf("user-%d", i%5000)
			}
		}
		if err := s.InsertRecords(ctx, store.RecordBatch{Segment: seg, First: first, Records: rs}); err != nil {
			t.Fatalf("InsertRecords: %v", err)
		}
	}
	inserted := time.Since(began)
	// As the hourly maintenance would: every hour but the current one is
	// compacted.
	if _, err := s.CompactUsage(ctx, end); err != nil {
		t.Fatalf("CompactUsage: %v", err)
	}
	if _, err := s.pool.Exec(ctx, "ANALYZE"); err != nil {
		t.Fatalf("ANALYZE: %v", err)
	}
	t.Logf("inserted %d rows in %v (%.0f rows/s)", rows, inserted.Round(time.Millisecond), float64(rows)/inserted.Seconds())

	listTests := []struct {
		name string
		f    store.RecordFilter
	}{
		{"team", store.RecordFilter{Start: start, End: end, TeamID: "team-7"}},
		// ListRecords adds a key's team to a filter on the key alone.
		{"key", store.RecordFilter{Start: start, End: end, TeamID: "team-42", KeyID: "key-42"}},
		{"model", store.RecordFilter{Start: start, End: end, Model: "model-3"}},
		{"end user", store.RecordFilter{Start: start, End: end, EndUser: "user-40"}},
		{"none", store.RecordFilter{Start: start, End: end}},
		{"team, second page", store.RecordFilter{Start: start, End: end, TeamID: "team-7", After: store.EncodeCursor(end.Add(-time.Hour), "req-9")}},
	}
	for _, tt := range listTests {
		t.Run("list by "+tt.name, func(t *testing.T) {
			sql, args, err := listRecordsQuery(tt.f, 100)
			if err != nil {
				t.Fatal(err)
			}
			checkPlan(t, s, sql, args, func(plan string) error {
				if strings.Contains(plan, "Seq Scan on request_records_p") || !strings.Contains(plan, "Index") {
					return fmt.Errorf("plan does not use an index")
				}
				return nil
			})
		})
	}

	day := end.Add(-24 * time.Hour)
	odd := 17*time.Minute + 23*time.Second
	onlyRollups := func(plan string) error {
		if strings.Contains(plan, "request_records") {
			return fmt.Errorf("plan reads request records for whole hours and minutes")
		}
		if !strings.Contains(plan, "Index") {
			return fmt.Errorf("plan does not use the rollups' index")
		}
		return nil
	}
	edgesByIndex := func(plan string) error {
		if strings.Contains(plan, "Seq Scan on request_records_p") {
			return fmt.Errorf("plan scans a partition of request records")
		}
		if !strings.Contains(plan, "request_records") {
			return fmt.Errorf("plan does not read the partial minutes at the edges from request records")
		}
		return nil
	}
	sumTests := []struct {
		name  string
		q     store.SummaryQuery
		check func(string) error
	}{
		{"team, one day", store.SummaryQuery{Start: day, End: end, TeamID: "team-7", GroupBy: []store.Dimension{store.DimModel}}, onlyRollups},
		{"team by tag, hourly", store.SummaryQuery{Start: day, End: end, TeamID: "team-7", GroupBy: []store.Dimension{store.DimTag}, Bucket: store.BucketHour}, onlyRollups},
		{"team by end user", store.SummaryQuery{Start: day, End: end, TeamID: "team-7", GroupBy: []store.Dimension{store.DimEndUser}}, onlyRollups},
		{"team, a day to the second", store.SummaryQuery{Start: day.Add(-odd), End: end.Add(-odd), TeamID: "team-7", GroupBy: []store.Dimension{store.DimKey}}, edgesByIndex},
		{"all teams, a day to the second", store.SummaryQuery{Start: day.Add(-odd), End: end.Add(-odd), GroupBy: []store.Dimension{store.DimTeam}}, edgesByIndex},
	}
	for _, tt := range sumTests {
		t.Run("summary "+tt.name, func(t *testing.T) {
			sql, args, err := summaryQuery(tt.q)
			if err != nil {
				t.Fatal(err)
			}
			checkPlan(t, s, sql, args, tt.check)
		})
	}
}

// checkPlan fails when check finds fault with the plan of sql.
func checkPlan(t *testing.T, s *Store, sql string, args []any, check func(plan string) error) {
	t.Helper()
	rows, _ := s.pool.Query(context.WithoutCancel(t.Context()), "EXPLAIN "+sql, args...)
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("EXPLAIN: %v", err)
	}
	plan := strings.Join(lines, "\n")
	if err := check(plan); err != nil {
		t.Errorf("%v:\n%s\n%s", err, sql, plan)
	}
	if testing.Verbose() {
		fmt.Fprintf(os.Stderr, "%s\n%s\n\n", sql, plan)
	}
}
