package pgstore

import (
	"context"
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

// TestRecordQueriesUseIndexes fills request_records with 50,000 generated
// rows, analyzes them, and checks with the default planner settings that
// the usual filters of ListRecords and SummarizeUsage are served by
// indexes, not sequential scans.
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
	if err := s.EnsurePartitions(ctx, start, end); err != nil {
		t.Fatalf("EnsurePartitions: %v", err)
	}
	began := time.Now()
	// 200 teams, 2,000 keys, 20 models, 1 record in 20 with an end user,
	// spread evenly over the week.
	if _, err := s.pool.Exec(ctx, `
		INSERT INTO request_records (time, request_id, key_id, team_id, service_id, end_user, tags, requested_model,
			provider, model, status, input_tokens, output_tokens, cost_nanos)
		SELECT $1::timestamptz + (i * (extract(epoch FROM $2::timestamptz - $1::timestamptz) / $3)) * interval '1 second',
			'req-' || i, 'key-' || (i % 2000), 'team-' || (i % 200), 'svc-' || (i % 7),
			CASE WHEN i % 20 = 0 THEN 'user-' || (i % 5000) ELSE '' END,
			ARRAY['env-' || (i % 3)], 'model-' || (i % 20), 'p', 'm', 1, 100, 50, 1000
		FROM generate_series(0, $3 - 1) AS i`, start, end, rows); err != nil {
		t.Fatalf("generate rows: %v", err)
	}
	inserted := time.Since(began)
	if _, err := s.pool.Exec(ctx, "ANALYZE request_records"); err != nil {
		t.Fatalf("ANALYZE: %v", err)
	}
	t.Logf("inserted %d rows in %v (%.0f rows/s)", rows, inserted.Round(time.Millisecond), float64(rows)/inserted.Seconds())

	day := end.Add(-24 * time.Hour)
	listTests := []struct {
		name string
		f    store.RecordFilter
	}{
		{"team", store.RecordFilter{Start: start, End: end, TeamID: "team-7"}},
		{"key", store.RecordFilter{Start: start, End: end, KeyID: "key-42"}},
		{"model", store.RecordFilter{Start: start, End: end, Model: "model-3"}},
		{"end user", store.RecordFilter{Start: start, End: end, EndUser: "user-40"}},
		{"team and key", store.RecordFilter{Start: start, End: end, TeamID: "team-42", KeyID: "key-42"}},
	}
	for _, tt := range listTests {
		t.Run("list by "+tt.name, func(t *testing.T) {
			sql, args, err := listRecordsQuery(tt.f, 100)
			if err != nil {
				t.Fatal(err)
			}
			checkIndexPlan(t, s, sql, args)
		})
	}
	sumTests := []struct {
		name string
		q    store.SummaryQuery
	}{
		{"team, one day", store.SummaryQuery{Start: day, End: end, TeamID: "team-7", GroupBy: []store.Dimension{store.DimModel}}},
		{"team by tag, hourly", store.SummaryQuery{Start: day, End: end, TeamID: "team-7", GroupBy: []store.Dimension{store.DimTag}, Bucket: store.BucketHour}},
	}
	for _, tt := range sumTests {
		t.Run("summary "+tt.name, func(t *testing.T) {
			sql, args, err := summaryQuery(tt.q)
			if err != nil {
				t.Fatal(err)
			}
			checkIndexPlan(t, s, sql, args)
		})
	}
}

// checkIndexPlan fails when the plan of sql scans a partition sequentially.
func checkIndexPlan(t *testing.T, s *Store, sql string, args []any) {
	t.Helper()
	rows, _ := s.pool.Query(context.WithoutCancel(t.Context()), "EXPLAIN "+sql, args...)
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("EXPLAIN: %v", err)
	}
	plan := strings.Join(lines, "\n")
	if strings.Contains(plan, "Seq Scan on request_records_p") || !strings.Contains(plan, "Index") {
		t.Errorf("plan does not use an index:\n%s", plan)
	}
	if testing.Verbose() {
		fmt.Fprintf(os.Stderr, "%s\n%s\n\n", sql, plan)
	}
}
