package server

import (
	"io"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tollgate-dev/tollgate/internal/jsonstr"
)

// AccessLogWriter receives the access log: whole lines, in batches.
type AccessLogWriter = io.Writer

// Sizes of the access log's buffer.
const (
	// accessLogBuffer bounds what waits in memory; lines beyond it are
	// dropped (and counted) rather than block requests.
	accessLogBuffer = 4 << 20
	// accessLogFlushAt wakes the writer early.
	accessLogFlushAt = 64 << 10
	// accessLogInterval is the longest a line waits.
	accessLogInterval = 100 * time.Millisecond
)

// asyncWriter collects writes in memory and writes them to out in batches
// from one goroutine: every accessLogInterval, or sooner once
// accessLogFlushAt bytes wait. A write that would take the buffer over
// its bound is dropped and counted. Each Write must hold whole lines (a
// slog handler writes one record per call), so lines never interleave
// with other writers of out.
type asyncWriter struct {
	out io.Writer
	max int

	mu   sync.Mutex
	buf  []byte
	kick chan struct{}
	// spare is the buffer the last flush wrote, reused for the next batch.
	spare []byte
	// flushMu serialises writes to out.
	flushMu sync.Mutex

	dropped atomic.Int64
}

func newAsyncWriter(out io.Writer, max int) *asyncWriter {
	return &asyncWriter{out: out, max: max, buf: make([]byte, 0, accessLogFlushAt), kick: make(chan struct{}, 1)}
}

// Write implements io.Writer; it never blocks on out.
func (w *asyncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	if len(w.buf)+len(p) > w.max {
		w.mu.Unlock()
		w.dropped.Add(1)
		return len(p), nil
	}
	w.buf = append(w.buf, p...)
	full := len(w.buf) >= accessLogFlushAt
	w.mu.Unlock()
	if full {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
	return len(p), nil
}

// appendLine appends what add appends to the buffer, as one write: add
// must append whole lines. Like Write, it drops the line (and counts it)
// when the buffer would go over its bound.
func (w *asyncWriter) appendLine(add func([]byte) []byte) {
	w.mu.Lock()
	n := len(w.buf)
	w.buf = add(w.buf)
	if len(w.buf) > w.max {
		w.buf = w.buf[:n]
		w.mu.Unlock()
		w.dropped.Add(1)
		return
	}
	full := len(w.buf) >= accessLogFlushAt
	w.mu.Unlock()
	if full {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
}

// run flushes until done is closed, then flushes once more.
func (w *asyncWriter) run(done <-chan struct{}) {
	t := time.NewTicker(accessLogInterval)
	defer t.Stop()
	for {
		select {
		case <-done:
			w.flush()
			return
		case <-t.C:
		case <-w.kick:
		}
		w.flush()
	}
}

// flush writes what is buffered.
func (w *asyncWriter) flush() {
	w.flushMu.Lock()
	defer w.flushMu.Unlock()
	w.mu.Lock()
	b := w.buf
	w.buf = w.spare[:0]
	w.mu.Unlock()
	if len(b) > 0 {
		_, _ = w.out.Write(b)
	}
	if cap(b) > accessLogBuffer/4 {
		b = nil // do not keep a big burst's buffer
	}
	w.mu.Lock()
	w.spare = b[:0]
	w.mu.Unlock()
}

// appendAccessLine appends one access-log line in the process's log
// format (slog's JSON handler: time, level, msg, then the attributes),
// without the handler's generic machinery.
func appendAccessLine(b []byte, t time.Time, id, method, path string, status int, d time.Duration, proto string) []byte {
	b = append(b, `{"time":"`...)
	b = t.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","level":"INFO","msg":"request","request_id":`...)
	b = jsonstr.AppendString(b, id)
	b = append(b, `,"method":`...)
	b = jsonstr.AppendString(b, method)
	b = append(b, `,"path":`...)
	b = jsonstr.AppendString(b, path)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, `,"duration":`...)
	b = strconv.AppendInt(b, int64(d), 10)
	if proto != "" {
		b = append(b, `,"proto":`...)
		b = jsonstr.AppendString(b, proto)
	}
	return append(b, "}\n"...)
}

// newJSONLogger is the logger format of the whole process.
func newJSONLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

// sampled reports whether a successful request's line is written: always
// at rate 1 or more, never at 0 or less, else with probability rate.
func sampled(rate float64) bool {
	switch {
	case rate >= 1:
		return true
	case rate <= 0:
		return false
	}
	return rand.Float64() < rate
}
