package alerts

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/service/secrets"
	"github.com/tollgate-dev/tollgate/service/store"
	"github.com/tollgate-dev/tollgate/service/webhooks"
)

func TestSealedWebhookURL(t *testing.T) {
	t.Parallel()
	sealer, err := secrets.NewSealer(bytes.Repeat([]byte{3}, secrets.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := secrets.NewSealer(bytes.Repeat([]byte{4}, secrets.KeySize))
	tests := []struct {
		name     string
		sealedAs string // the webhook id the URL is sealed for
		opts     []Option
		wantSent bool
	}{
		{"opened with the sealer", "h", []Option{WithSealer(sealer)}, true},
		{"no sealer", "h", nil, false},
		{"wrong master key", "h", []Option{WithSealer(other)}, false},
		{"sealed for another webhook", "g", []Option{WithSealer(sealer)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rcv := &receiver{}
			srv := httptest.NewServer(rcv)
			t.Cleanup(srv.Close)
			sealed, err := sealer.Seal([]byte(srv.URL+"/services/T0/B0/token"), SealContext(tt.sealedAs))
			if err != nil {
				t.Fatal(err)
			}
			st := newFakeStore(store.AlertWebhook{ID: "h", SealedURL: sealed})
			b := &fakeBudgets{budget: store.Budget{ID: "b1", Scope: store.ScopeTeam, TeamID: "t", LimitNanos: 100, AlertThresholds: []int{90}}}
			b.set(95, time.Time{})
			m := New(st, b, append(tt.opts, WithRetry(1, time.Millisecond))...)
			err = m.Check(t.Context())
			if sent := len(rcv.got()) == 1; sent != tt.wantSent || (err == nil) != tt.wantSent {
				t.Fatalf("sent %v, Check = %v; want sent %v", rcv.got(), err, tt.wantSent)
			}
		})
	}
}

// signedReceiver verifies every call as a Standard Webhooks receiver does,
// refuses (and forgets) the first failures verified calls, and records
// the message ids of every verified call.
type signedReceiver struct {
	v        *webhooks.Verifier
	mu       sync.Mutex
	failures int
	ids      []string
	refused  int
	texts    []string
}

func (r *signedReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.v.Verify(body, req.Header); err != nil {
		r.refused++
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	r.ids = append(r.ids, req.Header.Get(webhooks.HeaderID))
	if r.failures > 0 {
		r.failures--
		r.v.Forget(req.Header)
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	var m Message
	if err := json.Unmarshal(body, &m); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.texts = append(r.texts, m.Text)
}

// TestSignedAlerts: alerts are signed with the webhook's sealed secret
// and verified by a Standard Webhooks receiver; a retry keeps the message
// id; a secret that does not open sends nothing.
func TestSignedAlerts(t *testing.T) {
	t.Parallel()
	sealer, err := secrets.NewSealer(bytes.Repeat([]byte{5}, secrets.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	secret, err := webhooks.GenerateSecret()
	if err != nil {
		t.Fatal(err)
	}
	v, err := webhooks.NewVerifier(secret)
	if err != nil {
		t.Fatal(err)
	}
	rcv := &signedReceiver{v: v, failures: 1}
	srv := httptest.NewServer(rcv)
	t.Cleanup(srv.Close)
	sealedURL, _ := sealer.Seal([]byte(srv.URL), SealContext("h"))
	sealedSecret, _ := sealer.Seal([]byte(secret), SecretContext("h"))
	st := newFakeStore(store.AlertWebhook{ID: "h", SealedURL: sealedURL, SealedSecret: sealedSecret})
	b := &fakeBudgets{budget: store.Budget{ID: "b1", Scope: store.ScopeTeam, TeamID: "t", LimitNanos: 100, AlertThresholds: []int{90}}}
	b.set(95, time.Time{})
	m := New(st, b, WithSealer(sealer), WithRetry(3, time.Millisecond))
	if err := m.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	rcv.mu.Lock()
	ids, texts, refused := rcv.ids, rcv.texts, rcv.refused
	rcv.mu.Unlock()
	if len(ids) != 2 || ids[0] != ids[1] || len(texts) != 1 || refused != 0 {
		t.Fatalf("verified ids %q, texts %q, refused %d; want one message delivered on its retry", ids, texts, refused)
	}

	// A secret sealed for another webhook does not open: nothing is sent
	// rather than an unsigned alert.
	other, _ := sealer.Seal([]byte(secret), SecretContext("g"))
	st2 := newFakeStore(store.AlertWebhook{ID: "h", SealedURL: sealedURL, SealedSecret: other})
	m2 := New(st2, b, WithSealer(sealer), WithRetry(1, time.Millisecond))
	if err := m2.Check(t.Context()); err == nil {
		t.Fatal("an alert was sent with a secret that does not open")
	}
}
