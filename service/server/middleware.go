package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"

	"github.com/tollgate-dev/tollgate/service/gateway"
)

// statusWriter records the response status for the access log, ends the
// request body's read deadline at the first byte of the answer, and keeps
// http.Flusher working for streams.
type statusWriter struct {
	http.ResponseWriter
	status int
	body   *requestBody // nil without a body
}

func (w *statusWriter) started() {
	if w.body != nil {
		w.body.answered()
	}
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
		w.started()
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
		w.started()
	}
	return w.ResponseWriter.Write(b)
}

// Flush implements http.Flusher.
func (w *statusWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
		w.started()
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// withRequestContext caps the body's size and the time to read it,
// recovers panics and writes the access log. The request id is set by
// front.
func (s *Server) withRequestContext(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		// One allocation for the writer and the body wrapper.
		st := &requestState{statusWriter: statusWriter{ResponseWriter: w}}
		sw := &st.statusWriter
		if r.Body != nil && r.Body != http.NoBody {
			st.body.init(w, r, s.cfg.MaxRequestBytes, s.cfg.BodyTimeout)
			sw.body = &st.body
			r.Body = sw.body
		}
		r = r.WithContext(gateway.WithNote(r.Context(), &st.note))
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.Error("panic serving request", "request_id", gateway.RequestIDFrom(r.Context()), "panic", p, "stack", string(debug.Stack()))
				if sw.status == 0 {
					http.Error(sw, "internal error; request id "+gateway.RequestIDFrom(r.Context()), http.StatusInternalServerError)
				}
			}
			s.access.record(r, sw.status, time.Since(start), &st.note)
			traceStatus(r.Context(), sw.status)
		}()
		next.ServeHTTP(sw, r)
	})
}

// requestBody bounds a request body: at most max bytes (http.MaxBytesReader)
// and read within timeout of the start of the request. The read deadline
// is lifted once the body is read to its end or the answer starts, so a
// stream's connection lives as long as the stream.
//
// Its errors are what the handlers map to the caller's dialect: a
// *http.MaxBytesError (413) and gateway.ErrRequestTimeout (408); for
// RPC requests, whose body connect-go reads, Connect errors carrying
// the same sentinels (InvalidArgument and DeadlineExceeded), so that a
// too large message is not reported as resource_exhausted, which
// clients retry.
type requestBody struct {
	rc      io.ReadCloser
	ctl     readDeadliner
	timeout time.Duration
	rpc     bool
	// lifted is set once the read deadline is gone.
	lifted atomic.Bool
}

// readDeadliner is the part of http.ResponseController's view of a
// response writer the body needs; net/http's HTTP/1 and HTTP/2 writers
// implement it directly, which spares a ResponseController per request.
type readDeadliner interface {
	SetReadDeadline(time.Time) error
}

// requestState is what the middleware keeps per request, allocated once.
type requestState struct {
	statusWriter
	body requestBody
	note gateway.Note
}

func (b *requestBody) init(w http.ResponseWriter, r *http.Request, limit int64, timeout time.Duration) {
	b.rc, b.timeout, b.rpc = http.MaxBytesReader(w, r.Body, limit), timeout, strings.HasPrefix(r.URL.Path, "/tollgate.v1.")
	if timeout <= 0 {
		b.lifted.Store(true)
		return
	}
	if d, ok := w.(readDeadliner); ok {
		b.ctl = d
	} else {
		b.ctl = http.NewResponseController(w)
	}
	if b.ctl.SetReadDeadline(time.Now().Add(timeout)) != nil {
		b.lifted.Store(true) // the connection does not support deadlines
	}
}

// answered lifts the read deadline.
func (b *requestBody) answered() {
	if !b.lifted.Swap(true) {
		_ = b.ctl.SetReadDeadline(time.Time{})
	}
}

// Read implements io.Reader.
func (b *requestBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	switch {
	case err == nil:
	case err == io.EOF:
		b.answered()
	case errors.Is(err, os.ErrDeadlineExceeded):
		// Keep the deadline: net/http then gives up on the rest of the
		// body and closes the connection instead of waiting for it.
		b.lifted.Store(true)
		err = fmt.Errorf("%w: the request body was not received within %s", gateway.ErrRequestTimeout, b.timeout)
		if b.rpc {
			err = connect.NewError(connect.CodeDeadlineExceeded, err)
		}
	default:
		var mbe *http.MaxBytesError
		if b.rpc && errors.As(err, &mbe) {
			err = connect.NewError(connect.CodeInvalidArgument,
				fmt.Errorf("%w: the request body exceeds the gateway's limit of %d bytes", gateway.ErrTooLarge, mbe.Limit))
		}
	}
	return n, err
}

// Close implements io.Closer.
func (b *requestBody) Close() error { return b.rc.Close() }

// accessLog writes one line per request (Config.LogRequests): formatted
// directly into a buffered asynchronous writer when one is set
// (WithAccessLog), else through the main logger. Successful requests are
// sampled (Config.LogSampleSuccess); errors are always written.
type accessLog struct {
	async  *asyncWriter // the buffered writer; nil: lines go through log
	log    *slog.Logger // the main logger; nil with async or when off
	sample float64
}

func newAccessLog(w AccessLogWriter, log *slog.Logger, cfg Config) *accessLog {
	a := &accessLog{sample: cfg.LogSampleSuccess}
	switch {
	case !cfg.LogRequests:
	case w != nil:
		// The access log is at info level, like the main logger's
		// lines: off when the log level is warn or error.
		var level slog.Level
		_ = level.UnmarshalText([]byte(cfg.LogLevel))
		if level <= slog.LevelInfo {
			a.async = newAsyncWriter(w, accessLogBuffer)
		}
	default:
		a.log = log
	}
	return a
}

// record writes the line of a finished request.
func (a *accessLog) record(r *http.Request, status int, d time.Duration, note *gateway.Note) {
	if a.log == nil && a.async == nil {
		return
	}
	e := accessEntry{status: status, d: d, method: r.Method, path: r.URL.Path}
	if note != nil {
		e.rpcCode = note.RPCCode
		e.rec, _ = note.Record()
	}
	if !e.failed() && !sampled(a.sample) {
		return
	}
	e.id = gateway.RequestIDFrom(r.Context())
	e.traceID = traceID(r.Context())
	if r.ProtoMajor != 1 {
		e.proto = r.Proto // only HTTP/2 requests say which
	}
	if a.async != nil {
		e.t = time.Now()
		a.async.appendLine(func(b []byte) []byte { return appendAccessLine(b, &e) })
		return
	}
	// Through the main logger: the same fields, as slog attributes.
	a.log.LogAttrs(r.Context(), slog.LevelInfo, "request", e.attrs()...)
}

// run flushes the asynchronous writer in the background until ctx is done.
func (a *accessLog) run(ctx context.Context) {
	if a.async != nil {
		a.async.run(ctx.Done())
	}
}

// flush writes what is buffered.
func (a *accessLog) flush() {
	if a.async != nil {
		a.async.flush()
	}
}

// dropped counts lines dropped because the buffer was full.
func (a *accessLog) dropped() int64 {
	if a.async == nil {
		return 0
	}
	return a.async.dropped.Load()
}
