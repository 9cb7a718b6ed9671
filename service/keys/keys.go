// Package keys mints and checks gateway secrets: virtual-key secrets, which
// are stored only as SHA-256 hashes, and the admin token.
package keys

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"fmt"
	"strings"
)

// Prefix starts every virtual-key secret, so leaked keys are recognisable
// by secret scanners.
const Prefix = "tg-"

// displayLen is how many characters of a secret are kept for display.
const displayLen = len(Prefix) + 6

var encoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Secret is a freshly minted virtual-key secret.
type Secret struct {
	// Plain is the secret to hand to the user once. Never store or log it.
	Plain string
	// Hash is SHA-256 of Plain, the only form that is stored.
	Hash [32]byte
	// Display is a short prefix of Plain for recognising the key in lists.
	Display string
}

// Generate mints a secret with 256 bits of entropy.
func Generate() (Secret, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return Secret{}, fmt.Errorf("keys: random: %w", err)
	}
	plain := Prefix + encoding.EncodeToString(b[:])
	return Secret{Plain: plain, Hash: Hash(plain), Display: plain[:displayLen]}, nil
}

// Hash returns the stored form of a secret.
func Hash(secret string) [32]byte {
	// Through a buffer on the stack: a conversion of a string longer than
	// 32 bytes (every key) would allocate.
	var buf [128]byte
	return sha256.Sum256(append(buf[:0], secret...))
}

// LooksLikeKey reports whether s has the shape of a virtual-key secret.
func LooksLikeKey(s string) bool { return strings.HasPrefix(s, Prefix) && len(s) > displayLen }

// Equal compares two hashes in constant time.
func Equal(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

// AdminToken checks the admin token in constant time.
type AdminToken struct {
	hash [32]byte
	set  bool
}

// NewAdminToken returns a checker for token; an empty token matches nothing.
func NewAdminToken(token string) AdminToken {
	if token == "" {
		return AdminToken{}
	}
	return AdminToken{hash: sha256.Sum256([]byte(token)), set: true}
}

// Matches reports whether s is the admin token. Both sides are hashed first
// so the comparison time depends on neither length nor content.
func (a AdminToken) Matches(s string) bool {
	h := sha256.Sum256([]byte(s))
	return subtle.ConstantTimeCompare(h[:], a.hash[:]) == 1 && a.set
}

// NewID returns a new public key id such as "key_k3m9x2b7q4tz8w5n". Ids are
// random and unrelated to the secret.
func NewID() (string, error) {
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("keys: random: %w", err)
	}
	return "key_" + encoding.EncodeToString(b[:]), nil
}
