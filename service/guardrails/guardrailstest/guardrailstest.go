// Package guardrailstest provides fakes for testing code that uses package
// guardrails: a moderation Classifier and a webhook server that verifies
// every call as the Standard Webhooks specification says (signature,
// timestamp window, no replays).
package guardrailstest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/service/guardrails"
	"github.com/tollgate-dev/tollgate/service/webhooks"
)

// Classifier flags texts that contain one of its words. It is safe for
// concurrent use.
type Classifier struct {
	// Words maps a lower-case word to the category it flags.
	Words map[string]string
	// Delay, if set, is waited (or the context's end) before answering.
	Delay time.Duration
	// Err, if set, is returned instead of an answer.
	Err error

	mu    sync.Mutex
	calls int
}

var _ guardrails.Classifier = (*Classifier)(nil)

// Classify implements guardrails.Classifier.
func (c *Classifier) Classify(ctx context.Context, text string) (bool, []string, error) {
	c.mu.Lock()
	c.calls++
	c.mu.Unlock()
	if c.Delay > 0 {
		t := time.NewTimer(c.Delay)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return false, nil, ctx.Err()
		case <-t.C:
		}
	}
	if c.Err != nil {
		return false, nil, c.Err
	}
	var cats []string
	lower := strings.ToLower(text)
	for w, cat := range c.Words {
		if strings.Contains(lower, w) {
			cats = append(cats, cat)
		}
	}
	return len(cats) > 0, cats, nil
}

// Calls returns the number of Classify calls.
func (c *Classifier) Calls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

// Webhook is a webhook guardrail server. Every call is checked with a
// webhooks.Verifier for the server's secret; a call with a bad signature,
// a timestamp outside the replay window or an id already received is
// answered 401 and counted.
type Webhook struct {
	// URL is the server's address.
	URL string

	verifier *webhooks.Verifier
	respond  func(guardrails.WebhookRequest) guardrails.WebhookResponse
	delay    time.Duration

	mu       sync.Mutex
	requests []guardrails.WebhookRequest
	badSigs  int
	lastBody []byte
	lastHdr  http.Header
}

// WebhookOption adjusts NewWebhook.
type WebhookOption func(*Webhook)

// WithDelay makes the server wait d (or the client's disconnect) before answering.
func WithDelay(d time.Duration) WebhookOption { return func(w *Webhook) { w.delay = d } }

// NewWebhook starts a webhook server closed at the end of the test.
// respond computes the answer to each validly signed request.
func NewWebhook(t testing.TB, secret string, respond func(guardrails.WebhookRequest) guardrails.WebhookResponse, opts ...WebhookOption) *Webhook {
	t.Helper()
	v, err := webhooks.NewVerifier(secret)
	if err != nil {
		t.Fatalf("guardrailstest: webhook secret: %v", err)
	}
	w := &Webhook{verifier: v, respond: respond}
	for _, o := range opts {
		o(w)
	}
	srv := httptest.NewServer(http.HandlerFunc(w.serve))
	t.Cleanup(srv.Close)
	w.URL = srv.URL
	return w
}

func (w *Webhook) serve(rw http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(rw, "read", http.StatusBadRequest)
		return
	}
	if err := w.verifier.Verify(body, r.Header); err != nil {
		w.mu.Lock()
		w.badSigs++
		w.mu.Unlock()
		http.Error(rw, "bad signature", http.StatusUnauthorized)
		return
	}
	var req guardrails.WebhookRequest
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(rw, "bad json", http.StatusBadRequest)
		return
	}
	w.mu.Lock()
	w.requests = append(w.requests, req)
	w.lastBody, w.lastHdr = body, r.Header.Clone()
	w.mu.Unlock()
	if w.delay > 0 {
		t := time.NewTimer(w.delay)
		defer t.Stop()
		select {
		case <-r.Context().Done():
			return
		case <-t.C:
		}
	}
	rw.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(rw).Encode(w.respond(req))
}

// Requests returns the validly signed requests received.
func (w *Webhook) Requests() []guardrails.WebhookRequest {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]guardrails.WebhookRequest(nil), w.requests...)
}

// LastCall returns the body and headers of the last call accepted, e.g.
// to replay it.
func (w *Webhook) LastCall() ([]byte, http.Header) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lastBody, w.lastHdr.Clone()
}

// BadSignatures returns the number of requests refused for their
// signature, timestamp or a replayed id.
func (w *Webhook) BadSignatures() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.badSigs
}
