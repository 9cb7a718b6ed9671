package jwtauth_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/oidctest"
	"github.com/tollgate-dev/tollgate/service/jwtauth"
)

func newVerifier(t *testing.T, issuer string, audiences ...string) *jwtauth.Verifier {
	t.Helper()
	v, err := jwtauth.New(jwtauth.Config{Issuer: issuer, Audiences: audiences})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVerifyRealTokens(t *testing.T) {
	t.Parallel()
	op := oidctest.Start(t, oidctest.User{Username: "alice", Email: "alice@example.com", Groups: []string{"platform-admins"}})
	v := newVerifier(t, op.Issuer, oidctest.WebClientID)
	toks := op.Login(t, "alice")
	for name, raw := range map[string]string{"id token": toks.IDToken, "access token": toks.AccessToken} {
		tok, err := v.Verify(context.Background(), raw)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if tok.Subject != "sub-alice" || !slices.Contains(tok.Strings("groups"), "platform-admins") {
			t.Fatalf("%s: claims %v", name, tok.Claims)
		}
	}
	tok, _ := v.Verify(context.Background(), toks.IDToken)
	if tok.String("email") != "alice@example.com" || !tok.Bool("email_verified") {
		t.Fatalf("id token claims %v", tok.Claims)
	}
}

func TestRefusedTokens(t *testing.T) {
	t.Parallel()
	op := oidctest.Start(t, oidctest.User{Username: "bob"})
	other := oidctest.Start(t, oidctest.User{Username: "bob"})
	v := newVerifier(t, op.Issuer, "tollgate")
	stranger, _ := rsa.GenerateKey(rand.Reader, 2048)
	now := time.Now()
	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"expired", op.Sign(map[string]any{"sub": "bob", "aud": "tollgate", "exp": now.Add(-2 * time.Minute).Unix()}), jwtauth.ErrInvalidToken},
		{"not yet valid", op.Sign(map[string]any{"sub": "bob", "aud": "tollgate", "nbf": now.Add(10 * time.Minute).Unix()}), jwtauth.ErrInvalidToken},
		{"issued in the future", op.Sign(map[string]any{"sub": "bob", "aud": "tollgate", "iat": now.Add(10 * time.Minute).Unix()}), jwtauth.ErrInvalidToken},
		{"no expiry", op.Sign(map[string]any{"sub": "bob", "aud": "tollgate", "exp": nil}), jwtauth.ErrInvalidToken},
		{"other audience", op.Sign(map[string]any{"sub": "bob", "aud": "someone-else"}), jwtauth.ErrInvalidToken},
		{"wrongly signed", oidctest.SignWith(stranger, "made-up", op.Issuer, map[string]any{"sub": "bob", "aud": "tollgate"}), jwtauth.ErrInvalidToken},
		{"other issuer", other.Sign(map[string]any{"sub": "bob", "aud": "tollgate"}), jwtauth.ErrInvalidToken},
		{"no subject", op.Sign(map[string]any{"aud": "tollgate"}), jwtauth.ErrInvalidToken},
		{"JSON serialization", jsonSerialized(t, op.Sign(map[string]any{"sub": "bob", "aud": "tollgate"})), jwtauth.ErrInvalidToken},
	}
	for _, tt := range tests {
		if _, err := v.Verify(context.Background(), tt.token); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
	// Within the skew an expired token still passes.
	if _, err := v.Verify(context.Background(), op.Sign(map[string]any{"sub": "bob", "aud": "tollgate", "exp": now.Add(-20 * time.Second).Unix()})); err != nil {
		t.Fatalf("token expired 20s ago (skew 1m): %v", err)
	}
}

// jsonSerialized is a compact JWS in JWS's flattened JSON serialization
// (RFC 7515 section 7.2.2): the same signature over the same bytes, which a
// JWT (RFC 7519) never uses.
func jsonSerialized(t *testing.T, compact string) string {
	t.Helper()
	parts := strings.Split(compact, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %q", compact)
	}
	b, err := json.Marshal(map[string]string{"protected": parts[0], "payload": parts[1], "signature": parts[2]})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestKeyRotationIsPickedUp(t *testing.T) {
	t.Parallel()
	op := oidctest.Start(t, oidctest.User{Username: "carol"})
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	v, err := jwtauth.New(jwtauth.Config{Issuer: op.Issuer, Audiences: []string{"tollgate"},
		Now: func() time.Time { return time.Unix(0, clock.Load()) }})
	if err != nil {
		t.Fatal(err)
	}
	before := op.Sign(map[string]any{"sub": "carol", "aud": "tollgate"})
	if _, err := v.Verify(context.Background(), before); err != nil {
		t.Fatal(err)
	}
	op.RotateKeys()
	after := op.Sign(map[string]any{"sub": "carol", "aud": "tollgate", "jti": "2"})
	// Right after a fetch, an unknown key id does not make the verifier
	// fetch again (made-up key ids cannot hammer the issuer)...
	if _, err := v.Verify(context.Background(), after); !errors.Is(err, jwtauth.ErrInvalidToken) {
		t.Fatalf("token of an unknown key right after a fetch: %v", err)
	}
	// ...a second later it does, and the new key verifies.
	clock.Add(int64(1100 * time.Millisecond))
	if _, err := v.Verify(context.Background(), after); err != nil {
		t.Fatalf("token signed by the rotated key: %v", err)
	}
}

func TestIssuerUnavailable(t *testing.T) {
	t.Parallel()
	v := newVerifier(t, "http://127.0.0.1:1", "tollgate")
	op := oidctest.Start(t, oidctest.User{Username: "dan"})
	tok := op.Sign(map[string]any{"sub": "dan", "aud": "tollgate"})
	if _, err := v.Verify(context.Background(), tok); !errors.Is(err, jwtauth.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
}

func TestClaimPaths(t *testing.T) {
	t.Parallel()
	tok := &jwtauth.Token{Claims: map[string]any{"kubernetes.io": map[string]any{"namespace": "batch"}, "groups": []any{"a", "b"}}}
	if got := tok.String("/kubernetes.io/namespace"); got != "batch" {
		t.Fatalf("nested claim = %q", got)
	}
	if got := tok.Strings("groups"); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("groups = %q", got)
	}
	if !jwtauth.LooksLikeJWT("aaaaaa.bbbbbbbbb.ccccccc") || jwtauth.LooksLikeJWT("tg-abc") {
		t.Fatal("LooksLikeJWT")
	}
}
