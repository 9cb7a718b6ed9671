package accounting_test

import (
	"context"
	"syscall"
	"testing"

	"github.com/tollgate-dev/tollgate/service/accounting"
	"github.com/tollgate-dev/tollgate/service/store"
)

// discardSink accepts everything at once.
type discardSink struct{}

func (discardSink) InsertRecords(context.Context, store.RecordBatch) error { return nil }

func (discardSink) InsertDeadLetter(context.Context, store.DeadLetter) error { return nil }

// benchWriter returns a running Writer. A producer calling Record in a
// tight loop outruns any consumer at times, so the queue and memory bounds
// are raised for the benchmark to measure Record's queueing path rather
// than its overflow; dropped/op reports any overflow left.
func benchWriter(b *testing.B, opts ...accounting.Option) *accounting.Writer {
	b.Helper()
	w := accounting.New(discardSink{}, append([]accounting.Option{
		accounting.WithQueueCapacity(1 << 20),
		accounting.WithMaxPending(1 << 20)}, opts...)...)
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

// cpuNanos returns the CPU time this process has used, all threads: on a
// shared machine, CPU per operation says more than wall time.
func cpuNanos() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// reportCPU reports the CPU time per operation since start.
func reportCPU(b *testing.B, start int64) {
	b.ReportMetric(float64(cpuNanos()-start)/float64(b.N), "cpu-ns/op")
}

func reportDropped(b *testing.B, w *accounting.Writer) {
	b.Helper()
	b.ReportMetric(float64(w.Stats().Dropped)/float64(b.N), "dropped/op")
}

func BenchmarkRecord(b *testing.B) {
	w := benchWriter(b)
	r := rec(1)
	b.ReportAllocs()
	cpu0 := cpuNanos()
	for b.Loop() {
		w.Record(r)
	}
	reportCPU(b, cpu0)
	reportDropped(b, w)
}

func BenchmarkRecordParallel(b *testing.B) {
	w := benchWriter(b)
	r := rec(1)
	b.ReportAllocs()
	cpu0 := cpuNanos()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w.Record(r)
		}
	})
	reportCPU(b, cpu0)
	reportDropped(b, w)
}

// BenchmarkRecordLogged is Record in production: sanitised, encoded and
// staged for the group commit of the record log.
func BenchmarkRecordLogged(b *testing.B) {
	w := benchWriter(b, accounting.WithSpillDir(b.TempDir()))
	r := rec(1)
	b.ReportAllocs()
	cpu0 := cpuNanos()
	for b.Loop() {
		w.Record(r)
	}
	reportCPU(b, cpu0)
	reportDropped(b, w)
}

// BenchmarkRecordDurable is Record with WithDurable from 64 goroutines at
// once: each waits for the group commit that syncs its record, and records
// staged during one sync share the next.
func BenchmarkRecordDurable(b *testing.B) {
	w := benchWriter(b, accounting.WithSpillDir(b.TempDir()), accounting.WithDurable(true))
	r := rec(1)
	b.ReportAllocs()
	cpu0 := cpuNanos()
	b.SetParallelism(32)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w.Record(r)
		}
	})
	reportCPU(b, cpu0)
	reportDropped(b, w)
}
