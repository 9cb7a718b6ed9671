package providers_test

import (
	"testing"

	"github.com/tollgate-dev/tollgate/providers"
)

// TestTextContents: contents come from the array while it has room, then
// from new allocations; each holds its own text, and an append to one
// leaves the next as it was.
func TestTextContents(t *testing.T) {
	t.Parallel()
	tc := make(providers.TextContents, 2)
	a, b, c := tc.Next("a"), tc.Next("b"), tc.Next("c")
	for i, got := range [][]providers.Part{a, b, c} {
		want := string(rune('a' + i))
		if len(got) != 1 || got[0] != providers.TextPart(want) {
			t.Fatalf("content %d = %+v, want one part %q", i, got, want)
		}
	}
	if &a[0] == &c[0] || &b[0] == &c[0] {
		t.Error("the third content shares the array that had room for two")
	}
	a = append(a, providers.TextPart("more"))
	if b[0].Text != "b" || len(a) != 2 {
		t.Errorf("an append to the first content changed the second: %q", b[0].Text)
	}
}
