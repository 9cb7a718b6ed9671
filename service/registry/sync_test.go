package registry_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/keys"
	"github.com/tollgate-dev/tollgate/service/registry"
	"github.com/tollgate-dev/tollgate/service/store"
)

// fakeSource is an in-memory registry.Source with a confirming watch
// driven by the test, and a switch that makes every read fail.
type fakeSource struct {
	mu      sync.Mutex
	keyList map[string]store.Key
	down    bool
	reads   int

	changes chan store.Change
	beats   chan time.Time
}

var errDown = errors.New("store unavailable")

func newFakeSource() *fakeSource {
	return &fakeSource{keyList: map[string]store.Key{}, changes: make(chan store.Change), beats: make(chan time.Time)}
}

func (f *fakeSource) fail() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	if f.down {
		return errDown
	}
	return nil
}

func (f *fakeSource) setDown(v bool) { f.mu.Lock(); f.down = v; f.mu.Unlock() }

func (f *fakeSource) put(k store.Key) { f.mu.Lock(); f.keyList[k.ID] = k; f.mu.Unlock() }

func (f *fakeSource) ListProviders(context.Context) ([]store.Provider, error) { return nil, f.fail() }
func (f *fakeSource) GetProvider(context.Context, string) (*store.Provider, error) {
	return nil, store.ErrNotFound
}
func (f *fakeSource) ListModels(context.Context) ([]store.Model, error) { return nil, f.fail() }
func (f *fakeSource) GetModel(context.Context, string) (*store.Model, error) {
	return nil, store.ErrNotFound
}
func (f *fakeSource) ListTeams(context.Context) ([]store.Team, error) { return nil, f.fail() }
func (f *fakeSource) GetTeam(context.Context, string) (*store.Team, error) {
	return nil, store.ErrNotFound
}
func (f *fakeSource) ListRoutes(context.Context) ([]store.Route, error) { return nil, f.fail() }
func (f *fakeSource) GetRoute(context.Context, string) (*store.Route, error) {
	return nil, store.ErrNotFound
}

func (f *fakeSource) AllKeys(context.Context) ([]store.Key, error) {
	if err := f.fail(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []store.Key
	for _, k := range f.keyList {
		out = append(out, k)
	}
	return out, nil
}

func (f *fakeSource) GetKey(_ context.Context, id string) (*store.Key, error) {
	if err := f.fail(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	k, ok := f.keyList[id]
	if !ok {
		return nil, store.ErrNotFound
	}
	return &k, nil
}

func (f *fakeSource) Watch(ctx context.Context, fn func(store.Change)) error {
	return f.WatchConfirmed(ctx, fn, func(time.Time) {})
}

// WatchConfirmed implements registry.ConfirmingSource: Resync first, then
// what the test sends.
func (f *fakeSource) WatchConfirmed(ctx context.Context, fn func(store.Change), confirmed func(time.Time)) error {
	fn(store.Change{Kind: store.ChangeResync})
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case c := <-f.changes:
			fn(c)
		case t := <-f.beats:
			confirmed(t)
		}
	}
}

var _ registry.ConfirmingSource = (*fakeSource)(nil)

func noBuild(providers.Config) (providers.Provider, error) {
	return nil, errors.New("no providers here")
}

// TestFailedApplyIsRetried: a change notification whose read fails is
// not lost: the registry reloads, with backoff, until the store answers.
func TestFailedApplyIsRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := newFakeSource()
		sec, _ := keys.Generate()
		src.put(store.Key{ID: "k1", TeamID: "t", SecretHash: sec.Hash[:]})
		r := registry.New(src, nil, noBuild, nil, registry.WithStalenessBound(3*time.Second))
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go func() { _ = r.Run(ctx) }()
		synctest.Wait()
		if m, ok := r.LookupSecret(sec.Plain); !ok || !m.Key.RevokedAt.IsZero() {
			t.Fatal("key not loaded")
		}

		// Revoke while the store is down: the notification's read fails.
		src.put(store.Key{ID: "k1", TeamID: "t", SecretHash: sec.Hash[:], RevokedAt: time.Now()})
		src.setDown(true)
		src.changes <- store.Change{Kind: store.ChangeKey, ID: "k1"}
		synctest.Wait()
		src.beats <- time.Now() // a heartbeat does not confirm a view with a failed change
		if r.ReloadFailures() == 0 {
			t.Fatal("the failure was not recorded")
		}
		time.Sleep(2 * time.Second) // fake time (synctest bubble): advances the clock, not synchronisation
		synctest.Wait()
		if m, _ := r.LookupSecret(sec.Plain); !m.Key.RevokedAt.IsZero() {
			t.Fatal("revoked while the store was down?")
		}
		// The store comes back: the next retry applies the revocation
		// within the backoff cap.
		src.setDown(false)
		time.Sleep(5 * time.Second) // fake time (synctest bubble): advances the clock, not synchronisation
		synctest.Wait()
		if m, _ := r.LookupSecret(sec.Plain); m.Key.RevokedAt.IsZero() {
			t.Fatal("the revocation was never applied")
		}
		src.beats <- time.Now() // the repaired view is confirmed again
		synctest.Wait()
		if r.Stale() {
			t.Fatal("stale after a successful reload and a heartbeat")
		}
	})
}

