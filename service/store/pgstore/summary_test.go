package pgstore

import (
	"context"
	crand "crypto/rand"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-dev/tollgate/internal/pgtest"
	"github.com/tollgate-dev/tollgate/service/store"
)

func TestSummarySpans(t *testing.T) {
	t.Parallel()
	at := func(s string) time.Time {
		v, err := time.Parse("15:04:05", s)
		if err != nil {
			t.Fatal(err)
		}
		return v.AddDate(2026, 0, 0)
	}
	var zero time.Time
	day := func(d int, hm string) time.Time { return at(hm).AddDate(0, 0, d) }
	tests := []struct {
		name       string
		start, end time.Time
		days       bool
		want       []span
	}{
		{"within a minute", at("10:00:05"), at("10:00:50"), false, []span{{fromRecords, at("10:00:05"), at("10:00:50")}}},
		{"across a minute boundary", at("10:00:05"), at("10:01:50"), false, []span{{fromRecords, at("10:00:05"), at("10:01:50")}}},
		{"minutes", at("10:00:05"), at("10:03:50"), false, []span{
			{fromRecords, at("10:00:05"), at("10:01:00")}, {fromMinutes, at("10:01:00"), at("10:03:00")}, {fromRecords, at("10:03:00"), at("10:03:50")}}},
		{"hours", at("09:58:30"), at("12:02:00"), false, []span{
			{fromRecords, at("09:58:30"), at("09:59:00")}, {fromMinutes, at("09:59:00"), at("10:00:00")},
			{fromHours, at("10:00:00"), at("12:00:00")}, {fromMinutes, at("12:00:00"), at("12:02:00")}}},
		{"aligned", at("10:00:00"), at("12:00:00"), false, []span{{fromHours, at("10:00:00"), at("12:00:00")}}},
		{"one unaligned hour", at("10:30:00"), at("11:30:00"), false, []span{{fromMinutes, at("10:30:00"), at("11:30:00")}}},
		{"no start", zero, at("11:30:10"), false, []span{
			{fromHours, zero, at("11:00:00")}, {fromMinutes, at("11:00:00"), at("11:30:00")}, {fromRecords, at("11:30:00"), at("11:30:10")}}},
		{"no end", at("10:30:00"), zero, false, []span{{fromMinutes, at("10:30:00"), at("11:00:00")}, {fromHours, at("11:00:00"), zero}}},
		{"no bounds", zero, zero, false, []span{{fromHours, zero, zero}}},
		{"no bounds, days", zero, zero, true, []span{{fromDays, zero, zero}}},
		{"days", day(0, "22:59:30"), day(3, "01:30:00"), true, []span{
			{fromRecords, day(0, "22:59:30"), day(0, "23:00:00")}, {fromHours, day(0, "23:00:00"), day(1, "00:00:00")},
			{fromDays, day(1, "00:00:00"), day(3, "00:00:00")}, {fromHours, day(3, "00:00:00"), day(3, "01:00:00")},
			{fromMinutes, day(3, "01:00:00"), day(3, "01:30:00")}}},
		{"days, none whole", day(0, "12:00:00"), day(1, "12:00:00"), true, []span{{fromHours, day(0, "12:00:00"), day(1, "12:00:00")}}},
		{"days, no start", zero, day(1, "00:00:00"), true, []span{{fromDays, zero, day(1, "00:00:00")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := summarySpans(tt.start, tt.end, tt.days); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("summarySpans(%v, %v) =\n%v\nwant\n%v", tt.start, tt.end, got, tt.want)
			}
		})
	}
}

