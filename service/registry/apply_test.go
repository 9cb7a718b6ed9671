package registry_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/pgtest"
	"github.com/tollgate-dev/tollgate/providers/factory"
	"github.com/tollgate-dev/tollgate/service/keys"
	"github.com/tollgate-dev/tollgate/service/registry"
	"github.com/tollgate-dev/tollgate/service/store"
	"github.com/tollgate-dev/tollgate/service/store/pgstore"
)

// heldKeys is a store whose first GetKey reads the key, then waits for
// release before it returns what it read.
type heldKeys struct {
	*pgstore.Store
	calls   atomic.Int32
	inside  chan struct{}
	release chan struct{}
}

func (s *heldKeys) GetKey(ctx context.Context, id string) (*store.Key, error) {
	k, err := s.Store.GetKey(ctx, id)
	if s.calls.Add(1) == 1 {
		close(s.inside)
		<-s.release
	}
	return k, err
}

// TestApplyKeepsTheRevocation: an Apply that read a key before its
// revocation and is overtaken by the Apply of the revocation (the admin
// call's, while the notification of the key's creation is being applied)
// must not bring the key back. Before Apply held the writers' lock from
// its read to its update, it did, until the revocation's own notification
// arrived: a revoked key answered the next request.
func TestApplyKeepsTheRevocation(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st, err := pgstore.Open(ctx, pgtest.NewMigratedDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.CreateTeam(ctx, &store.Team{ID: "t1"}); err != nil {
		t.Fatal(err)
	}
	sec, _ := keys.Generate()
	if err := st.CreateKey(ctx, &store.Key{ID: "k1", TeamID: "t1", SecretHash: sec.Hash[:], SecretPrefix: sec.Display}); err != nil {
		t.Fatal(err)
	}
	held := &heldKeys{Store: st, inside: make(chan struct{}), release: make(chan struct{})}
	r := registry.New(held, sealer(t, 1), factory.New, nil)
	if err := r.Load(ctx); err != nil {
		t.Fatal(err)
	}
	change := store.Change{Kind: store.ChangeKey, ID: "k1"}
	first := make(chan error, 1)
	go func() { first <- r.Apply(context.Background(), change) }()
	<-held.inside // the first Apply read the key unrevoked
	if _, err := st.RevokeKey(ctx, "k1", time.Now()); err != nil {
		t.Fatal(err)
	}
	second := make(chan error, 1)
	go func() { second <- r.Apply(context.Background(), change) }()
	// Serialised, the second Apply waits for the first, and this select
	// times out; unserialised, it gets ahead (the order that brought the
	// key back). The wait cannot fail a correct Registry.
	select {
	case err := <-second:
		second <- err
	case <-time.After(100 * time.Millisecond):
	}
	close(held.release)
	for _, ch := range []chan error{first, second} {
		if err := <-ch; err != nil {
			t.Fatal(err)
		}
	}
	if m, ok := r.LookupSecret(sec.Plain); ok && m.Key.RevokedAt.IsZero() {
		t.Fatal("the key is unrevoked in the registry after both applies; want the revocation (the later read)")
	}
}
