package accounting_test

import (
	"context"
	"fmt"
	"time"

	"github.com/tollgate-dev/tollgate/service/accounting"
	"github.com/tollgate-dev/tollgate/service/store"
)

// printSink stands in for store.Records.
type printSink struct{}

func (printSink) InsertRecords(_ context.Context, b store.RecordBatch) error {
	for _, r := range b.Records {
		fmt.Printf("stored %s: %d tokens\n", r.RequestID, r.InputTokens+r.OutputTokens)
	}
	return nil
}

func (printSink) InsertDeadLetter(_ context.Context, d store.DeadLetter) error {
	fmt.Printf("rejected %s: %s\n", d.Record.RequestID, d.Error)
	return nil
}

func Example() {
	// In production: accounting.New(st, accounting.WithSpillDir(dir),
	// accounting.WithLogger(logger)) with st a store.Store, so that every
	// record is in the local log before it is queued.
	w := accounting.New(printSink{}, accounting.WithFlushInterval(time.Hour))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()

	// On the request path, once per request:
	w.Record(store.Record{RequestID: "req-1", InputTokens: 12, OutputTokens: 30})
	w.Record(store.Record{RequestID: "req-2", InputTokens: 7, OutputTokens: 5})

	// At shutdown: cancel Run's context and wait for the final flush.
	cancel()
	if err := <-done; err != nil {
		fmt.Println(err)
	}
	st := w.Stats()
	fmt.Printf("recorded %d, written %d in %d batch\n", st.Recorded, st.Written, st.Batches)
	// Output:
	// stored req-1: 42 tokens
	// stored req-2: 12 tokens
	// recorded 2, written 2 in 1 batch
}
