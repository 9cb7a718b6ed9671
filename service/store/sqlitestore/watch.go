package sqlitestore

import (
	"context"
	"sync"
	"time"

	"github.com/tollgate-dev/tollgate/service/store"
)

// subscriberBuffer is how many changes a watcher may fall behind before
// its changes are replaced by one Resync.
const subscriberBuffer = 1024

// hub delivers committed changes to the watchers of this process. The
// process holding the data directory's lock is its only writer, so its
// own commits are every change there is.
type hub struct {
	mu   sync.Mutex
	subs map[*subscriber]struct{}
}

// event is a change, or (with a non-zero confirm) a confirmation that
// every change committed before confirm was queued ahead of it.
type event struct {
	change  store.Change
	confirm time.Time
}

// subscriber is one Watch call's queue. When it is full, the changes that
// do not fit are dropped and lost is set: the watcher then gets a Resync.
type subscriber struct {
	ch   chan event
	kick chan struct{} // signalled when lost is set
	lost bool          // guarded by hub.mu
}

func (h *hub) subscribe() *subscriber {
	sub := &subscriber{ch: make(chan event, subscriberBuffer), kick: make(chan struct{}, 1)}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.subs == nil {
		h.subs = map[*subscriber]struct{}{}
	}
	h.subs[sub] = struct{}{}
	return sub
}

func (h *hub) unsubscribe(sub *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs, sub)
}

// publish queues cs for every watcher, never blocking the writer.
func (h *hub) publish(cs []store.Change) {
	if len(cs) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for sub := range h.subs {
		for _, c := range cs {
			h.send(sub, event{change: c})
		}
	}
}

// send queues e for sub, or marks sub as having lost events. h.mu is held.
func (h *hub) send(sub *subscriber, e event) {
	select {
	case sub.ch <- e:
	default:
		if !sub.lost {
			sub.lost = true
			select {
			case sub.kick <- struct{}{}:
			default:
			}
		}
	}
}

// confirm queues a confirmation of now for sub behind every change
// committed so far. A confirmation that does not fit is dropped: the
// Resync that follows confirms nothing, the next confirmation does.
func (s *Store) confirm(sub *subscriber) {
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	if sub.lost {
		return // a change before it was dropped: only the Resync repairs that
	}
	select {
	case sub.ch <- event{confirm: time.Now()}:
	default:
	}
}

// takeLost reports and clears sub's lost flag.
func (h *hub) takeLost(sub *subscriber) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	lost := sub.lost
	sub.lost = false
	return lost
}

// Watch calls fn for every change committed through this store until ctx
// is done; it then returns ctx.Err(). It first calls fn with
// ChangeResync; when fn falls more than 1,024 changes behind, the changes
// it missed are replaced by another ChangeResync. fn runs on Watch's
// goroutine. Only this process writes to its data directory (see Open),
// so no change escapes it.
//
// It is WatchConfirmed without the confirmations.
func (s *Store) Watch(ctx context.Context, fn func(store.Change)) error {
	return s.WatchConfirmed(ctx, fn, nil)
}

// WatchConfirmed is Watch that also calls confirmed(t), every heartbeat
// period (WithHeartbeat), once every change committed before t has been
// passed to fn: the watcher's view is complete as of t. A Resync drops
// the confirmations queued with the changes it replaces. fn and confirmed
// run on WatchConfirmed's goroutine; confirmed may be nil.
func (s *Store) WatchConfirmed(ctx context.Context, fn func(store.Change), confirmed func(time.Time)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sub := s.hub.subscribe()
	defer s.hub.unsubscribe(sub)
	var beat <-chan time.Time
	if confirmed != nil {
		t := time.NewTicker(s.heartbeat)
		defer t.Stop()
		beat = t.C
		// The first confirmation covers the Resync below.
		s.confirm(sub)
	}
	fn(store.Change{Kind: store.ChangeResync})
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-beat:
			s.confirm(sub)
		case <-sub.kick:
			if !s.hub.takeLost(sub) {
				continue
			}
			// Drop what is queued: the Resync covers it.
			for len(sub.ch) > 0 {
				<-sub.ch
			}
			fn(store.Change{Kind: store.ChangeResync})
		case e := <-sub.ch:
			if !e.confirm.IsZero() {
				if confirmed != nil {
					confirmed(e.confirm)
				}
				continue
			}
			fn(e.change)
		}
	}
}
