package jwtauth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
)

// Errors. ErrInvalidToken covers every reason a token is refused (bad
// signature, wrong issuer or audience, expired, not yet valid, malformed);
// ErrUnavailable means the issuer's keys could not be had.
var (
	ErrInvalidToken = errors.New("invalid token")
	ErrUnavailable  = errors.New("token issuer unavailable")
)

// MaxClockSkew bounds the configurable clock skew.
const MaxClockSkew = 5 * time.Minute

// Config describes a trusted issuer.
type Config struct {
	// Issuer is the "iss" tokens must carry, and the base of OpenID
	// Connect discovery unless JWKSURL or Keys is set.
	Issuer string
	// JWKSURL is the issuer's key set, when it has no discovery document.
	JWKSURL string
	// Keys are the issuer's public keys, when they are configured rather
	// than fetched (a SPIFFE trust bundle).
	Keys []jose.JSONWebKey
	// Audiences are the accepted "aud" values; a token must carry one.
	Audiences []string
	// ClockSkew is tolerated on exp, nbf and iat (default 1m, at most 5m).
	ClockSkew time.Duration
	// HTTPClient fetches discovery and key sets (default: 10 s timeout).
	HTTPClient *http.Client
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Token is a verified token's claims.
type Token struct {
	Issuer    string
	Subject   string
	Audience  []string
	Expiry    time.Time
	NotBefore time.Time
	IssuedAt  time.Time
	// ID is the "jti" claim, "" when absent.
	ID string
	// Claims holds every claim.
	Claims map[string]any
}

// Claim returns the claim at path: a claim name, or "/"-separated names
// into nested objects ("/kubernetes.io/namespace").
func (t *Token) Claim(path string) (any, bool) {
	if !strings.HasPrefix(path, "/") {
		v, ok := t.Claims[path]
		return v, ok
	}
	var cur any = t.Claims
	for seg := range strings.SplitSeq(strings.TrimPrefix(path, "/"), "/") {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = obj[seg]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// String returns a string claim ("" when absent or not a string).
func (t *Token) String(path string) string {
	v, _ := t.Claim(path)
	s, _ := v.(string)
	return s
}

// Strings returns a claim holding a string or a list of strings.
func (t *Token) Strings(path string) []string {
	v, _ := t.Claim(path)
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// Bool returns a boolean claim (also "true" as a string, as some issuers send).
func (t *Token) Bool(path string) bool {
	v, _ := t.Claim(path)
	switch v := v.(type) {
	case bool:
		return v
	case string:
		return v == "true"
	}
	return false
}

// Verifier verifies tokens of one issuer. It is safe for concurrent use.
type Verifier struct {
	cfg    Config
	client *http.Client

	mu       sync.Mutex
	verifier *oidc.IDTokenVerifier // nil until discovery succeeded
	tried    time.Time
	err      error

	cache tokenCache
}

// New returns a verifier for an issuer. Discovery happens on first use
// (and is retried, at most every ten seconds, while it fails), so a
// gateway starts while its identity provider is unreachable.
func New(cfg Config) (*Verifier, error) {
	if cfg.Issuer == "" {
		return nil, errors.New("jwtauth: an issuer is required")
	}
	if len(cfg.Audiences) == 0 {
		return nil, fmt.Errorf("jwtauth: issuer %s: at least one accepted audience is required", cfg.Issuer)
	}
	if cfg.ClockSkew == 0 {
		cfg.ClockSkew = time.Minute
	}
	if cfg.ClockSkew < 0 || cfg.ClockSkew > MaxClockSkew {
		return nil, fmt.Errorf("jwtauth: clock skew must be between 0 and %s", MaxClockSkew)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	v := &Verifier{cfg: cfg, client: cfg.HTTPClient, cache: tokenCache{max: 4096, entries: map[[32]byte]*Token{}}}
	if v.client == nil {
		v.client = &http.Client{Timeout: 10 * time.Second}
	}
	switch {
	case len(cfg.Keys) > 0:
		v.verifier = v.newOIDCVerifier(staticKeySet{keys: cfg.Keys})
	case cfg.JWKSURL != "":
		v.verifier = v.newOIDCVerifier(newKeySet(cfg.JWKSURL, v.client, cfg.Now))
	}
	return v, nil
}

// Issuer returns the issuer the verifier trusts.
func (v *Verifier) Issuer() string { return v.cfg.Issuer }

func (v *Verifier) newOIDCVerifier(ks oidc.KeySet) *oidc.IDTokenVerifier {
	algs := make([]string, len(signingAlgs))
	for i, a := range signingAlgs {
		algs[i] = string(a)
	}
	// go-oidc checks the signature and the issuer; audience and times are
	// checked by Verify with the configured skew.
	return oidc.NewVerifier(v.cfg.Issuer, ks, &oidc.Config{SkipClientIDCheck: true, SkipExpiryCheck: true, SupportedSigningAlgs: algs})
}

// discoveryRetry is how often a failed discovery is retried.
const discoveryRetry = 10 * time.Second

// ready returns the go-oidc verifier, discovering the issuer's key set
// first when needed.
func (v *Verifier) ready(ctx context.Context) (*oidc.IDTokenVerifier, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.verifier != nil {
		return v.verifier, nil
	}
	if !v.tried.IsZero() && v.cfg.Now().Sub(v.tried) < discoveryRetry {
		return nil, v.err
	}
	v.tried = v.cfg.Now()
	dctx, cancel := context.WithTimeout(oidc.ClientContext(context.WithoutCancel(ctx), v.client), 10*time.Second)
	defer cancel()
	p, err := oidc.NewProvider(dctx, v.cfg.Issuer)
	if err != nil {
		v.err = fmt.Errorf("%w: discovery of %s: %w", ErrUnavailable, v.cfg.Issuer, err)
		return nil, v.err
	}
	var meta struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := p.Claims(&meta); err != nil || meta.JWKSURI == "" {
		v.err = fmt.Errorf("%w: %s publishes no jwks_uri", ErrUnavailable, v.cfg.Issuer)
		return nil, v.err
	}
	v.verifier, v.err = v.newOIDCVerifier(newKeySet(meta.JWKSURI, v.client, v.cfg.Now)), nil
	return v.verifier, nil
}

// Verify checks a token's signature, issuer, audience and times and
// returns its claims. Errors wrap ErrInvalidToken or ErrUnavailable; their
// messages never quote the token.
func (v *Verifier) Verify(ctx context.Context, raw string) (*Token, error) {
	now := v.cfg.Now()
	key := sha256.Sum256([]byte(raw))
	if t := v.cache.get(key); t != nil {
		if err := v.checkTimes(t, now); err != nil {
			v.cache.drop(key)
			return nil, err
		}
		return t, nil
	}
	ov, err := v.ready(ctx)
	if err != nil {
		return nil, err
	}
	idt, err := ov.Verify(ctx, raw)
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), keySetUnavailable) {
			return nil, fmt.Errorf("%w: %s: %w", ErrUnavailable, v.cfg.Issuer, err)
		}
		return nil, fmt.Errorf("%w: %s", ErrInvalidToken, strings.TrimPrefix(err.Error(), "oidc: "))
	}
	t := &Token{Issuer: idt.Issuer, Subject: idt.Subject, Audience: idt.Audience, Expiry: idt.Expiry, IssuedAt: idt.IssuedAt}
	if err := idt.Claims(&t.Claims); err != nil {
		return nil, fmt.Errorf("%w: claims: %w", ErrInvalidToken, err)
	}
	t.ID, _ = t.Claims["jti"].(string)
	if nbf, ok := t.Claims["nbf"].(float64); ok {
		t.NotBefore = time.Unix(int64(nbf), 0)
	}
	if !slices.ContainsFunc(t.Audience, func(a string) bool { return slices.Contains(v.cfg.Audiences, a) }) {
		return nil, fmt.Errorf("%w: audience %q is not one this gateway accepts", ErrInvalidToken, t.Audience)
	}
	if t.Subject == "" {
		return nil, fmt.Errorf("%w: no subject", ErrInvalidToken)
	}
	if err := v.checkTimes(t, now); err != nil {
		return nil, err
	}
	v.cache.put(key, t)
	return t, nil
}

// checkTimes checks exp (required), nbf and iat against now, within the
// clock skew.
func (v *Verifier) checkTimes(t *Token, now time.Time) error {
	skew := v.cfg.ClockSkew
	switch {
	case t.Expiry.IsZero():
		return fmt.Errorf("%w: no expiry", ErrInvalidToken)
	case !now.Before(t.Expiry.Add(skew)):
		return fmt.Errorf("%w: expired at %s", ErrInvalidToken, t.Expiry.UTC().Format(time.RFC3339))
	case !t.NotBefore.IsZero() && now.Add(skew).Before(t.NotBefore):
		return fmt.Errorf("%w: not valid before %s", ErrInvalidToken, t.NotBefore.UTC().Format(time.RFC3339))
	case !t.IssuedAt.IsZero() && now.Add(skew).Before(t.IssuedAt):
		return fmt.Errorf("%w: issued in the future (%s)", ErrInvalidToken, t.IssuedAt.UTC().Format(time.RFC3339))
	}
	return nil
}

// tokenCache holds verified tokens until they expire; when full it drops
// an arbitrary entry.
type tokenCache struct {
	mu      sync.Mutex
	max     int
	entries map[[32]byte]*Token
}

func (c *tokenCache) get(k [32]byte) *Token {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.entries[k]
}

func (c *tokenCache) put(k [32]byte, t *Token) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		for old := range c.entries {
			delete(c.entries, old)
			break
		}
	}
	c.entries[k] = t
}

func (c *tokenCache) drop(k [32]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, k)
}

// LooksLikeJWT reports whether s has the shape of a compact JWS (three
// base64url parts), without verifying anything.
func LooksLikeJWT(s string) bool {
	if strings.Count(s, ".") != 2 || len(s) < 20 {
		return false
	}
	for _, part := range strings.Split(s, ".") {
		if part == "" {
			return false
		}
	}
	return true
}

// UnverifiedIssuer returns the "iss" claim of a token without verifying
// it, to choose the verifier that will; "" when it cannot be read.
func UnverifiedIssuer(raw string) string {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		Iss string `json:"iss"`
	}
	if json.Unmarshal(b, &c) != nil {
		return ""
	}
	return c.Iss
}
