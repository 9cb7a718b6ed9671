package pgstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/pgtest"
	"github.com/tollgate-dev/tollgate/service/store"
)

// BenchmarkInsertRecords inserts batches of 500 fully populated records
// spread over the last hour and reports the throughput in records/s.
func BenchmarkInsertRecords(b *testing.B) {
	const batchSize = 500
	s := open(b, pgtest.NewMigratedDatabase(b))
	base := time.Now().UTC().Truncate(time.Microsecond)
	batch := make([]store.Record, batchSize)
	for i := range batch {
		batch[i] = store.Record{
			KeyID: fmt.Sprintf("key-%d", i%50), TeamID: fmt.Sprintf("team-%d", i%7), ServiceID: "svc",
			EndUser: fmt.Sprintf("user-%d", i%100), Tags: []string{"bench"}, Surface: "openai",
			Operation: "chat", RequestedModel: "gpt-4o", Provider: "openai", Model: "gpt-4o-2024-08-06",
			Status: store.StatusOK, InputTokens: 1200, OutputTokens: 300, CachedInputTokens: 512,
			CostNanos: 6_000_000, Latency: 800 * time.Millisecond, TTFT: 200 * time.Millisecond, Attempts: 1,
		}
	}
	n := 0
	b.ResetTimer()
	for b.Loop() {
		for i := range batch {
			batch[i].RequestID = fmt.Sprintf("req-%d", n)
			batch[i].Time = base.Add(-time.Duration(n%3_600_000) * time.Millisecond)
			n++
		}
		if err := s.InsertRecords(b.Context(), batchOf(batch)); err != nil {
			b.Fatalf("InsertRecords: %v", err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkInsertRecordsSteady inserts what the writer sends at 2,000
// requests/s: batches of 2,000 records of the current minute from 50 keys
// of 7 teams, 3 models, one in ten with an end user.
func BenchmarkInsertRecordsSteady(b *testing.B) {
	s := open(b, pgtest.NewDatabase(b))
	gen := newRecordGen(time.Now().UTC())
	batch := make([]store.Record, 2000)
	n := 0
	b.ResetTimer()
	for b.Loop() {
		now := time.Now().UTC()
		for i := range batch {
			batch[i] = gen.next(now.Add(-time.Duration(i) * time.Millisecond / 2))
		}
		if err := s.InsertRecords(b.Context(), batchOf(batch)); err != nil {
			b.Fatalf("InsertRecords: %v", err)
		}
		n += len(batch)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkLeaseCounter measures one lease call (a refill or a report): a
// round trip to tollgate_lease under the counter row's lock.
func BenchmarkLeaseCounter(b *testing.B) {
	s := open(b, pgtest.NewDatabase(b))
	ctx := context.Background()
	req := store.LeaseRequest{Counter: "bench", Holder: "r1", Limit: store.Amount{A: 1 << 60},
		Used: store.Amount{A: 1}, Need: store.Amount{A: 1}, Extra: store.Amount{A: 1}, TTL: time.Minute, StarveFor: time.Second}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.LeaseCounter(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}
