package rpc

import "testing"

// TestLegacyAdminPathsAreUnique: every method of the three admin services
// has one alias; two services defining the same method name would make the
// old path ambiguous.
func TestLegacyAdminPathsAreUnique(t *testing.T) {
	n := 0
	for _, sd := range adminServices() {
		n += sd.Methods().Len()
	}
	if got := len(legacyAdminPaths()); got != n || n == 0 {
		t.Fatalf("%d aliases for %d methods", got, n)
	}
}
