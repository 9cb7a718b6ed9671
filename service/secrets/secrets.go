// Package secrets seals provider credentials and other stored secrets with
// AES-256-GCM under the gateway's master key, so that the database alone
// never reveals them.
//
// The master key is a keyring: one key seals (the primary), every key of
// the ring opens what it sealed. Sealed values name the key that sealed
// them, so a master key can be rotated while the gateway serves: add the
// new key to every replica's ring, make it the primary and re-seal every
// stored value (Reseal), then drop the old key once nothing is sealed with
// it (KeyIDOf tells).
package secrets

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
)

// KeySize is the master key size in bytes (AES-256).
const KeySize = 32

// Sealed value formats: the first byte is the version.
//
//	v1: 1 | nonce (12) | ciphertext+tag             (no key id; every key is tried)
//	v2: 2 | key id (8) | nonce (12) | ciphertext+tag  (AAD: the 9-byte header and the context)
const (
	versionLegacy byte = 1
	versionKeyed  byte = 2
	keyIDLen           = 8
)

// LegacyKeyID is what KeyIDOf returns for values sealed before sealed
// values named their key.
const LegacyKeyID = "legacy"

// ErrOpen means a sealed value could not be opened: the master key is wrong
// or the value was tampered with or moved to another record.
var ErrOpen = errors.New("secrets: cannot open sealed value (wrong master key or tampered data)")

// ErrUnknownKey means a key id names no key of the keyring.
var ErrUnknownKey = errors.New("secrets: no such key in the master keyring")

// Sealer encrypts and decrypts secrets under a keyring. It is safe for
// concurrent use; its keys can be replaced while it is used (SetKeys,
// SetPrimary).
type Sealer struct {
	ring atomic.Pointer[ring]
}

type key struct {
	id   [keyIDLen]byte
	aead cipher.AEAD
}

type ring struct {
	keys    []*key // in configuration order
	primary *key
	// preferred is the primary asked for by SetPrimary, kept across
	// SetKeys so that a reloaded keyring keeps sealing with it.
	preferred string
}

// KeyID returns the id of a master key: 16 hex digits derived from the key
// (not secret; the key cannot be recovered from it).
func KeyID(masterKey []byte) string {
	id := keyID(masterKey)
	return hex.EncodeToString(id[:])
}

func keyID(masterKey []byte) [keyIDLen]byte {
	h := sha256.Sum256(append([]byte("tollgate master key id\x00"), masterKey...))
	var id [keyIDLen]byte
	copy(id[:], h[:])
	return id
}

// ParseMasterKey decodes a 32-byte master key given as 64 hex digits or as
// standard or URL-safe base64.
func ParseMasterKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("secrets: master key is empty")
	}
	if len(s) == 2*KeySize {
		if k, err := hex.DecodeString(s); err == nil {
			return k, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil && len(k) == KeySize {
			return k, nil
		}
	}
	return nil, fmt.Errorf("secrets: master key must be %d bytes as 64 hex digits or base64", KeySize)
}

