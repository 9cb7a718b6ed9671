package server

import (
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/tollgate-dev/tollgate/service/gateway"
)

// statusWriter records the response status for the access log and keeps
// http.Flusher working for streams.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush implements http.Flusher.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// withRequestContext gives every request an id (x-request-id response
// header and in the context), caps the body size, recovers panics and
// writes the access log.
func withRequestContext(next http.Handler, log *slog.Logger, cfg Config) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := gateway.NewRequestID()
		w.Header().Set("X-Request-Id", id)
		r = r.WithContext(gateway.WithRequestID(r.Context(), id))
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, cfg.MaxRequestBytes)
		}
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				log.Error("panic serving request", "request_id", id, "panic", p, "stack", string(debug.Stack()))
				if sw.status == 0 {
					http.Error(sw, "internal error; request id "+id, http.StatusInternalServerError)
				}
			}
			if cfg.LogRequests {
				log.LogAttrs(r.Context(), slog.LevelInfo, "request",
					slog.String("request_id", id), slog.String("method", r.Method), slog.String("path", r.URL.Path),
					slog.Int("status", sw.status), slog.Duration("duration", time.Since(start)),
					slog.String("proto", r.Proto))
			}
		}()
		next.ServeHTTP(sw, r)
	})
}
