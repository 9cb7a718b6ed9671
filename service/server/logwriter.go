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
	"github.com/tollgate-dev/tollgate/service/store"
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

// accessEntry is what one access-log line says.
type accessEntry struct {
	t                                time.Time
	id, traceID, method, path, proto string
	status                           int
	d                                time.Duration
	// rpcCode is a failed RPC's Connect/gRPC code name.
	rpcCode string
	// rec is the engine's record of an inference request, nil otherwise.
	rec *store.Record
}

// failed reports whether the line is of a failed request (always logged).
func (e *accessEntry) failed() bool {
	return e.status >= 400 || e.rpcCode != "" || (e.rec != nil && e.rec.ErrorCode != "")
}

// appendAccessLine appends one access-log line in the process's log
// format (slog's JSON handler: time, level, msg, then the attributes),
// without the handler's generic machinery. Durations are milliseconds
// (latency_ms, ttft_ms); cost is in US dollars. No prompt or answer text,
// no credential: the key is named by its id.
func appendAccessLine(b []byte, e *accessEntry) []byte {
	b = append(b, `{"time":"`...)
	b = e.t.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","level":"INFO","msg":"request"`...)
	w := accessEncoder{b: b}
	e.fields(&w)
	return append(w.b, "}\n"...)
}

// attrs returns the line's fields (after time, level and msg) as slog
// attributes, for a server embedded with its caller's logger.
func (e *accessEntry) attrs() []slog.Attr {
	w := accessEncoder{attrs: make([]slog.Attr, 0, 28), toSlog: true}
	e.fields(&w)
	return w.attrs
}

// fields hands the line's fields after time, level and msg to w, in
// order: the one list of them, for both encoders.
func (e *accessEntry) fields(w *accessEncoder) {
	w.str("request_id", e.id)
	w.optStr("trace_id", e.traceID)
	w.str("method", e.method)
	w.str("path", e.path)
	w.int("status", int64(e.status))
	w.optStr("rpc_code", e.rpcCode)
	w.float("latency_ms", millis(e.d))
	w.optStr("proto", e.proto)
	r := e.rec
	if r == nil {
		return
	}
	w.optStr("surface", r.Surface)
	w.optStr("operation", r.Operation)
	w.optStr("team", r.TeamID)
	w.optStr("service", r.ServiceID)
	w.optStr("key_id", r.KeyID)
	w.optStr("end_user", r.EndUser)
	w.optStr("model", r.RequestedModel)
	w.optStr("served_model", r.Model)
	w.optStr("provider", r.Provider)
	w.int("attempts", int64(r.Attempts))
	w.int("input_tokens", r.InputTokens)
	w.int("output_tokens", r.OutputTokens)
	if r.CachedInputTokens != 0 {
		w.int("cached_input_tokens", r.CachedInputTokens)
	}
	w.float("cost_usd", float64(r.CostNanos)/1e9)
	if r.TTFT > 0 {
		w.float("ttft_ms", millis(r.TTFT))
	}
	w.optStr("cache", r.CacheStatus)
	if len(r.Guardrails) > 0 {
		w.list("guardrails", len(r.Guardrails), func(i int) string {
			v := &r.Guardrails[i]
			return v.Policy + "/" + v.Guardrail + ":" + v.Stage + ":" + v.Action
		})
	}
	w.optStr("error", r.ErrorCode)
	if r.Partial {
		w.boolean("partial", true)
	}
}

// accessEncoder writes fields either as JSON members appended to b (each
// after a comma) or, with toSlog, as slog attributes.
type accessEncoder struct {
	b      []byte
	attrs  []slog.Attr
	toSlog bool
}

func (w *accessEncoder) key(name string) {
	w.b = append(w.b, ',', '"')
	w.b = append(w.b, name...)
	w.b = append(w.b, '"', ':')
}

func (w *accessEncoder) str(name, v string) {
	if w.toSlog {
		w.attrs = append(w.attrs, slog.String(name, v))
		return
	}
	w.key(name)
	w.b = jsonstr.AppendString(w.b, v)
}

// optStr writes v unless it is empty.
func (w *accessEncoder) optStr(name, v string) {
	if v != "" {
		w.str(name, v)
	}
}

func (w *accessEncoder) int(name string, v int64) {
	if w.toSlog {
		w.attrs = append(w.attrs, slog.Int64(name, v))
		return
	}
	w.key(name)
	w.b = strconv.AppendInt(w.b, v, 10)
}

func (w *accessEncoder) float(name string, v float64) {
	if w.toSlog {
		w.attrs = append(w.attrs, slog.Float64(name, v))
		return
	}
	w.key(name)
	w.b = strconv.AppendFloat(w.b, v, 'f', -1, 64)
}

func (w *accessEncoder) boolean(name string, v bool) {
	if w.toSlog {
		w.attrs = append(w.attrs, slog.Bool(name, v))
		return
	}
	w.key(name)
	w.b = strconv.AppendBool(w.b, v)
}

// list writes n strings, the i-th from item(i).
func (w *accessEncoder) list(name string, n int, item func(int) string) {
	if w.toSlog {
		l := make([]string, n)
		for i := range l {
			l[i] = item(i)
		}
		w.attrs = append(w.attrs, slog.Any(name, l))
		return
	}
	w.key(name)
	w.b = append(w.b, '[')
	for i := range n {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.b = jsonstr.AppendString(w.b, item(i))
	}
	w.b = append(w.b, ']')
}

// millis is d in milliseconds with microsecond precision.
func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

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
