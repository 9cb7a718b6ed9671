package vertex

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/oauth2"
)

// TestTokenCache: concurrent first callers share one fetch; a token near
// expiry is served while one background refresh runs; a failed refresh
// keeps the valid token and holds back the next for a while; an expired
// token is waited for.
func TestTokenCache(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var fetches atomic.Int64
		release := make(chan struct{})
		fail := atomic.Bool{}
		c := newTokenCache(func() (*oauth2.Token, error) {
			n := fetches.Add(1)
			<-release
			if fail.Load() {
				return nil, errors.New("token endpoint down")
			}
			return &oauth2.Token{AccessToken: "tok" + string(rune('0'+n)), Expiry: time.Now().Add(10 * time.Minute)}, nil
		}, time.Now)

		var wg sync.WaitGroup
		got := make([]string, 10)
		for i := range got {
			wg.Go(func() { got[i], _ = c.Token(context.Background()) })
		}
		synctest.Wait()
		close(release)
		wg.Wait()
		for _, g := range got {
			if g != "tok1" {
				t.Fatalf("tokens %v", got)
			}
		}
		if fetches.Load() != 1 {
			t.Fatalf("%d fetches for 10 concurrent first callers", fetches.Load())
		}

		time.Sleep(6 * time.Minute) // fake clock: 4 minutes left, inside the refresh window
		fail.Store(true)
		if tok, err := c.Token(context.Background()); tok != "tok1" || err != nil {
			t.Fatalf("near expiry: %q, %v", tok, err)
		}
		synctest.Wait()
		if fetches.Load() != 2 {
			t.Fatalf("%d fetches, want a background refresh", fetches.Load())
		}
		if tok, err := c.Token(context.Background()); tok != "tok1" || err != nil || fetches.Load() != 2 {
			t.Fatalf("after a failed refresh: %q, %v, %d fetches (want none before the retry delay)", tok, err, fetches.Load())
		}
		synctest.Wait()

		time.Sleep(5 * time.Minute) // fake clock: expired
		fail.Store(false)
		if tok, err := c.Token(context.Background()); tok != "tok3" || err != nil {
			t.Fatalf("after expiry: %q, %v", tok, err)
		}
	})
}
