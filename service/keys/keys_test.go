package keys_test

import (
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/service/keys"
)

func TestGenerate(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 100 {
		s, err := keys.Generate()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(s.Plain, keys.Prefix) || !keys.LooksLikeKey(s.Plain) {
			t.Fatalf("secret %q lacks the prefix", s.Plain)
		}
		if len(s.Plain) < 50 {
			t.Fatalf("secret too short: %d", len(s.Plain))
		}
		if s.Hash != keys.Hash(s.Plain) {
			t.Fatal("hash mismatch")
		}
		if !strings.HasPrefix(s.Plain, s.Display) || len(s.Display) >= len(s.Plain)/2 {
			t.Fatalf("display %q reveals too much or is not a prefix", s.Display)
		}
		if seen[s.Plain] {
			t.Fatal("duplicate secret")
		}
		seen[s.Plain] = true
	}
}

// Hash is SHA-256 of the secret, for secrets of any length, and hashing a
// key's secret (on every request) allocates nothing.
func TestHash(t *testing.T) {
	for _, n := range []int{0, 1, 32, 55, 127, 128, 129, 4096} {
		s := strings.Repeat("k", n)
		if keys.Hash(s) != sha256.Sum256([]byte(s)) {
			t.Errorf("Hash of %d bytes differs from SHA-256", n)
		}
	}
	s, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	if a := testing.AllocsPerRun(100, func() { keys.Hash(s.Plain) }); a != 0 {
		t.Errorf("Hash of a key's secret: %v allocations, want 0", a)
	}
}

func TestAdminToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, token, try string
		want             bool
	}{
		{"match", "s3cret", "s3cret", true},
		{"mismatch", "s3cret", "s3creT", false},
		{"prefix", "s3cret", "s3cre", false},
		{"empty try", "s3cret", "", false},
		{"unset token matches nothing", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := keys.NewAdminToken(tt.token).Matches(tt.try); got != tt.want {
				t.Fatalf("Matches = %v, want %v", got, tt.want)
			}
		})
	}
}
