package upstream

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/providers/internal/upstream/sse"
)

// drainBytes bounds what Release reads of a complete stream's body so the
// connection can be reused.
const drainBytes = 4 << 10

// StreamState is the close bookkeeping of a streamed response body: a
// stream marks itself done when it has read the upstream's end of stream,
// and Release closes the body once, draining a done stream's body so its
// connection can be reused. Closed and Release are safe to call
// concurrently with the goroutine reading the stream. The zero value is
// ready to use.
type StreamState struct {
	closed   atomic.Bool
	done     atomic.Bool
	once     sync.Once
	closeErr error
}

// SetDone records that the upstream's end of stream was read.
func (s *StreamState) SetDone() { s.done.Store(true) }

// Closed reports whether Release was called.
func (s *StreamState) Closed() bool { return s.closed.Load() }

// Release closes body the first time it is called and returns that
// result every time. After SetDone the rest of the body is drained first.
func (s *StreamState) Release(body io.ReadCloser) error {
	s.once.Do(func() {
		s.closed.Store(true)
		if s.done.Load() {
			_, _ = io.Copy(io.Discard, io.LimitReader(body, drainBytes))
		}
		s.closeErr = body.Close()
	})
	return s.closeErr
}

// ReadError classifies a failure to read a stream's body that is neither
// the stream's own Close nor its end: the context's error as it is, a
// chunk timeout or other timeout as KindTimeout, an event over the
// reader's bounds as KindBadResponse, anything else as KindConnection. The transport
// error is wrapped after secret is removed from it.
func ReadError(provider, secret string, err error) error {
	switch {
	case errors.Is(err, context.Canceled):
		return context.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return context.DeadlineExceeded
	}
	var cte *ChunkTimeoutError
	switch {
	case errors.As(err, &cte):
		return &providers.Error{Provider: provider, Kind: providers.KindTimeout, Message: cte.Error(), Err: err}
	case errors.Is(err, sse.ErrLineTooLong), errors.Is(err, sse.ErrEventTooLarge):
		return &providers.Error{Provider: provider, Kind: providers.KindBadResponse, Message: "stream: " + err.Error(), Err: err}
	}
	kind := providers.KindConnection
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		kind = providers.KindTimeout
	}
	return &providers.Error{Provider: provider, Kind: kind, Message: "stream read failed", Err: RedactErr(secret, err)}
}
