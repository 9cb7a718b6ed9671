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
		if err := s.InsertRecords(b.Context(), batch); err != nil {
			b.Fatalf("InsertRecords: %v", err)
		}
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
