package gateway

import (
	"context"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/store"
)

// WithRequestID returns a context carrying the request id. The adapters
// forward it to the upstream as X-Request-Id (providers.RequestID).
func WithRequestID(ctx context.Context, id string) context.Context {
	return providers.WithRequestID(ctx, id)
}

// RequestIDFrom returns the request id set by WithRequestID, or a new one.
func RequestIDFrom(ctx context.Context) string {
	if id := providers.RequestID(ctx); id != "" {
		return id
	}
	return NewRequestID()
}

// ValidRequestID reports whether a caller-supplied request id (the
// X-Request-Id header) may be kept as the gateway's id: 1 to 128 bytes of
// letters, digits and "-_.:/+=". Anything else is replaced by a new id, so
// that an id never carries what a log line or a header cannot hold.
func ValidRequestID(id string) bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-', c == '_', c == '.', c == ':', c == '/', c == '+', c == '=':
		default:
			return false
		}
	}
	return true
}

type noteKey struct{}

// Note collects what the gateway learned about one request for its log
// line: the request record once the engine finished it, and for RPC the
// Connect code. The server puts one in the request's context (WithNote);
// it is written by the goroutine serving the request and read after the
// handler returned.
type Note struct {
	// RPCCode is the Connect/gRPC code name of a failed RPC ("" on
	// success or for other surfaces).
	RPCCode string
	rec     recordCopy
}

// recordCopy is the finished record, copied so the note owns it.
type recordCopy struct {
	set bool
	r   store.Record
}

// Record returns the finished request record, false when the engine did
// not record the request (not an inference call, or refused before the
// engine saw it).
func (n *Note) Record() (*store.Record, bool) {
	if n == nil || !n.rec.set {
		return nil, false
	}
	return &n.rec.r, true
}

// WithNote returns a context carrying n.
func WithNote(ctx context.Context, n *Note) context.Context {
	return context.WithValue(ctx, noteKey{}, n)
}

// NoteFrom returns the request's Note, nil when there is none.
func NoteFrom(ctx context.Context) *Note {
	n, _ := ctx.Value(noteKey{}).(*Note)
	return n
}
