package sqlitestore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/service/store"
)

// BenchmarkInsertRecords inserts batches of 500 fully populated records
// spread over the last hour (as pgstore's benchmark of the same name) and
// reports the throughput in records/s.
func BenchmarkInsertRecords(b *testing.B) {
	const batchSize = 500
	s := open(b, b.TempDir())
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
	seg := store.SegmentID{1}
	b.ResetTimer()
	for b.Loop() {
		first := n
		for i := range batch {
			batch[i].RequestID = fmt.Sprintf("req-%d", n)
			batch[i].Time = base.Add(-time.Duration(n%3_600_000) * time.Millisecond)
			n++
		}
		if err := s.InsertRecords(b.Context(), store.RecordBatch{Segment: seg, First: first, Records: batch}); err != nil {
			b.Fatalf("InsertRecords: %v", err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkSummarizeUsage summarises 100,000 records by team (the usage
// report's query) on the embedded store.
func BenchmarkSummarizeUsage(b *testing.B) {
	s := open(b, b.TempDir())
	base := time.Now().UTC().Truncate(time.Microsecond)
	batch := make([]store.Record, 1000)
	for n := 0; n < 100_000; n += len(batch) {
		for i := range batch {
			batch[i] = store.Record{RequestID: fmt.Sprintf("req-%d", n+i), Time: base.Add(-time.Duration(n+i) * time.Second),
				TeamID: fmt.Sprintf("team-%d", i%7), Status: store.StatusOK, CostNanos: 1000, InputTokens: 10}
		}
		if err := s.InsertRecords(b.Context(), store.RecordBatch{Records: batch}); err != nil {
			b.Fatal(err)
		}
	}
	q := store.SummaryQuery{Start: base.Add(-24 * time.Hour), GroupBy: []store.Dimension{store.DimTeam}}
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.SummarizeUsage(b.Context(), q); err != nil {
			b.Fatal(err)
		}
	}
}
