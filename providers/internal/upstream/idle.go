package upstream

import (
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// ChunkTimeoutError ends a stream whose upstream sent nothing for longer
// than the chunk timeout (see providers.WithChunkTimeout). It is a
// net.Error whose Timeout is true, so ReadError reports it as KindTimeout.
type ChunkTimeoutError struct {
	// After is the bound that was exceeded.
	After time.Duration
}

// Error implements error.
func (e *ChunkTimeoutError) Error() string {
	return "no data from the upstream for " + e.After.String() + " (chunk timeout)"
}

// Timeout implements net.Error.
func (e *ChunkTimeoutError) Timeout() bool { return true }

// Temporary implements net.Error.
func (e *ChunkTimeoutError) Temporary() bool { return true }

// idleBody closes a response body when a read waits longer than d once
// the first bytes arrived (the wait for those is the caller's timeout).
// Reads are made by one goroutine; the timer closes the body from its own,
// which aborts the pending read.
type idleBody struct {
	rc      io.ReadCloser
	d       time.Duration
	started bool
	timer   *time.Timer
	fired   atomic.Bool
	once    sync.Once
}

func newIdleBody(rc io.ReadCloser, d time.Duration) *idleBody {
	return &idleBody{rc: rc, d: d}
}

// Read implements io.Reader.
func (b *idleBody) Read(p []byte) (int, error) {
	if b.started {
		b.timer.Reset(b.d)
	}
	n, err := b.rc.Read(p)
	if b.started {
		b.timer.Stop()
	} else if n > 0 {
		b.started = true
		b.timer = time.AfterFunc(b.d, b.expire)
		b.timer.Stop()
	}
	if err != nil && b.fired.Load() {
		err = &ChunkTimeoutError{After: b.d}
	}
	return n, err
}

func (b *idleBody) expire() {
	b.fired.Store(true)
	_ = b.Close()
}

// Close implements io.Closer.
func (b *idleBody) Close() error {
	var err error
	b.once.Do(func() { err = b.rc.Close() })
	return err
}

// String describes the bound, for debugging.
func (b *idleBody) String() string {
	return "idle body (" + strconv.FormatInt(b.d.Milliseconds(), 10) + "ms)"
}
