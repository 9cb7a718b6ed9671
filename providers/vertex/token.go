package vertex

import (
	"context"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// refreshWindow is how long before its expiry a token is refreshed in the
// background while requests keep using it.
const refreshWindow = 5 * time.Minute

// tokenCache keeps an access token and refreshes it off the request path:
// a request that finds a token expiring within refreshWindow uses it and
// starts one background refresh; only a request that finds no valid token
// (the first, or after a failed refresh let it expire) waits for one.
type tokenCache struct {
	// fetch gets a new token (not one a source cached).
	fetch func() (*oauth2.Token, error)
	now   func() time.Time

	mu         sync.Mutex
	tok        *oauth2.Token
	refreshing bool
	// wait is closed when a refresh that requests wait for ends.
	wait chan struct{}
	err  error
	// retryAt holds back background refreshes after a failed one.
	retryAt time.Time
}

// retryDelay is the wait after a failed background refresh before the
// next (a request that finds no valid token still fetches at once).
const retryDelay = 10 * time.Second

func newTokenCache(fetch func() (*oauth2.Token, error), now func() time.Time) *tokenCache {
	return &tokenCache{fetch: fetch, now: now}
}

// valid reports whether t can be used at now (with a margin for the
// request's own duration).
func (c *tokenCache) valid(t *oauth2.Token, now time.Time) bool {
	return t != nil && t.AccessToken != "" && (t.Expiry.IsZero() || now.Add(10*time.Second).Before(t.Expiry))
}

// Token returns a valid access token.
func (c *tokenCache) Token(ctx context.Context) (string, error) {
	now := c.now()
	c.mu.Lock()
	tok := c.tok
	if c.valid(tok, now) {
		if !tok.Expiry.IsZero() && now.Add(refreshWindow).After(tok.Expiry) && !c.refreshing && !now.Before(c.retryAt) {
			c.start()
		}
		c.mu.Unlock()
		return tok.AccessToken, nil
	}
	if !c.refreshing {
		c.start()
	}
	wait := c.wait
	c.mu.Unlock()
	select {
	case <-wait:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.valid(c.tok, c.now()) {
		return c.tok.AccessToken, nil
	}
	return "", c.err
}

// start begins a refresh; c.mu is held.
func (c *tokenCache) start() {
	c.refreshing = true
	c.wait = make(chan struct{})
	go c.refresh(c.wait)
}

func (c *tokenCache) refresh(done chan struct{}) {
	tok, err := c.fetch()
	c.mu.Lock()
	if err == nil {
		c.tok, c.err = tok, nil
	} else {
		c.err = err
		c.retryAt = c.now().Add(retryDelay)
	}
	c.refreshing = false
	c.mu.Unlock()
	close(done)
}
