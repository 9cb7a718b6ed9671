//go:build linux || darwin

package upstream

import (
	"errors"
	"syscall"
)

// peekIdle reports whether the idle socket fd is open with nothing to
// read, without blocking or consuming: a close reads 0 bytes without an
// error, and data the server sent unasked makes the connection unusable.
func peekIdle(fd uintptr) bool {
	var b [1]byte
	_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	return errors.Is(err, syscall.EAGAIN)
}
