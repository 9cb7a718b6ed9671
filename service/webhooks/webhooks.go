// Package webhooks signs the webhooks Tollgate sends (guardrail checks and
// alerts) per the Standard Webhooks specification
// (https://www.standardwebhooks.com), with its reference library, and
// verifies them on the receiving side.
//
// # What a receiver gets
//
// Every call carries three headers:
//
//	webhook-id:        msg_<random>, the same on every retry of one message
//	webhook-timestamp: the Unix time of this attempt, in seconds
//	webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">
//
// under the webhook's secret. A secret is "whsec_" followed by the
// standard base64 of its key (32 random bytes when Tollgate generates it,
// see [GenerateSecret]). A secret without that prefix (guardrail webhooks
// configured before signing followed the specification) is used as the
// key bytes as given: verify those with standardwebhooks.NewWebhookRaw.
//
// # Replay window
//
// A receiver must refuse a call whose timestamp is more than [ReplayWindow]
// (five minutes, the library's tolerance) away from its own clock, and a
// call whose webhook-id it already accepted within that window: the first
// check bounds how long a captured call stays usable, the second refuses
// it within that time. [Verifier] does both:
//
//	v, err := webhooks.NewVerifier(secret)
//	...
//	body, _ := io.ReadAll(r.Body)
//	if err := v.Verify(body, r.Header); err != nil {
//		http.Error(w, "bad signature", http.StatusUnauthorized)
//		return
//	}
//	if err := process(body); err != nil {
//		v.Forget(r.Header) // the sender retries with the same id
//		http.Error(w, "try again", http.StatusServiceUnavailable)
//		return
//	}
//
// A receiver in another language uses its Standard Webhooks library the
// same way and keeps the ids it accepted for the window.
package webhooks

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// The headers of a signed call.
const (
	HeaderID        = standardwebhooks.HeaderWebhookID
	HeaderTimestamp = standardwebhooks.HeaderWebhookTimestamp
	HeaderSignature = standardwebhooks.HeaderWebhookSignature
)

// SecretPrefix starts a Standard Webhooks secret.
const SecretPrefix = "whsec_"

// ReplayWindow is how far a call's timestamp may be from the receiver's
// clock, and how long a receiver remembers the ids it accepted. It is the
// Standard Webhooks library's tolerance.
const ReplayWindow = 5 * time.Minute

// secretBytes is the key size of generated secrets.
const secretBytes = 32

// ErrReplayed is returned by [Verifier.Verify] for a message id it
// already accepted within the replay window.
var ErrReplayed = errors.New("webhooks: message already received")

// ErrSecret is returned for a secret that cannot sign.
var ErrSecret = errors.New("webhooks: invalid secret")

// GenerateSecret returns a new secret: "whsec_" and the standard base64 of
// 32 random bytes.
func GenerateSecret() (string, error) {
	var b [secretBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("webhooks: random: %w", err)
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b[:]), nil
}

// CheckSecret reports why secret cannot sign: it is empty, or it has the
// "whsec_" prefix without a base64 key after it.
func CheckSecret(secret string) error {
	_, err := parse(secret)
	return err
}

// parse returns the library's webhook for secret (see the package doc).
func parse(secret string) (*standardwebhooks.Webhook, error) {
	if strings.HasPrefix(secret, SecretPrefix) {
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			return nil, fmt.Errorf("%w: %q must be followed by a base64 key", ErrSecret, SecretPrefix)
		}
		return wh, nil
	}
	wh, err := standardwebhooks.NewWebhookRaw([]byte(secret))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSecret, err)
	}
	return wh, nil
}

// Signer signs calls with one secret. It is safe for concurrent use.
type Signer struct {
	wh *standardwebhooks.Webhook
}

// NewSigner returns a signer for secret.
func NewSigner(secret string) (*Signer, error) {
	wh, err := parse(secret)
	if err != nil {
		return nil, err
	}
	return &Signer{wh: wh}, nil
}

// NewMessageID returns a new message id, "msg_" and 24 random characters.
// Retries of one message keep its id, so that receivers can tell them from
// new messages.
func NewMessageID() string {
	var b [18]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails on supported platforms
	return "msg_" + base64.RawURLEncoding.EncodeToString(b[:])
}

// Sign sets the webhook-id, webhook-timestamp and webhook-signature
// headers of a call of message id sending body at ts.
func (s *Signer) Sign(h http.Header, id string, ts time.Time, body []byte) error {
	sig, err := s.wh.Sign(id, ts, body)
	if err != nil {
		return fmt.Errorf("webhooks: sign: %w", err)
	}
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderSignature, sig)
	return nil
}

// Verifier checks received calls: the signature and the timestamp window
// with the Standard Webhooks library, then that the message id was not
// accepted before within the window. It is safe for concurrent use; its
// memory holds the ids of the last ReplayWindow.
type Verifier struct {
	wh *standardwebhooks.Webhook

	mu   sync.Mutex
	seen map[string]time.Time // accepted id → when it may be forgotten
}

// NewVerifier returns a verifier for secret.
func NewVerifier(secret string) (*Verifier, error) {
	wh, err := parse(secret)
	if err != nil {
		return nil, err
	}
	return &Verifier{wh: wh, seen: map[string]time.Time{}}, nil
}

// Forget drops the id of a call from the verifier's memory. A receiver
// that verified a call but could not process it (and answers with an
// error, so that the sender retries) calls it, so that the retry, which
// carries the same id, is accepted.
func (v *Verifier) Forget(h http.Header) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.seen, h.Get(HeaderID))
}

// Verify returns nil for a call signed with the verifier's secret, sent
// within the replay window and not accepted before; otherwise the
// library's error (a bad signature, a missing header, a stale or future
// timestamp) or ErrReplayed.
func (v *Verifier) Verify(body []byte, h http.Header) error {
	if err := v.wh.Verify(body, h); err != nil {
		return err
	}
	now := time.Now() // the library judges timestamps by the same clock
	id := h.Get(HeaderID)
	v.mu.Lock()
	defer v.mu.Unlock()
	for k, until := range v.seen {
		if now.After(until) {
			delete(v.seen, k)
		}
	}
	if _, ok := v.seen[id]; ok {
		return fmt.Errorf("%w: %s", ErrReplayed, id)
	}
	// The timestamp is within the window, so the call stays acceptable
	// until at most now + 2×window; remember the id that long.
	v.seen[id] = now.Add(2 * ReplayWindow)
	return nil
}
