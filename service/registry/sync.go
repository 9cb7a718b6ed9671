package registry

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/tollgate-dev/tollgate/service/store"
)

// Keeping the view fresh, and knowing how fresh it is.
//
// Run applies the store's change notifications as they come. A change
// that cannot be applied (the store briefly unavailable) is not dropped:
// the registry is marked unconfirmed and a full reload is retried with a
// backoff until it succeeds. A full reload also runs every reconcile
// interval, catching anything a notification could have missed.
//
// The registry knows when its view was last confirmed: when a full load
// that started at t succeeded, or when the store's watch (a source with
// WatchConfirmed) reported that every change committed before t was
// delivered, with no failed apply since. With a staleness bound, a key
// looked up while the view is older than the bound is re-read from the
// store before use (Revalidate); when the store does not answer, the key
// is refused with ErrStale instead of being trusted: a revocation can go
// unnoticed for at most the bound.

// DefaultReconcileInterval is the default period of Run's full reload.
const DefaultReconcileInterval = 30 * time.Second

// ErrStale means a key could not be confirmed valid: the registry's view is
// older than its staleness bound and the store did not answer.
var ErrStale = errors.New("registry: configuration not confirmed within the staleness bound")

// ConfirmingSource is a Source whose watch also reports confirmations:
// confirmed(t) once every change committed before t was passed to fn (see
// pgstore.Store.WatchConfirmed).
type ConfirmingSource interface {
	WatchConfirmed(ctx context.Context, fn func(store.Change), confirmed func(time.Time)) error
}

// Reload backoff.
const (
	reloadMinBackoff = 100 * time.Millisecond
	reloadMaxBackoff = 5 * time.Second
)

// storeTimeout bounds one read of a single entity.
const storeTimeout = 5 * time.Second

// loadTimeout bounds one full load.
const loadTimeout = 30 * time.Second

// revalidateTimeout bounds the re-read of a key while the view is stale.
const revalidateTimeout = time.Second

// Run keeps the registry in sync with the store until ctx is done: it
// applies change notifications, retries failed ones with a full reload,
// and reloads everything every reconcile interval.
func (r *Registry) Run(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.reloader(ctx)
	}()
	defer func() { <-done }()
	fn := func(c store.Change) {
		actx, cancel := context.WithTimeout(ctx, storeTimeout)
		defer cancel()
		if c.Kind == store.ChangeResync {
			actx, cancel = context.WithTimeout(ctx, loadTimeout)
			defer cancel()
		}
		if err := r.Apply(actx, c); err != nil && ctx.Err() == nil {
			r.failed(c, err)
		}
	}
	var err error
	if cs, ok := r.src.(ConfirmingSource); ok {
		err = cs.WatchConfirmed(ctx, fn, r.watchConfirmed)
	} else {
		err = r.src.Watch(ctx, fn)
	}
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// failed records a change that could not be applied and asks for a
// full reload.
func (r *Registry) failed(c store.Change, err error) {
	r.failGen.Add(1)
	r.failures.Add(1)
	r.log.Error("registry: applying change failed; reloading everything until it succeeds", "kind", c.Kind, "id", c.ID, "err", err)
	r.requestReload()
}

func (r *Registry) requestReload() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// reloader runs full loads: on request (after a failure) with a backoff
// until one succeeds, and every reconcile interval.
func (r *Registry) reloader(ctx context.Context) {
	t := time.NewTicker(r.reconcile)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.kick:
		case <-t.C:
		}
		backoff := reloadMinBackoff
		for {
			lctx, cancel := context.WithTimeout(ctx, loadTimeout)
			err := r.Load(lctx)
			cancel()
			if err == nil || ctx.Err() != nil {
				break
			}
			r.failGen.Add(1)
			r.failures.Add(1)
			wait := backoff/2 + rand.N(backoff/2+1)
			r.log.Warn("registry: reload failed; retrying", "retry_in", wait.Round(time.Millisecond), "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			backoff = min(2*backoff, reloadMaxBackoff)
		}
	}
}

// loadedFrom records a successful full load that started at start with
// failGen at gen: it repairs every failure before it and, when none
// happened since, confirms the view as of start.
func (r *Registry) loadedFrom(start time.Time, gen uint64) {
	for {
		old := r.repaired.Load()
		if gen <= old || r.repaired.CompareAndSwap(old, gen) {
			break
		}
	}
	if r.failGen.Load() == gen {
		r.confirm(start)
	}
}

// watchConfirmed is the watch's confirmation: every change committed
// before t was applied, unless one failed and is not repaired yet.
func (r *Registry) watchConfirmed(t time.Time) {
	if r.failGen.Load() > r.repaired.Load() {
		return
	}
	r.confirm(t)
}

func (r *Registry) confirm(t time.Time) {
	n := t.UnixNano()
	for {
		old := r.confirmed.Load()
		if n <= old || r.confirmed.CompareAndSwap(old, n) {
			return
		}
	}
}

// ConfirmedAt is when the registry's view was last confirmed complete.
func (r *Registry) ConfirmedAt() time.Time { return time.Unix(0, r.confirmed.Load()) }

// Stale reports whether the view is older than the staleness bound (never
// without one).
func (r *Registry) Stale() bool {
	return r.bound > 0 && r.now().Sub(r.ConfirmedAt()) > r.bound
}

// ReloadFailures counts failed applies and reloads.
func (r *Registry) ReloadFailures() int64 { return r.failures.Load() }

// Revalidate makes sure the key id is still what the store says when the
// view is stale: it re-reads the key (at most once per staleness bound,
// shared by concurrent callers) and updates the registry. It returns
// whether it changed the key and, when the store could not answer, an
// error wrapping ErrStale. With a fresh view it does nothing.
func (r *Registry) Revalidate(ctx context.Context, id string) (bool, error) {
	if !r.Stale() {
		return false, nil
	}
	now := r.now()
	if v, ok := r.validated.Load(id); ok && now.Sub(time.Unix(0, v.(int64))) <= r.bound {
		return false, nil
	}
	// The store just failed to answer a re-read: refuse at once rather
	// than make every request wait for it again.
	if f := r.revalFailed.Load(); f != 0 && now.Sub(time.Unix(0, f)) < revalidateTimeout {
		return false, fmt.Errorf("%w: the store did not answer a re-read %s ago", ErrStale, now.Sub(time.Unix(0, f)).Round(time.Millisecond))
	}
	ch := r.flight.DoChan(id, func() (any, error) {
		start := r.now()
		vctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), revalidateTimeout)
		defer cancel()
		k, err := r.src.GetKey(vctx, id)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			r.revalFailed.Store(r.now().UnixNano())
			return false, fmt.Errorf("%w: re-reading key %s: %w", ErrStale, id, err)
		}
		r.revalFailed.Store(0)
		r.update(func(s *snapshot) { s.setKey(id, k) })
		r.validated.Store(id, start.UnixNano())
		return true, nil
	})
	// The flight may wait for a full load holding the writers' lock:
	// bound the caller's wait on its own.
	t := time.NewTimer(revalidateTimeout)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false, ctx.Err()
	case <-t.C:
		r.revalFailed.Store(r.now().UnixNano())
		return false, fmt.Errorf("%w: re-reading key %s: no answer within %s", ErrStale, id, revalidateTimeout)
	case res := <-ch:
		if res.Err != nil {
			return false, res.Err
		}
		return res.Val.(bool), nil
	}
}
