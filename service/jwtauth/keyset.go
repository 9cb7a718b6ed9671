package jwtauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
)

// keySet is an issuer's JSON Web Key Set, fetched from its jwks_uri and
// kept in memory. A token signed by a key the cache does not know makes it
// fetch the set again (the issuer rotated its keys), at most once per
// minRefetch (a second), so tokens with made-up key ids cannot make the
// gateway hammer the issuer; the set is also refreshed every maxAge.
type keySet struct {
	url        string
	client     *http.Client
	now        func() time.Time
	minRefetch time.Duration
	maxAge     time.Duration

	mu        sync.Mutex
	keys      []jose.JSONWebKey
	fetchedAt time.Time
	lastTry   time.Time
	fetching  chan struct{} // closed when the fetch in flight ends
	lastErr   error
}

var _ oidc.KeySet = (*keySet)(nil)

// keySetUnavailable starts the message of a failure to fetch a key set.
const keySetUnavailable = "key set unavailable"

// errUnknownKey means no key of the set verifies a token's signature.
var errUnknownKey = errors.New("signature not made by a key of the issuer's key set")

func newKeySet(url string, client *http.Client, now func() time.Time) *keySet {
	return &keySet{url: url, client: client, now: now, minRefetch: time.Second, maxAge: time.Hour}
}

// VerifySignature implements oidc.KeySet.
func (s *keySet) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	jws, err := jose.ParseSignedCompact(raw, signingAlgs)
	if err != nil {
		return nil, fmt.Errorf("malformed token: %w", err)
	}
	kid := ""
	if len(jws.Signatures) > 0 {
		kid = jws.Signatures[0].Header.KeyID
	}
	keys, stale := s.cached()
	if payload, ok := verifyWith(jws, keys, kid); ok && !stale {
		return payload, nil
	} else if ok {
		go s.refresh(context.WithoutCancel(ctx)) // keep serving the cached key meanwhile
		return payload, nil
	}
	keys, err = s.refresh(ctx)
	if err != nil {
		// go-oidc flattens the error to text: keySetUnavailable marks it.
		return nil, fmt.Errorf("%s: %w", keySetUnavailable, err)
	}
	if payload, ok := verifyWith(jws, keys, kid); ok {
		return payload, nil
	}
	return nil, errUnknownKey
}

func verifyWith(jws *jose.JSONWebSignature, keys []jose.JSONWebKey, kid string) ([]byte, bool) {
	for i := range keys {
		if kid != "" && keys[i].KeyID != kid {
			continue
		}
		if payload, err := jws.Verify(&keys[i]); err == nil {
			return payload, true
		}
	}
	return nil, false
}

func (s *keySet) cached() ([]jose.JSONWebKey, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys, s.fetchedAt.IsZero() || s.now().Sub(s.fetchedAt) > s.maxAge
}

// refresh fetches the set unless it was tried less than minRefetch ago
// (then it returns the cached keys); concurrent callers share one fetch.
func (s *keySet) refresh(ctx context.Context) ([]jose.JSONWebKey, error) {
	s.mu.Lock()
	if s.fetching == nil && !s.lastTry.IsZero() && s.now().Sub(s.lastTry) < s.minRefetch {
		keys, err := s.keys, s.lastErr
		s.mu.Unlock()
		if len(keys) == 0 && err != nil {
			return nil, err
		}
		return keys, nil
	}
	if s.fetching == nil {
		s.fetching = make(chan struct{})
		s.lastTry = s.now()
		done := s.fetching
		go func() {
			keys, err := s.fetch(context.WithoutCancel(ctx))
			s.mu.Lock()
			s.lastErr = err
			if err == nil {
				s.keys, s.fetchedAt = keys, s.now()
			}
			s.fetching = nil
			s.mu.Unlock()
			close(done)
		}()
	}
	wait := s.fetching
	s.mu.Unlock()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-wait:
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.keys) == 0 && s.lastErr != nil {
		return nil, s.lastErr
	}
	return s.keys, nil
}

// maxJWKSBytes bounds a key set document.
const maxJWKSBytes = 1 << 20

func (s *keySet) fetch(ctx context.Context) ([]jose.JSONWebKey, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, fmt.Errorf("key set %s: %w", s.url, err)
	}
	req.Header.Set("Accept", "application/json, application/jwk-set+json")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch key set %s: %w", s.url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes))
	if err != nil {
		return nil, fmt.Errorf("fetch key set %s: %w", s.url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch key set %s: %s", s.url, resp.Status)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("key set %s: %w", s.url, err)
	}
	keys := set.Keys[:0]
	for _, k := range set.Keys {
		if k.Use == "" || k.Use == "sig" {
			keys = append(keys, k)
		}
	}
	return keys, nil
}

// staticKeySet verifies with keys given in configuration (a SPIFFE trust
// bundle, say).
type staticKeySet struct{ keys []jose.JSONWebKey }

// VerifySignature implements oidc.KeySet.
func (s staticKeySet) VerifySignature(_ context.Context, raw string) ([]byte, error) {
	jws, err := jose.ParseSignedCompact(raw, signingAlgs)
	if err != nil {
		return nil, fmt.Errorf("malformed token: %w", err)
	}
	kid := ""
	if len(jws.Signatures) > 0 {
		kid = jws.Signatures[0].Header.KeyID
	}
	if payload, ok := verifyWith(jws, s.keys, kid); ok {
		return payload, nil
	}
	return nil, errUnknownKey
}

// signingAlgs are the signature algorithms accepted (asymmetric only).
var signingAlgs = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA,
}
