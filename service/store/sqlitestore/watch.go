package sqlitestore

import (
	"context"
	"sync"

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

// subscriber is one Watch call's queue. When it is full, the changes that
// do not fit are dropped and lost is set: the watcher then gets a Resync.
type subscriber struct {
	ch   chan store.Change
	kick chan struct{} // signalled when lost is set
	lost bool          // guarded by hub.mu
}

func (h *hub) subscribe() *subscriber {
	sub := &subscriber{ch: make(chan store.Change, subscriberBuffer), kick: make(chan struct{}, 1)}
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
			select {
			case sub.ch <- c:
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
func (s *Store) Watch(ctx context.Context, fn func(store.Change)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sub := s.hub.subscribe()
	defer s.hub.unsubscribe(sub)
	fn(store.Change{Kind: store.ChangeResync})
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-sub.kick:
			if !s.hub.takeLost(sub) {
				continue
			}
			// Drop what is queued: the Resync covers it.
			for len(sub.ch) > 0 {
				<-sub.ch
			}
			fn(store.Change{Kind: store.ChangeResync})
		case c := <-sub.ch:
			fn(c)
		}
	}
}
