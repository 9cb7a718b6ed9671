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
	b = append(b, `","level":"INFO","msg":"request","request_id":`...)
	b = jsonstr.AppendString(b, e.id)
	if e.traceID != "" {
		b = append(b, `,"trace_id":"`...)
		b = append(b, e.traceID...)
		b = append(b, '"')
	}
	b = append(b, `,"method":`...)
	b = jsonstr.AppendString(b, e.method)
	b = append(b, `,"path":`...)
	b = jsonstr.AppendString(b, e.path)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(e.status), 10)
	if e.rpcCode != "" {
		b = append(b, `,"rpc_code":`...)
		b = jsonstr.AppendString(b, e.rpcCode)
	}
	b = append(b, `,"latency_ms":`...)
	b = appendMillis(b, e.d)
	if e.proto != "" {
		b = append(b, `,"proto":`...)
		b = jsonstr.AppendString(b, e.proto)
	}
	if r := e.rec; r != nil {
		str := func(name, v string) {
			if v != "" {
				b = append(b, `,"`...)
				b = append(b, name...)
				b = append(b, `":`...)
				b = jsonstr.AppendString(b, v)
			}
		}
		num := func(name string, v int64) {
			b = append(b, `,"`...)
			b = append(b, name...)
			b = append(b, `":`...)
			b = strconv.AppendInt(b, v, 10)
		}
		str("surface", r.Surface)
		str("operation", r.Operation)
		str("team", r.TeamID)
		str("service", r.ServiceID)
		str("key_id", r.KeyID)
		str("end_user", r.EndUser)
		str("model", r.RequestedModel)
		str("served_model", r.Model)
		str("provider", r.Provider)
		num("attempts", int64(r.Attempts))
		num("input_tokens", r.InputTokens)
		num("output_tokens", r.OutputTokens)
		if r.CachedInputTokens != 0 {
			num("cached_input_tokens", r.CachedInputTokens)
		}
		b = append(b, `,"cost_usd":`...)
		b = strconv.AppendFloat(b, float64(r.CostNanos)/1e9, 'f', -1, 64)
		if r.TTFT > 0 {
			b = append(b, `,"ttft_ms":`...)
			b = appendMillis(b, r.TTFT)
		}
		str("cache", r.CacheStatus)
		if len(r.Guardrails) > 0 {
			b = append(b, `,"guardrails":[`...)
			for i := range r.Guardrails {
				if i > 0 {
					b = append(b, ',')
				}
				v := &r.Guardrails[i]
				b = jsonstr.AppendString(b, v.Policy+"/"+v.Guardrail+":"+v.Stage+":"+v.Action)
			}
			b = append(b, ']')
		}
		str("error", r.ErrorCode)
		if r.Partial {
			b = append(b, `,"partial":true`...)
		}
	}
	return append(b, "}\n"...)
}

// attrs returns the fields of appendAccessLine's line (after time, level
// and msg) as slog attributes, in the same order and with the same names
// and units, for a server embedded with its caller's logger.
func (e *accessEntry) attrs() []slog.Attr {
	a := make([]slog.Attr, 0, 28)
	str := func(name, v string) {
		if v != "" {
			a = append(a, slog.String(name, v))
		}
	}
	millis := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	a = append(a, slog.String("request_id", e.id))
	str("trace_id", e.traceID)
	a = append(a, slog.String("method", e.method), slog.String("path", e.path), slog.Int("status", e.status))
	str("rpc_code", e.rpcCode)
	a = append(a, slog.Float64("latency_ms", millis(e.d)))
	str("proto", e.proto)
	r := e.rec
	if r == nil {
		return a
	}
	str("surface", r.Surface)
	str("operation", r.Operation)
	str("team", r.TeamID)
	str("service", r.ServiceID)
	str("key_id", r.KeyID)
	str("end_user", r.EndUser)
	str("model", r.RequestedModel)
	str("served_model", r.Model)
	str("provider", r.Provider)
	a = append(a, slog.Int("attempts", r.Attempts), slog.Int64("input_tokens", r.InputTokens), slog.Int64("output_tokens", r.OutputTokens))
	if r.CachedInputTokens != 0 {
		a = append(a, slog.Int64("cached_input_tokens", r.CachedInputTokens))
	}
	a = append(a, slog.Float64("cost_usd", float64(r.CostNanos)/1e9))
	if r.TTFT > 0 {
		a = append(a, slog.Float64("ttft_ms", millis(r.TTFT)))
	}
	str("cache", r.CacheStatus)
	if len(r.Guardrails) > 0 {
		g := make([]string, len(r.Guardrails))
		for i := range r.Guardrails {
			v := &r.Guardrails[i]
			g[i] = v.Policy + "/" + v.Guardrail + ":" + v.Stage + ":" + v.Action
		}
		a = append(a, slog.Any("guardrails", g))
	}
	str("error", r.ErrorCode)
	if r.Partial {
		a = append(a, slog.Bool("partial", true))
	}
	return a
}

// appendMillis appends d in milliseconds with microsecond precision.
func appendMillis(b []byte, d time.Duration) []byte {
	return strconv.AppendFloat(b, float64(d.Microseconds())/1000, 'f', -1, 64)
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
