package secrets_test

import (
	"bytes"
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
