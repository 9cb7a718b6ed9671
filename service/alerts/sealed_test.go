package alerts

import (
	"bytes"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/service/secrets"
	"github.com/tollgate-dev/tollgate/service/store"
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
