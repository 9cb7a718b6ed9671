package webhooks_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/tollgate-dev/tollgate/service/webhooks"
)

// TestSignMatchesTheSpecification signs the specification's example.
func TestSignMatchesTheSpecification(t *testing.T) {
	t.Parallel()
	s, err := webhooks.NewSigner("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	if err := s.Sign(h, "msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`)); err != nil {
		t.Fatal(err)
	}
	want := http.Header{
		"Webhook-Id":        {"msg_p5jXN8AQM9LWM0D4loKWxJek"},
		"Webhook-Timestamp": {"1614265330"},
		"Webhook-Signature": {"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="},
	}
	for k, v := range want {
		if h.Get(k) != v[0] {
			t.Errorf("%s = %q, want %q", k, h.Get(k), v[0])
		}
	}
}

func TestSecrets(t *testing.T) {
	t.Parallel()
	a, err := webhooks.GenerateSecret()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := webhooks.GenerateSecret()
	if a == b || !strings.HasPrefix(a, "whsec_") || len(a) != len("whsec_")+44 {
		t.Errorf("generated %q and %q", a, b)
	}
	for _, tt := range []struct {
		secret string
		ok     bool
	}{
		{a, true},
		{"a plain secret", true},
		{"", false},
		{"whsec_", false},
		{"whsec_not base64!", false},
	} {
		if err := webhooks.CheckSecret(tt.secret); (err == nil) != tt.ok || (err != nil && !errors.Is(err, webhooks.ErrSecret)) {
			t.Errorf("CheckSecret(%q) = %v, want ok %v", tt.secret, err, tt.ok)
		}
	}
	if id1, id2 := webhooks.NewMessageID(), webhooks.NewMessageID(); id1 == id2 || !strings.HasPrefix(id1, "msg_") {
		t.Errorf("message ids %q, %q", id1, id2)
	}
}

// TestVerifier plays a receiver: it accepts a fresh call once, and
// refuses a replay, a stale or future call, a changed body, another
// secret's signature and a call without headers.
func TestVerifier(t *testing.T) {
	t.Parallel()
	body := []byte(`{"text":"budget at 90%"}`)
	tests := []struct {
		name    string
		secret  string // the sender's; the receiver's is "whsec_" + key below
		age     time.Duration
		body    []byte
		strip   bool
		replay  bool
		wantErr error
	}{
		{name: "fresh call"},
		{name: "replayed call", replay: true, wantErr: webhooks.ErrReplayed},
		{name: "stale call", age: webhooks.ReplayWindow + time.Second, wantErr: standardwebhooks.ErrMessageTooOld},
		{name: "call from the future", age: -webhooks.ReplayWindow - time.Second, wantErr: standardwebhooks.ErrMessageTooNew},
		{name: "changed body", body: []byte(`{"text":"budget at 10%"}`), wantErr: standardwebhooks.ErrNoMatchingSignature},
		{name: "another secret", secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", wantErr: standardwebhooks.ErrNoMatchingSignature},
		{name: "no headers", strip: true, wantErr: standardwebhooks.ErrRequiredHeaders},
		{name: "a plain secret", secret: "plain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				secret := "whsec_" + "c2VjcmV0IGtleSBvZiB0aGUgcmVjZWl2ZXI="
				sender := secret
				if tt.secret != "" {
					sender = tt.secret
				}
				receiver := secret
				if tt.secret == "plain" {
					receiver = "plain"
				}
				s, err := webhooks.NewSigner(sender)
				if err != nil {
					t.Fatal(err)
				}
				v, err := webhooks.NewVerifier(receiver)
				if err != nil {
					t.Fatal(err)
				}
				h := http.Header{}
				if err := s.Sign(h, webhooks.NewMessageID(), time.Now().Add(-tt.age), body); err != nil {
					t.Fatal(err)
				}
				if tt.strip {
					h = http.Header{}
				}
				got := body
				if tt.body != nil {
					got = tt.body
				}
				err = v.Verify(got, h)
				if tt.replay {
					if err != nil {
						t.Fatalf("first delivery: %v", err)
					}
					time.Sleep(time.Minute) // fake time (synctest bubble), within the window
					err = v.Verify(got, h)
				}
				if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
					t.Fatalf("Verify = %v, want %v", err, tt.wantErr)
				}
				if tt.wantErr == nil {
					// Any Standard Webhooks library accepts the call too.
					wh, _ := standardwebhooks.NewWebhook(secret)
					if tt.secret == "plain" {
						wh, _ = standardwebhooks.NewWebhookRaw([]byte("plain"))
					}
					if err := wh.Verify(got, h); err != nil {
						t.Errorf("the library refuses the call: %v", err)
					}
				}
			})
		})
	}
}

// TestVerifierForgets: ids are remembered only as long as a call carrying
// them could be accepted.
func TestVerifierForgets(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		secret, _ := webhooks.GenerateSecret()
		s, _ := webhooks.NewSigner(secret)
		v, _ := webhooks.NewVerifier(secret)
		sign := func(id string) http.Header {
			h := http.Header{}
			if err := s.Sign(h, id, time.Now(), []byte("{}")); err != nil {
				t.Fatal(err)
			}
			return h
		}
		if err := v.Verify([]byte("{}"), sign("msg_a")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * webhooks.ReplayWindow) // fake time (synctest bubble)
		// A retry of msg_a long after: a fresh timestamp, and the id was
		// forgotten with the window.
		if err := v.Verify([]byte("{}"), sign("msg_a")); err != nil {
			t.Fatalf("a retry after the window: %v", err)
		}
		// A receiver that could not process a call forgets it: the
		// sender's retry is accepted.
		h := sign("msg_b")
		if err := v.Verify([]byte("{}"), h); err != nil {
			t.Fatal(err)
		}
		v.Forget(h)
		if err := v.Verify([]byte("{}"), sign("msg_b")); err != nil {
			t.Fatalf("a retry of a forgotten call: %v", err)
		}
		if err := v.Verify([]byte("{}"), sign("msg_b")); !errors.Is(err, webhooks.ErrReplayed) {
			t.Fatalf("a second copy: %v", err)
		}
	})
}