// ParseKeyring decodes one or more master keys separated by commas,
// spaces or new lines; lines starting with '#' are comments. The first key
// is the primary unless SetPrimary chooses another.
func ParseKeyring(s string) ([][]byte, error) {
	var out [][]byte
	seen := map[string]bool{}
	for line := range strings.Lines(s) {
		if t := strings.TrimSpace(line); strings.HasPrefix(t, "#") {
			continue
		}
		for f := range strings.FieldsFuncSeq(line, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r' }) {
			k, err := ParseMasterKey(f)
			if err != nil {
				return nil, fmt.Errorf("key %d of the keyring: %w", len(out)+1, err)
			}
			if id := KeyID(k); !seen[id] {
				seen[id] = true
				out = append(out, k)
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("secrets: the master keyring holds no key")
	}
	return out, nil
}

// NewSealer returns a Sealer for a single 32-byte master key.
func NewSealer(masterKey []byte) (*Sealer, error) { return NewKeyring([][]byte{masterKey}) }

// NewKeyring returns a Sealer for a keyring; the first key seals.
func NewKeyring(masterKeys [][]byte) (*Sealer, error) {
	s := &Sealer{}
	if err := s.SetKeys(masterKeys); err != nil {
		return nil, err
	}
	return s, nil
}

func newKey(masterKey []byte) (*key, error) {
	if len(masterKey) != KeySize {
		return nil, fmt.Errorf("secrets: master key has %d bytes, want %d", len(masterKey), KeySize)
	}
	block, err := aes.NewCipher(masterKey)
	if err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	return &key{id: keyID(masterKey), aead: aead}, nil
}

// SetKeys replaces the keyring (a reloaded key file, say). The primary
// stays the one SetPrimary chose when the new ring holds it, else it is
// the first key.
func (s *Sealer) SetKeys(masterKeys [][]byte) error {
	if len(masterKeys) == 0 {
		return errors.New("secrets: the master keyring holds no key")
	}
	r := &ring{}
	for _, mk := range masterKeys {
		k, err := newKey(mk)
		if err != nil {
			return err
		}
		r.keys = append(r.keys, k)
	}
	r.primary = r.keys[0]
	if old := s.ring.Load(); old != nil && old.preferred != "" {
		r.preferred = old.preferred
		if k := r.find(old.preferred); k != nil {
			r.primary = k
		}
	}
	s.ring.Store(r)
	return nil
}

// SetPrimary makes the key with id the one that seals; ErrUnknownKey if
// the keyring has no such key (the choice is remembered, and takes effect
// if a later SetKeys brings the key).
func (s *Sealer) SetPrimary(id string) error {
	for {
		old := s.ring.Load()
		r := *old
		r.preferred = id
		k := r.find(id)
		if k != nil {
			r.primary = k
		}
		if s.ring.CompareAndSwap(old, &r) {
			if k == nil {
				return fmt.Errorf("%w: %s", ErrUnknownKey, id)
			}
			return nil
		}
	}
}

func (r *ring) find(id string) *key {
	for _, k := range r.keys {
		if hex.EncodeToString(k.id[:]) == id {
			return k
		}
	}
	return nil
}

// PrimaryID returns the id of the key that seals.
func (s *Sealer) PrimaryID() string {
	id := s.ring.Load().primary.id
	return hex.EncodeToString(id[:])
}

// KeyIDs returns the ids of the keyring's keys, in configuration order.
func (s *Sealer) KeyIDs() []string {
	r := s.ring.Load()
	out := make([]string, len(r.keys))
	for i, k := range r.keys {
		out[i] = hex.EncodeToString(k.id[:])
	}
	return out
}

// HasKey reports whether the keyring holds the key with id.
func (s *Sealer) HasKey(id string) bool { return s.ring.Load().find(id) != nil }

// Seal encrypts plaintext with the primary key, bound to context (for
// example the provider id), so a sealed value copied to another record
// does not open.
func (s *Sealer) Seal(plaintext []byte, context string) ([]byte, error) {
	return seal(s.ring.Load().primary, plaintext, context)
}

func seal(k *key, plaintext []byte, context string) ([]byte, error) {
	hdr := 1 + keyIDLen
	n := k.aead.NonceSize()
	out := make([]byte, hdr+n, hdr+n+len(plaintext)+k.aead.Overhead())
	out[0] = versionKeyed
	copy(out[1:hdr], k.id[:])
	if _, err := rand.Read(out[hdr:]); err != nil {
		return nil, fmt.Errorf("secrets: nonce: %w", err)
	}
	return k.aead.Seal(out, out[hdr:hdr+n], plaintext, aad(out[:hdr], context)), nil
}

func aad(hdr []byte, context string) []byte {
	return append(bytes.Clone(hdr), context...)
}

// Open decrypts a value sealed with the same context by any key of the
// keyring.
func (s *Sealer) Open(sealed []byte, context string) ([]byte, error) {
	r := s.ring.Load()
	if len(sealed) == 0 {
		return nil, ErrOpen
	}
	switch sealed[0] {
	case versionKeyed:
		hdr := 1 + keyIDLen
		if len(sealed) < hdr {
			return nil, ErrOpen
		}
		for _, k := range r.keys {
			if !bytes.Equal(k.id[:], sealed[1:hdr]) {
				continue
			}
			n := k.aead.NonceSize()
			if len(sealed) < hdr+n+k.aead.Overhead() {
				return nil, ErrOpen
			}
			pt, err := k.aead.Open(nil, sealed[hdr:hdr+n], sealed[hdr+n:], aad(sealed[:hdr], context))
			if err != nil {
				return nil, ErrOpen
			}
			return pt, nil
		}
		return nil, ErrOpen
	case versionLegacy:
		for _, k := range r.keys {
			n := k.aead.NonceSize()
			if len(sealed) < 1+n+k.aead.Overhead() {
				return nil, ErrOpen
			}
			if pt, err := k.aead.Open(nil, sealed[1:1+n], sealed[1+n:], []byte(context)); err == nil {
				return pt, nil
			}
		}
	}
	return nil, ErrOpen
}

// KeyIDOf returns the id of the key that sealed a value, LegacyKeyID for
// values sealed before key ids were recorded, "" for what is no sealed
// value.
func KeyIDOf(sealed []byte) string {
	switch {
	case len(sealed) > 1+keyIDLen && sealed[0] == versionKeyed:
		return hex.EncodeToString(sealed[1 : 1+keyIDLen])
	case len(sealed) > 1 && sealed[0] == versionLegacy:
		return LegacyKeyID
	}
	return ""
}

// Reseal returns the value sealed anew with the primary key, and whether
// it changed: a value the primary key already sealed is returned as is.
func (s *Sealer) Reseal(sealed []byte, context string) ([]byte, bool, error) {
	r := s.ring.Load()
	if KeyIDOf(sealed) == hex.EncodeToString(r.primary.id[:]) {
		return sealed, false, nil
	}
	pt, err := s.Open(sealed, context)
	if err != nil {
		return nil, false, err
	}
	out, err := seal(r.primary, pt, context)
	clear(pt)
	if err != nil {
		return nil, false, err
	}
	return out, true, nil
}
