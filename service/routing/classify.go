package routing

import (
	"context"
	"errors"
	"time"

	"github.com/tollgate-dev/tollgate/providers"
)

// Class is what an attempt's outcome means for routing.
type Class uint8

// The classes.
const (
	// ClassOK is a success.
	ClassOK Class = iota
	// ClassRetryable is a failure another attempt may cure: 429, 5xx,
	// timeouts, connection errors.
	ClassRetryable
	// ClassContextLength is a prompt too large for the target; only a
	// target with a larger context window may help.
	ClassContextLength
	// ClassFatal is a failure caused by the request (other 4xx) or an
	// unclassified one: it is returned as is.
	ClassFatal
	// ClassCanceled is the caller giving up (cancellation or its deadline).
	ClassCanceled
)

var classNames = [...]string{"ok", "retryable", "context_length", "fatal", "canceled"}

// String returns the class's snake_case name, used as a metric label.
func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return "unknown"
}

// Classify sorts an attempt's error.
func Classify(err error) Class {
	if err == nil {
		return ClassOK
	}
	var pe *providers.Error
	if errors.As(err, &pe) {
		switch {
		case pe.Kind == providers.KindContextLength:
			return ClassContextLength
		case pe.Retryable():
			return ClassRetryable
		}
		return ClassFatal
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return ClassCanceled
	}
	return ClassFatal
}

// Backoff returns how long to wait before retry number n (1 for the first
// retry) of a target that failed with err: exponential from base, capped
// at ceiling, with full jitter drawn from rnd. An upstream's RetryAfter
// hint is honoured up to ceiling.
func Backoff(n int, base, ceiling time.Duration, err error, rnd uint64) time.Duration {
	if n < 1 || base <= 0 {
		return 0
	}
	d := ceiling
	if shift := n - 1; shift < 32 && base<<shift < ceiling && base<<shift > 0 {
		d = base << shift
	}
	wait := time.Duration(rnd % uint64(d+1))
	var pe *providers.Error
	if errors.As(err, &pe) && pe.RetryAfter > 0 {
		wait = max(wait, min(pe.RetryAfter, ceiling))
	}
	return wait
}
