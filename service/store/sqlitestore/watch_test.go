package sqlitestore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/service/store"
	"github.com/tollgate-dev/tollgate/service/store/sqlitestore"
)

// TestWatchConfirmed checks that a confirmation at t comes only after
// every change committed before t was passed to fn.
func TestWatchConfirmed(t *testing.T) {
	t.Parallel()
	s := open(t, t.TempDir(), sqlitestore.WithHeartbeat(2*time.Millisecond))
	var mu sync.Mutex
	seen := map[string]bool{}
	confirms := make(chan time.Time, 64)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- s.WatchConfirmed(ctx, func(c store.Change) {
			mu.Lock()
			defer mu.Unlock()
			if c.Kind == store.ChangeTeam {
				seen[c.ID] = true
			}
		}, func(at time.Time) {
			select {
			case confirms <- at:
			default: // the test reads only the newest ones it needs
			}
		})
	}()
	defer func() {
		cancel()
		if err := <-done; err != context.Canceled {
			t.Errorf("WatchConfirmed = %v, want context.Canceled", err)
		}
	}()
	<-confirms // subscribed, the initial Resync passed
	for i := range 20 {
		id := fmt.Sprintf("team-%d", i)
		if err := s.CreateTeam(ctx, &store.Team{ID: id}); err != nil {
			t.Fatalf("CreateTeam: %v", err)
		}
		committed := time.Now()
		for at := range confirms {
			if !at.Before(committed) {
				break
			}
		}
		mu.Lock()
		ok := seen[id]
		mu.Unlock()
		if !ok {
			t.Fatalf("confirmed after %s was committed, but its change was not delivered", id)
		}
	}
}

// TestSealAlertWebhookURL seals a plain-text URL once and leaves sealed
// and missing webhooks alone.
func TestSealAlertWebhookURL(t *testing.T) {
	t.Parallel()
	s := open(t, t.TempDir())
	ctx := t.Context()
	if err := s.CreateAlertWebhook(ctx, &store.AlertWebhook{ID: "plain", URL: "https://hooks.example/x", Kinds: []string{"budget"}}); err != nil {
		t.Fatalf("CreateAlertWebhook: %v", err)
	}
	for _, tc := range []struct {
		id   string
		want bool
	}{{"plain", true}, {"plain", false}, {"missing", false}} {
		got, err := s.SealAlertWebhookURL(ctx, tc.id, []byte("sealed"), "hooks.example")
		if err != nil || got != tc.want {
			t.Fatalf("SealAlertWebhookURL(%s) = %v, %v; want %v", tc.id, got, err, tc.want)
		}
	}
	ws, err := s.ListAlertWebhooks(ctx)
	if err != nil || len(ws) != 1 {
		t.Fatalf("ListAlertWebhooks = %v, %v", ws, err)
	}
	if w := ws[0]; w.URL != "" || string(w.SealedURL) != "sealed" || w.URLHint != "hooks.example" {
		t.Fatalf("webhook after sealing = %+v", w)
	}
}
