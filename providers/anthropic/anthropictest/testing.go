package anthropictest

import (
	"net/http/httptest"
	"testing"
)

// Start starts a fake on a local test server and returns it with its base
// URL (without "/v1", as providers.Config.BaseURL expects). Both are closed
// when the test ends.
func Start(tb testing.TB, opts ...Option) (*Server, string) {
	tb.Helper()
	f := New(opts...)
	srv := httptest.NewServer(f)
	tb.Cleanup(func() {
		f.Close() // release hanging handlers first, or srv.Close waits for them
		srv.Close()
	})
	return f, srv.URL
}
