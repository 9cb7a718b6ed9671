package pgstore

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/pgtest"
	"github.com/tollgate-dev/tollgate/service/store"
)

// TestSummaryAtScale measures SummarizeUsage over the rollups of 100
// million records: 90 days at about 13 records/s, from 1,000 keys of 100
// teams and 10 models, 2,000 groups an hour (hourly rollups for the 90
// days, daily ones for all days but today), 200 a minute (minute rollups
// for the last two days), the records of the last two days, and the
// current and previous hours dirty. For the
// last day it also times the same summaries computed from the records. It
// reports, never asserts: opt in with TOLLGATE_LOAD_TEST=1 (the set-up takes
// minutes).
func TestSummaryAtScale(t *testing.T) {
	if os.Getenv("TOLLGATE_LOAD_TEST") != "1" {
		t.Skip("set TOLLGATE_LOAD_TEST=1 to measure summaries at scale")
	}
	ctx := t.Context()
	s, err := Open(ctx, pgtest.NewMigratedDatabase(t), WithMaxConns(2))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	now := time.Now().UTC()
	hour := now.Truncate(time.Hour)
	began := time.Now()
	if err := s.EnsurePartitions(ctx, now.Add(-48*time.Hour), now); err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		// 2,000 groups in each of the 2,160 hours: 100 M records.
		`INSERT INTO usage_hour SELECT h, 'team-' || (g % 1000 % 100), 'svc-' || (g % 3), 'key-' || (g % 1000),
			'model-' || (g / 1000 + 2 * (g % 5)), 'p', 23, 1, 23000, 5000, 100, 23000000, 2, 1000
		FROM generate_series($1::timestamptz - interval '90 days', $1::timestamptz - interval '1 hour', interval '1 hour') AS h,
			generate_series(0, 1999) AS g`,
		// 200 groups in each minute of the last two days.
		`INSERT INTO usage_minute SELECT m, 'team-' || (g * 5 % 1000 % 100), 'svc-' || (g % 3), 'key-' || (g * 5 % 1000),
			'model-' || (g % 10), 'p', 4, 0, 4000, 900, 10, 4000000, 0, 0
		FROM generate_series($1::timestamptz - interval '2 days', $1::timestamptz + interval '59 minutes', interval '1 minute') AS m,
			generate_series(0, 199) AS g`,
		// The days CompactUsage would have computed: all but today's.
		`INSERT INTO usage_day SELECT date_trunc('day', bucket, 'UTC'), team_id, service_id, key_id, model, provider,
			` + sumMeasures + ` FROM usage_hour WHERE bucket < date_trunc('day', $1::timestamptz, 'UTC') GROUP BY 1, 2, 3, 4, 5, 6`,
		`INSERT INTO usage_dirty_hours (hour) VALUES ($1::timestamptz), ($1::timestamptz - interval '1 hour')`,
		// The records of the last two days, 13 a second.
		`INSERT INTO request_records (time, request_id, key_id, team_id, service_id, requested_model, provider, status,
			input_tokens, output_tokens, cost_nanos)
		SELECT $1::timestamptz - interval '2 days' + i * interval '77 milliseconds', 'r' || i, 'key-' || (i % 1000),
			'team-' || (i % 1000 % 100), 'svc-' || (i % 3), 'model-' || (i % 10), 'p', 1, 1000, 200, 1000000
		FROM generate_series(0, 2243000) AS i WHERE $1::timestamptz - interval '2 days' + i * interval '77 milliseconds' < $2`,
		"ANALYZE",
	} {
		args := []any{hour, now}
		switch {
		case sql == "ANALYZE":
			args = nil
		case !strings.Contains(sql, "$2"):
			args = args[:1]
		}
		if _, err := s.pool.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	t.Logf("set up in %v", time.Since(began).Round(time.Second))

	odd := 17*time.Minute + 23*time.Second
	queries := []struct {
		name string
		q    store.SummaryQuery
		raw  bool // also time it from the records
	}{
		{"a team, 30 days, by model", store.SummaryQuery{Start: now.Add(-30 * 24 * time.Hour), End: now, TeamID: "team-7",
			GroupBy: []store.Dimension{store.DimModel}}, false},
		{"all teams, 30 days, by team", store.SummaryQuery{Start: now.Add(-30 * 24 * time.Hour), End: now,
			GroupBy: []store.Dimension{store.DimTeam}}, false},
		{"all teams, 90 days, totals", store.SummaryQuery{Start: now.Add(-90 * 24 * time.Hour), End: now}, false},
		{"a team, 7 days, hourly by model", store.SummaryQuery{Start: now.Add(-7 * 24 * time.Hour), End: now, TeamID: "team-7",
			GroupBy: []store.Dimension{store.DimModel}, Bucket: store.BucketHour}, false},
		{"a team, last 24 h, by key", store.SummaryQuery{Start: now.Add(-24 * time.Hour), End: now, TeamID: "team-7",
			GroupBy: []store.Dimension{store.DimKey}}, true},
		{"all teams, a day to the second, by key", store.SummaryQuery{Start: now.Add(-24*time.Hour - odd), End: now.Add(-odd),
			GroupBy: []store.Dimension{store.DimKey}}, true},
	}
	timeIt := func(sql string, args []any) time.Duration {
		var ds []time.Duration
		for range 5 {
			began := time.Now()
			rows, err := s.pool.Query(ctx, sql, args...)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
			}
			if rows.Err() != nil {
				t.Fatal(rows.Err())
			}
			ds = append(ds, time.Since(began))
		}
		slices.Sort(ds)
		return ds[len(ds)/2]
	}
	for _, tt := range queries {
		sql, args, err := buildSummary(tt.q, false)
		if err != nil {
			t.Fatal(err)
		}
		rollups := timeIt(sql, args)
		if !tt.raw {
			t.Logf("%-40s rollups %8v", tt.name, rollups.Round(100*time.Microsecond))
			continue
		}
		rsql, rargs, err := buildSummary(tt.q, true)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%-40s rollups %8v, records alone %8v", tt.name, rollups.Round(100*time.Microsecond), timeIt(rsql, rargs).Round(time.Millisecond))
	}
}
