package fakeupstream

import (
	"net/http/httptest"
	"testing"
)

// StartOpenAI starts a fake on a local test server and returns it with its
// base URL (ending in "/v1"). Both are closed when the test ends.
func StartOpenAI(tb testing.TB, opts ...Option) (*OpenAI, string) {
	tb.Helper()
	o := NewOpenAI(opts...)
	srv := httptest.NewServer(o)
	tb.Cleanup(func() {
		o.Close() // release hanging handlers first, or srv.Close waits for them
		srv.Close()
	})
	return o, srv.URL + "/v1"
}
