package storetest

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/sync/errgroup"

	"github.com/tollgate-dev/tollgate/service/store"
)

func managedTests() []test {
	return []test{
		{"MarkListUnmark", func(t *testing.T, s store.Store) {
			m := s.(store.ManagedResources)
			ctx := context.Background()
			if got, err := m.ManagedBy(ctx, "team", "search"); err != nil || got != "" {
				t.Fatalf("ManagedBy before a mark = %q, %v; want \"\"", got, err)
			}
			for _, r := range [][2]string{{"team", "search"}, {"budget", "search-daily"}, {"team", "ads"}} {
				if err := m.MarkManaged(ctx, r[0], r[1], "config"); err != nil {
					t.Fatal(err)
				}
			}
			if err := m.MarkManaged(ctx, "team", "search", "config"); err != nil {
				t.Fatalf("marking twice: %v", err)
			}
			got, err := m.ListManaged(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, r := range got {
				names = append(names, r.Kind+"/"+r.Name+"="+r.Manager)
				if r.UpdatedAt.IsZero() {
					t.Errorf("%s/%s: no update time", r.Kind, r.Name)
				}
			}
			if want := "budget/search-daily=config team/ads=config team/search=config"; strings.Join(names, " ") != want {
				t.Fatalf("ListManaged = %s, want %s", strings.Join(names, " "), want)
			}
			if got, _ := m.ManagedBy(ctx, "team", "search"); got != "config" {
				t.Fatalf("ManagedBy = %q, want config", got)
			}
			if err := m.UnmarkManaged(ctx, "team", "search"); err != nil {
				t.Fatal(err)
			}
			if err := m.UnmarkManaged(ctx, "team", "never-marked"); err != nil {
				t.Fatalf("unmarking an unmarked resource: %v", err)
			}
			if got, _ := m.ManagedBy(ctx, "team", "search"); got != "" {
				t.Fatalf("ManagedBy after unmark = %q", got)
			}
		}},
		{"ConfigLockIsExclusive", func(t *testing.T, s store.Store) {
			m := s.(store.ManagedResources)
			var inside, most atomic.Int32
			var g errgroup.Group
			for range 4 {
				g.Go(func() error {
					return m.WithConfigLock(context.Background(), func(context.Context) error {
						n := inside.Add(1)
						for {
							old := most.Load()
							if n <= old || most.CompareAndSwap(old, n) {
								break
							}
						}
						// Give the others a chance to enter if the lock were not exclusive.
						for range 1000 {
							_ = inside.Load()
						}
						inside.Add(-1)
						return nil
					})
				})
			}
			if err := g.Wait(); err != nil {
				t.Fatal(err)
			}
			if most.Load() != 1 {
				t.Fatalf("%d holders at once, want 1", most.Load())
			}
		}},
	}
}
