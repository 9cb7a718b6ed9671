package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/providers"
)

// TestSenderAnswersAsTheClient: whether Send bypasses the client for its
// transport or not, the caller gets the answer, and the error, that
// http.Client.Do gives: redirects followed as the client follows them
// (307/308 sent again with the body, 301–303 as a GET), a redirect without
// a Location returned as it is, transport errors wrapped as the client
// wraps them.
func TestSenderAnswersAsTheClient(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("/final", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, r.Method+" "+string(b))
	})
	mux.HandleFunc("/redirect/{code}", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Location", "/final")
		code := map[string]int{"301": 301, "302": 302, "303": 303, "307": 307, "308": 308}[r.PathValue("code")]
		w.WriteHeader(code)
		_, _ = io.WriteString(w, "moved")
	})
	mux.HandleFunc("/nolocation", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusFound)
		_, _ = io.WriteString(w, "no location")
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String()
	ln.Close()

	statusError := func(status int, _ http.Header, body []byte) *providers.Error {
		return &providers.Error{Provider: "p", Status: status, Message: "answer " + string(body)}
	}
	direct := &Sender{Name: "test", Provider: "p", Client: NewHTTPClient(), StatusError: statusError, MaxErrorBytes: 1 << 10}
	viaClient := &Sender{Name: "test", Provider: "p", Client: NewHTTPClient(), StatusError: statusError, MaxErrorBytes: 1 << 10}
	viaClient.Client.CheckRedirect = func(*http.Request, []*http.Request) error { return nil } // the default policy, but not bypassed
	send := func(s *Sender, target string) string {
		resp, err := s.Send(context.Background(), http.MethodPost, target, []byte(`{"q":1}`), "text/plain")
		if err != nil {
			// The cause too: the transport's error as the client wraps it.
			return "error: " + err.Error() + ": " + fmt.Sprint(errors.Unwrap(err))
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.Status + ": " + string(b)
	}
	for _, tt := range []struct{ name, target, want string }{
		{"no redirect", srv.URL + "/final", `200 OK: POST {"q":1}`},
		{"301", srv.URL + "/redirect/301", "200 OK: GET "},
		{"302", srv.URL + "/redirect/302", "200 OK: GET "},
		{"303", srv.URL + "/redirect/303", "200 OK: GET "},
		{"307", srv.URL + "/redirect/307", `200 OK: POST {"q":1}`},
		{"308", srv.URL + "/redirect/308", `200 OK: POST {"q":1}`},
		{"302 without a location", srv.URL + "/nolocation", "error: provider p: unknown (status 302): answer no location"},
		{"refused", refused + "/final", "error: provider p: connection: upstream request failed: Post \"" + refused + "/final\": dial tcp"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, want := send(direct, tt.target), send(viaClient, tt.target)
			if got != want {
				t.Errorf("bypassing the client: %q; through it: %q", got, want)
			}
			if !strings.HasPrefix(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	// The test would pass with both senders going through the client: the
	// one that may bypass it must have done so.
	if direct.Client.Jar != nil || direct.Client.Timeout != 0 || direct.Client.CheckRedirect != nil {
		t.Fatal("the direct sender's client has a policy of its own: it is not bypassed")
	}
}
