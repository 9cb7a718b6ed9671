package sqlitestore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/service/store"
	"github.com/tollgate-dev/tollgate/service/store/sqlitestore"
	"github.com/tollgate-dev/tollgate/service/store/storetest"
)

// open opens a store on dir, closed when tb ends.
func open(tb testing.TB, dir string, opts ...sqlitestore.Option) *sqlitestore.Store {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := sqlitestore.Open(ctx, dir, opts...)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, t.TempDir()) })
}

func TestSecondProcessRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := open(t, dir)
	_, err := sqlitestore.Open(t.Context(), dir)
	if !errors.Is(err, sqlitestore.ErrLocked) {
		t.Fatalf("second Open = %v, want ErrLocked", err)
	}
	s.Close()
	again := open(t, dir)
	if err := again.Ping(t.Context()); err != nil {
		t.Fatalf("Ping after reopening: %v", err)
	}
}
