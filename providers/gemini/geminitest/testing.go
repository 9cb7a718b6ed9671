package geminitest

import (
	"net/http/httptest"
	"testing"
)

// Start starts a fake on a local test server and returns it with its base
// URL (the host root; the adapter appends /v1beta/...). Both are closed
// when the test ends.
func Start(tb testing.TB, opts ...Option) (*Gemini, string) {
	tb.Helper()
	g := New(opts...)
	srv := httptest.NewServer(g)
	tb.Cleanup(func() {
		g.Close() // release hanging handlers first, or srv.Close waits for them
		srv.Close()
	})
	return g, srv.URL
}
