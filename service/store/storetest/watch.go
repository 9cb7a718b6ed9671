package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/service/store"
)

// Delays the Watch tests allow.
const (
	// resyncWait bounds the wait for the first Resync, which includes
	// connecting.
	resyncWait = 10 * time.Second
	// changeWait bounds the wait for the change of a committed write.
	changeWait = time.Second
)

// Watcher runs Store.Watch in the background and collects its changes.
// Implementations' own tests use it too.
type Watcher struct {
	changes chan store.Change
	done    chan error
	cancel  context.CancelFunc
}

// StartWatch starts s.Watch until Stop or the end of the test.
func StartWatch(t *testing.T, s store.Store) *Watcher {
	t.Helper()
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	w := &Watcher{changes: make(chan store.Change, 1024), done: make(chan error, 1), cancel: cancel}
	go func() {
		w.done <- s.Watch(ctx, func(c store.Change) {
			select {
			case w.changes <- c:
			case <-ctx.Done():
			}
		})
	}()
	t.Cleanup(func() { w.Stop(t) })
	return w
}

// Next returns the next change, failing t after d.
func (w *Watcher) Next(t *testing.T, d time.Duration) store.Change {
	t.Helper()
	select {
	case c := <-w.changes:
		return c
	case err := <-w.done:
		w.done <- err
		t.Fatalf("Watch returned early: %v", err)
	case <-time.After(d):
		t.Fatalf("no change within %v", d)
	}
	return store.Change{}
}

// ExpectResync fails t unless the next change is a Resync, within d.
func (w *Watcher) ExpectResync(t *testing.T, d time.Duration) {
	t.Helper()
	if c := w.Next(t, d); c.Kind != store.ChangeResync {
		t.Fatalf("change = %+v, want a Resync", c)
	}
}

// Expect skips changes until want arrives, failing t if it does not within d.
func (w *Watcher) Expect(t *testing.T, want store.Change, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	var seen []store.Change
	for {
		left := time.Until(deadline)
		select {
		case c := <-w.changes:
			if c == want {
				return
			}
			seen = append(seen, c)
			continue
		case err := <-w.done:
			w.done <- err
			t.Fatalf("waiting for %+v: Watch returned early: %v (seen %+v)", want, err, seen)
		case <-time.After(left):
		}
		t.Fatalf("no %+v within %v (seen %+v)", want, d, seen)
	}
}

// Stop cancels Watch and checks that it returns the context's error.
// Calling it more than once is harmless.
func (w *Watcher) Stop(t *testing.T) {
	t.Helper()
	if w.cancel == nil {
		return
	}
	w.cancel()
	w.cancel = nil
	select {
	case err := <-w.done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Watch returned %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("Watch did not return within 10s of cancellation")
	}
}

func watchTests(c config) []test {
	replica := func(t *testing.T, s store.Store) store.Store {
		if c.replica != nil {
			return c.replica(t, s)
		}
		return s
	}
	return []test{
		{"ResyncThenKeyChanges", func(t *testing.T, s store.Store) {
			mustCreateTeam(t, s, "t1")
			w := StartWatch(t, s)
			w.ExpectResync(t, resyncWait)
			r := replica(t, s)
			mustCreateKey(t, r, newKey("k1", "t1"))
			w.Expect(t, store.Change{Kind: store.ChangeKey, ID: "k1"}, changeWait)
			if _, err := r.RevokeKey(t.Context(), "k1", now()); err != nil {
				t.Fatalf("RevokeKey: %v", err)
			}
			w.Expect(t, store.Change{Kind: store.ChangeKey, ID: "k1"}, changeWait)
			w.Stop(t)
		}},
		{"EveryKind", func(t *testing.T, s store.Store) {
			w := StartWatch(t, s)
			w.ExpectResync(t, resyncWait)
			r := replica(t, s)
			ctx := t.Context()
			steps := []struct {
				name string
				do   func() error
				want store.Change
			}{
				{"CreateProvider", func() error { return r.CreateProvider(ctx, &store.Provider{ID: "p1", Type: "openai"}) },
					store.Change{Kind: store.ChangeProvider, ID: "p1"}},
				{"UpdateProvider", func() error {
					return r.UpdateProvider(ctx, &store.Provider{ID: "p1", BaseURL: "https://x.example.test"})
				}, store.Change{Kind: store.ChangeProvider, ID: "p1"}},
				{"CreateModel", func() error { return r.CreateModel(ctx, &store.Model{Name: "m1", ProviderID: "p1"}) },
					store.Change{Kind: store.ChangeModel, ID: "m1"}},
				{"UpdateModel", func() error {
					return r.UpdateModel(ctx, &store.Model{Name: "m1", ProviderID: "p1", ContextWindow: 8})
				}, store.Change{Kind: store.ChangeModel, ID: "m1"}},
				{"DeleteModel", func() error { return r.DeleteModel(ctx, "m1", 0) },
					store.Change{Kind: store.ChangeModel, ID: "m1"}},
				{"DeleteProvider", func() error { return r.DeleteProvider(ctx, "p1", 0) },
					store.Change{Kind: store.ChangeProvider, ID: "p1"}},
				{"CreateTeam", func() error { return r.CreateTeam(ctx, &store.Team{ID: "t1"}) },
					store.Change{Kind: store.ChangeTeam, ID: "t1"}},
				{"CreateKey", func() error { return r.CreateKey(ctx, newKey("k1", "t1")) },
					store.Change{Kind: store.ChangeKey, ID: "k1"}},
				{"RotateKey", func() error {
					at := now()
					_, err := r.RotateKey(ctx, "k1", hash("sk-rotated"), "sk-rot", at, at.Add(time.Hour))
					return err
				}, store.Change{Kind: store.ChangeKey, ID: "k1"}},
				{"RevokeKey", func() error { _, err := r.RevokeKey(ctx, "k1", now()); return err },
					store.Change{Kind: store.ChangeKey, ID: "k1"}},
				{"DeleteTeam", func() error { return r.DeleteTeam(ctx, "t1", 0) },
					store.Change{Kind: store.ChangeTeam, ID: "t1"}},
			}
			for _, st := range steps {
				if err := st.do(); err != nil {
					t.Fatalf("%s: %v", st.name, err)
				}
				w.Expect(t, st.want, changeWait)
			}
		}},
		{"ReturnsContextError", func(t *testing.T, s store.Store) {
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			done := make(chan error, 1)
			go func() { done <- s.Watch(ctx, func(store.Change) {}) }()
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) {
					t.Errorf("Watch(canceled ctx) = %v, want context.Canceled", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Watch(canceled ctx) did not return")
			}
		}},
	}
}
