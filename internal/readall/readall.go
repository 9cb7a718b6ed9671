// Package readall reads whole request and response bodies into one buffer
// sized from the length they declare.
//
// bytes.Buffer.ReadFrom and io.ReadAll cannot use a declared length: the
// first wants 512 free bytes before every read, so a buffer of exactly
// Content-Length+1 bytes is reallocated to about three times its size
// before the first byte arrives, and the second starts at 512 bytes and
// grows from there. On the request path that is a wasted allocation and
// copy per body.
package readall

import (
	"errors"
	"io"
)

// ErrTooLarge is returned by [Read] for a body over its limit.
var ErrTooLarge = errors.New("body too large")

const (
	// unknownSize is the first buffer's size when no length is declared.
	unknownSize = 4 << 10
	// maxPrealloc bounds the buffer allocated up front for a declared
	// length: a peer's claim is not a reason to allocate more before its
	// bytes arrive.
	maxPrealloc = 1 << 20
)

// Read reads r to its end and returns what it read. size is the length r
// declares (such as Content-Length; -1 or 0 when unknown): a body of that
// length is read into one allocation. With limit > 0 a body of more than
// limit bytes fails with ErrTooLarge, having read at most limit+1 bytes. A
// failed read returns what was read before it with the error.
func Read(r io.Reader, size, limit int64) ([]byte, error) {
	n := size
	if n <= 0 {
		n = unknownSize
	}
	if limit > 0 && n > limit {
		n = limit
	}
	n = min(n, maxPrealloc)
	// One byte more than declared: the read that reports the end then
	// needs no room of its own.
	b := make([]byte, 0, n+1)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // grow, as append does
		}
		room := b[len(b):cap(b)]
		if limit > 0 && int64(len(room)) > limit+1-int64(len(b)) {
			room = room[:limit+1-int64(len(b))]
		}
		m, err := r.Read(room)
		b = b[:len(b)+m]
		if limit > 0 && int64(len(b)) > limit {
			return nil, ErrTooLarge
		}
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}