// TestSummaryMatchesRecords stores random records through InsertRecords
// (with retried and overlapping batches) and checks that random summaries
// served from the rollups equal the same summaries computed from the
// records alone.
func TestSummaryMatchesRecords(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, err := Open(ctx, pgtest.NewMigratedDatabase(t), WithMaxConns(2))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(s.Close)
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(vs ...string) string { return vs[rng.IntN(len(vs))] }
	base := time.Now().UTC().Add(-50 * time.Hour)
	statuses := []store.Status{store.StatusOK, store.StatusOK, store.StatusOK, store.StatusUpstreamError, store.StatusLimited}
	var rs []store.Record
	for i := range 3000 {
		key := rng.IntN(12)
		r := store.Record{
			RequestID: fmt.Sprintf("r%d", i), Time: base.Add(time.Duration(rng.Int64N(int64(52 * time.Hour)))),
			KeyID: fmt.Sprintf("k%d", key), TeamID: fmt.Sprintf("t%d", key%3), ServiceID: fmt.Sprintf("s%d", key%2),
			RequestedModel: pick("gpt", "claude", "gemini"), Provider: pick("openai", "azure", "anthropic"),
			EndUser: pick("", "", "alice", "bob", "carol"), Status: statuses[rng.IntN(len(statuses))],
			InputTokens: rng.Int64N(5000), OutputTokens: rng.Int64N(900), CachedInputTokens: rng.Int64N(100),
			CostNanos: rng.Int64N(1e7), CacheStatus: pick("", "miss", "hit-exact", "hit-semantic"),
		}
		if r.CacheStatus == "hit-exact" {
			r.SavedNanos, r.CostNanos = rng.Int64N(1e6), 0
		}
		for range rng.IntN(4) {
			r.Tags = append(r.Tags, pick("a", "b", "c", "env=prod"))
		}
		for range rng.IntN(3) {
			r.Guardrails = append(r.Guardrails, store.GuardrailVerdict{Policy: pick("p1", "p2"), Guardrail: pick("pii", "inj"), Action: pick("flag", "block")})
		}
		rs = append(rs, r)
	}
	// Two writers insert halves of the records, some batches twice and some
	// overlapping the previous one, while a third compacts the hourly
	// rollups, every hour that has ended and the current one too.
	var wg sync.WaitGroup
	insertHalf := func(seed uint64, rs []store.Record) {
		rng := rand.New(rand.NewPCG(seed, 3))
		var seg store.SegmentID
		_, _ = crand.Read(seg[:])
		for first := 0; first < len(rs); first += 100 {
			b := store.RecordBatch{Segment: seg, First: first, Records: rs[first:min(first+100, len(rs))]}
			for range 1 + rng.IntN(2) {
				if err := s.InsertRecords(ctx, b); err != nil {
					t.Error(err)
					return
				}
			}
			if first > 0 {
				o := store.RecordBatch{Segment: seg, First: first - 50, Records: rs[first-50 : first+20]}
				if err := s.InsertRecords(ctx, o); err != nil {
					t.Error(err)
					return
				}
			}
		}
	}
	done := make(chan struct{})
	wg.Go(func() { insertHalf(1, rs[:len(rs)/2]) })
	wg.Go(func() { insertHalf(2, rs[len(rs)/2:]) })
	compacted := 0
	var cwg sync.WaitGroup
	cwg.Go(func() {
		for {
			n, err := s.CompactUsage(ctx, time.Now().Add(4*time.Hour))
			if err != nil {
				t.Error(err)
				return
			}
			compacted += n
			select {
			case <-done:
				return
			default:
			}
		}
	})
	wg.Wait()
	close(done)
	cwg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	if compacted == 0 {
		t.Fatal("no hour compacted while the records were written")
	}
	dims := []store.Dimension{store.DimTeam, store.DimService, store.DimKey, store.DimModel, store.DimProvider,
		store.DimEndUser, store.DimTag, store.DimGuardrail}
	buckets := []store.Bucket{store.BucketNone, store.BucketHour, store.BucketDay}
	for i := range 300 {
		if i == 150 { // half the queries with hours left dirty, half with none
			if _, err := s.CompactUsage(ctx, time.Now().Add(4*time.Hour)); err != nil {
				t.Fatal(err)
			}
			if n := query1(ctx, t, s, "SELECT count(*) FROM usage_dirty_hours"); n != "0" {
				t.Fatalf("%s dirty hours after compacting them all", n)
			}
		}
		var q store.SummaryQuery
		if rng.IntN(5) > 0 {
			q.Start = base.Add(time.Duration(rng.Int64N(int64(40 * time.Hour))))
			if rng.IntN(3) == 0 {
				q.Start = q.Start.Truncate(time.Hour)
			}
		}
		if rng.IntN(5) > 0 {
			q.End = q.Start.Add(time.Duration(rng.Int64N(int64(20 * time.Hour))))
			if q.Start.IsZero() {
				q.End = base.Add(time.Duration(rng.Int64N(int64(52 * time.Hour))))
			}
			if rng.IntN(3) == 0 {
				q.End = q.End.Truncate(time.Minute)
			}
			if !q.End.After(q.Start) {
				q.End = q.Start.Add(time.Minute)
			}
		}
		if rng.IntN(2) == 0 {
			q.TeamID = fmt.Sprintf("t%d", rng.IntN(4))
		}
		for _, j := range rng.Perm(len(dims))[:rng.IntN(3)] {
			q.GroupBy = append(q.GroupBy, dims[j])
		}
		q.Bucket = buckets[rng.IntN(len(buckets))]
		got, err := s.SummarizeUsage(ctx, q)
		if err != nil {
			t.Fatalf("query %d %+v: %v", i, q, err)
		}
		want := rawSummary(ctx, t, s, q)
		if !reflect.DeepEqual(normalize(got), normalize(want)) {
			t.Fatalf("query %d %+v:\nrollups %+v\nrecords %+v", i, q, got, want)
		}
	}
}

func query1(ctx context.Context, t *testing.T, s *Store, sql string) string {
	t.Helper()
	var v int64
	if err := s.pool.QueryRow(ctx, sql).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(v)
}

// rawSummary is SummarizeUsage computed from the records alone.
func rawSummary(ctx context.Context, t *testing.T, s *Store, q store.SummaryQuery) []store.UsageGroup {
	t.Helper()
	sql, args, err := buildSummary(q, true)
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := s.pool.Query(ctx, sql, args...)
	groups, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.UsageGroup, error) {
		g := store.UsageGroup{Keys: make([]string, len(q.GroupBy))}
		var dest []any
		if q.Bucket != store.BucketNone {
			dest = append(dest, &g.BucketStart)
		}
		for i := range g.Keys {
			dest = append(dest, &g.Keys[i])
		}
		dest = append(dest, &g.Requests, &g.Errors, &g.InputTokens, &g.OutputTokens, &g.CachedInputTokens, &g.CostNanos,
			&g.CacheHits, &g.SavedNanos)
		return g, row.Scan(dest...)
	})
	if err != nil {
		t.Fatal(err)
	}
	return groups
}

func normalize(gs []store.UsageGroup) []store.UsageGroup {
	out := make([]store.UsageGroup, len(gs))
	for i, g := range gs {
		g.BucketStart = g.BucketStart.UTC()
		if len(g.Keys) == 0 {
			g.Keys = nil
		}
		out[i] = g
	}
	return out
}