// TestStaleViewRevalidates: without confirmations the view goes stale
// after the bound; a key is then re-read before use, and refused
// (ErrStale) when the store does not answer.
func TestStaleViewRevalidates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := newFakeSource()
		sec, _ := keys.Generate()
		src.put(store.Key{ID: "k1", TeamID: "t", SecretHash: sec.Hash[:]})
		r := registry.New(src, nil, noBuild, nil, registry.WithStalenessBound(3*time.Second), registry.WithReconcileInterval(time.Hour))
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go func() { _ = r.Run(ctx) }()
		synctest.Wait()

		// Heartbeats keep the view fresh: no re-read.
		for range 5 {
			time.Sleep(time.Second) // fake time (synctest bubble): advances the clock, not synchronisation
			src.beats <- time.Now()
		}
		if r.Stale() {
			t.Fatal("stale despite heartbeats")
		}
		if changed, err := r.Revalidate(ctx, "k1"); changed || err != nil {
			t.Fatalf("Revalidate on a fresh view = %v, %v", changed, err)
		}

		// No heartbeat for longer than the bound: stale.
		time.Sleep(4 * time.Second) // fake time (synctest bubble): advances the clock, not synchronisation
		if !r.Stale() {
			t.Fatal("not stale after the bound")
		}
		// The key was revoked meanwhile, and the notification lost: the
		// re-read finds it.
		src.put(store.Key{ID: "k1", TeamID: "t", SecretHash: sec.Hash[:], RevokedAt: time.Now()})
		if changed, err := r.Revalidate(ctx, "k1"); !changed || err != nil {
			t.Fatalf("Revalidate on a stale view = %v, %v", changed, err)
		}
		if m, _ := r.LookupSecret(sec.Plain); m.Key.RevokedAt.IsZero() {
			t.Fatal("the re-read did not update the key")
		}
		// A re-read counts for the bound.
		if changed, err := r.Revalidate(ctx, "k1"); changed || err != nil {
			t.Fatalf("second Revalidate within the bound = %v, %v", changed, err)
		}
		// The store does not answer: refused.
		time.Sleep(4 * time.Second) // fake time (synctest bubble): advances the clock, not synchronisation
		src.setDown(true)
		if _, err := r.Revalidate(ctx, "k1"); !errors.Is(err, registry.ErrStale) {
			t.Fatalf("Revalidate with the store down = %v, want ErrStale", err)
		}
		// A heartbeat brings the view back.
		src.beats <- time.Now()
		synctest.Wait()
		if r.Stale() {
			t.Fatal("stale after a heartbeat")
		}
	})
}

// TestReconcile: the full reload runs every reconcile interval, and
// confirms the view.
func TestReconcile(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := newFakeSource()
		r := registry.New(src, nil, noBuild, nil, registry.WithStalenessBound(time.Minute), registry.WithReconcileInterval(30*time.Second))
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go func() { _ = r.Run(ctx) }()
		synctest.Wait()
		before := r.ConfirmedAt()
		sec, _ := keys.Generate()
		src.put(store.Key{ID: "k2", TeamID: "t", SecretHash: sec.Hash[:]}) // no notification
		time.Sleep(31 * time.Second)                                       // fake time (synctest bubble): advances the clock, not synchronisation
		synctest.Wait()
		if _, ok := r.LookupSecret(sec.Plain); !ok {
			t.Fatal("the reconciliation did not pick up the missed key")
		}
		if !r.ConfirmedAt().After(before) {
			t.Fatal("the reconciliation did not confirm the view")
		}
	})
}
