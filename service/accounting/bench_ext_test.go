package accounting_test

import (
	"context"
	"testing"

	"github.com/tollgate-dev/tollgate/service/accounting"
	"github.com/tollgate-dev/tollgate/service/store"
)

// discardSink accepts everything at once.
type discardSink struct{}

func (discardSink) InsertRecords(context.Context, []store.Record) error { return nil }

// benchWriter returns a running Writer. A producer calling Record in a
// tight loop outruns any consumer at times, so the queue and memory bounds
// are raised for the benchmark to measure Record's queueing path rather
// than its overflow; dropped/op reports any overflow left.
func benchWriter(b *testing.B) *accounting.Writer {
	b.Helper()
	w := accounting.New(discardSink{},
		accounting.WithQueueCapacity(1<<20),
		accounting.WithMaxPending(1<<20))
	ctx, cancel := context.WithCancel(b.Context())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	b.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	})
	return w
}

func reportDropped(b *testing.B, w *accounting.Writer) {
	b.Helper()
	b.ReportMetric(float64(w.Stats().Dropped)/float64(b.N), "dropped/op")
}

func BenchmarkRecord(b *testing.B) {
	w := benchWriter(b)
	r := rec(1)
	b.ReportAllocs()
	for b.Loop() {
		w.Record(r)
	}
	reportDropped(b, w)
}

func BenchmarkRecordParallel(b *testing.B) {
	w := benchWriter(b)
	r := rec(1)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w.Record(r)
		}
	})
	reportDropped(b, w)
}
