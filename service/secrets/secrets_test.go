package secrets_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/service/secrets"
)

func TestParseMasterKey(t *testing.T) {
	t.Parallel()
	raw := bytes.Repeat([]byte{0xab}, 32)
	tests := []struct {
		name    string
		in      string
		wantErr bool
	}{
		{"hex", hex.EncodeToString(raw), false},
		{"base64", "q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=", false},
		{"raw base64", "q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s", false},
		{"empty", "", true},
		{"short", "abcd", true},
		{"hex too short", strings.Repeat("a", 62), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k, err := secrets.ParseMasterKey(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil && !bytes.Equal(k, raw) {
				t.Fatalf("key = %x", k)
			}
		})
	}
}

func TestSealOpen(t *testing.T) {
	t.Parallel()
	s, err := secrets.NewSealer(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := secrets.NewSealer(bytes.Repeat([]byte{2}, 32))
	secret := []byte("sk-live-very-secret")
	sealed, err := s.Seal(secret, "openai-prod")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, secret) {
		t.Fatal("sealed value contains the plaintext")
	}
	again, _ := s.Seal(secret, "openai-prod")
	if bytes.Equal(sealed, again) {
		t.Fatal("two seals are equal: nonce reuse")
	}
	got, err := s.Open(sealed, "openai-prod")
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	for name, tc := range map[string]struct {
		s       *secrets.Sealer
		sealed  []byte
		context string
	}{
		"wrong key":     {other, sealed, "openai-prod"},
		"wrong context": {s, sealed, "anthropic"},
		"tampered":      {s, tampered, "openai-prod"},
		"truncated":     {s, sealed[:10], "openai-prod"},
		"empty":         {s, nil, "openai-prod"},
	} {
		if _, err := tc.s.Open(tc.sealed, tc.context); !errors.Is(err, secrets.ErrOpen) {
			t.Errorf("%s: err = %v, want ErrOpen", name, err)
		}
	}
}

func TestKeyring(t *testing.T) {
	t.Parallel()
	k1, k2 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	old, err := secrets.NewSealer(k1)
	if err != nil {
		t.Fatal(err)
	}
	sealed, _ := old.Seal([]byte("sk-1"), "p1")
	if secrets.KeyIDOf(sealed) != secrets.KeyID(k1) {
		t.Fatalf("key id of sealed = %s", secrets.KeyIDOf(sealed))
	}
	// Both keys open during the switch; the new one seals once primary.
	ring, _ := secrets.NewKeyring([][]byte{k1, k2})
	if err := ring.SetPrimary(secrets.KeyID(k2)); err != nil {
		t.Fatal(err)
	}
	if pt, err := ring.Open(sealed, "p1"); err != nil || string(pt) != "sk-1" {
		t.Fatalf("old value under the ring: %q, %v", pt, err)
	}
	re, changed, err := ring.Reseal(sealed, "p1")
	if err != nil || !changed || secrets.KeyIDOf(re) != secrets.KeyID(k2) {
		t.Fatalf("reseal: changed=%v key=%s err=%v", changed, secrets.KeyIDOf(re), err)
	}
	if _, again, _ := ring.Reseal(re, "p1"); again {
		t.Fatal("a value sealed by the primary was re-sealed")
	}
	// Once the old key is gone, the re-sealed value still opens; the old does not.
	onlyNew, _ := secrets.NewSealer(k2)
	if pt, err := onlyNew.Open(re, "p1"); err != nil || string(pt) != "sk-1" {
		t.Fatalf("re-sealed value under the new key alone: %q, %v", pt, err)
	}
	if _, err := onlyNew.Open(sealed, "p1"); !errors.Is(err, secrets.ErrOpen) {
		t.Fatalf("old value under the new key alone: %v", err)
	}
	// Tampering with the key id or the context fails.
	bad := bytes.Clone(re)
	bad[1] ^= 1
	if _, err := ring.Open(bad, "p1"); !errors.Is(err, secrets.ErrOpen) {
		t.Fatalf("tampered key id: %v", err)
	}
	if _, err := ring.Open(re, "p2"); !errors.Is(err, secrets.ErrOpen) {
		t.Fatalf("other context: %v", err)
	}
	// A reloaded keyring keeps the chosen primary.
	if err := ring.SetKeys([][]byte{k1, k2}); err != nil || ring.PrimaryID() != secrets.KeyID(k2) {
		t.Fatalf("primary after reload = %s, %v", ring.PrimaryID(), err)
	}
	if err := ring.SetPrimary("0000000000000000"); !errors.Is(err, secrets.ErrUnknownKey) {
		t.Fatalf("unknown primary: %v", err)
	}
}

func TestLegacySealedValuesStillOpen(t *testing.T) {
	t.Parallel()
	// A value in the format before key ids: 1 | nonce | ciphertext, AAD = context.
	k := bytes.Repeat([]byte{7}, 32)
	block, _ := aes.NewCipher(k)
	aead, _ := cipher.NewGCM(block)
	nonce := bytes.Repeat([]byte{9}, aead.NonceSize())
	legacy := append([]byte{1}, nonce...)
	legacy = aead.Seal(legacy, nonce, []byte("sk-legacy"), []byte("prov"))
	ring, _ := secrets.NewKeyring([][]byte{bytes.Repeat([]byte{8}, 32), k})
	if pt, err := ring.Open(legacy, "prov"); err != nil || string(pt) != "sk-legacy" {
		t.Fatalf("legacy value: %q, %v", pt, err)
	}
	if secrets.KeyIDOf(legacy) != secrets.LegacyKeyID {
		t.Fatalf("key id = %q", secrets.KeyIDOf(legacy))
	}
}

func TestParseKeyring(t *testing.T) {
	t.Parallel()
	a, b := strings.Repeat("ab", 32), strings.Repeat("cd", 32)
	ks, err := secrets.ParseKeyring("# new key first\n" + b + "\n" + a + ",\n" + a + "\n")
	if err != nil || len(ks) != 2 {
		t.Fatalf("keys = %d, %v", len(ks), err)
	}
	if _, err := secrets.ParseKeyring("# nothing\n"); err == nil {
		t.Fatal("empty keyring accepted")
	}
	if _, err := secrets.ParseKeyring(a + " short"); err == nil {
		t.Fatal("bad key accepted")
	}
}
