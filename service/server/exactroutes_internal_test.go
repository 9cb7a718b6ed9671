package server

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestExactRoutesRouteAsTheMux: every request gets the answer the mux
// gives, whether the table or the mux serves it; the table holds the POST
// endpoints registered with or without a method.
func TestExactRoutesRouteAsTheMux(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	named := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { w.Header().Set("X-Handler", name) }
	}
	mux.HandleFunc("/v1/chat/completions", named("chat"))
	mux.HandleFunc("POST /v1/messages", named("messages"))
	mux.HandleFunc("GET /v1/responses/{id}", named("get-response"))
	mux.HandleFunc("/v1/", named("v1-fallback"))
	e := newExactRoutes(mux, "/v1/chat/completions", "/v1/messages", "/v1/responses", "/v1/absent")
	if len(e.post) != 2 || e.post["/v1/chat/completions"] == nil || e.post["/v1/messages"] == nil {
		t.Fatalf("table %v, want the chat and messages endpoints only", e.post)
	}
	for _, tc := range []struct{ method, target string }{
		{"POST", "/v1/chat/completions"},
		{"GET", "/v1/chat/completions"},
		{"POST", "/v1/messages"},
		{"GET", "/v1/messages"},
		{"POST", "/v1/chat%2Fcompletions"},
		{"POST", "/v1//chat/completions"},
		{"POST", "/v1/chat/completions/"},
		{"POST", "/v1/responses"},
		{"GET", "/v1/responses/resp_1"},
	} {
		t.Run(tc.method+" "+tc.target, func(t *testing.T) {
			viaMux, viaTable := httptest.NewRecorder(), httptest.NewRecorder()
			mux.ServeHTTP(viaMux, httptest.NewRequest(tc.method, tc.target, nil))
			e.ServeHTTP(viaTable, httptest.NewRequest(tc.method, tc.target, nil))
			if viaMux.Code != viaTable.Code || viaMux.Header().Get("X-Handler") != viaTable.Header().Get("X-Handler") ||
				viaMux.Header().Get("Location") != viaTable.Header().Get("Location") {
				t.Errorf("mux: %d %q %q; with the table: %d %q %q", viaMux.Code, viaMux.Header().Get("X-Handler"), viaMux.Header().Get("Location"),
					viaTable.Code, viaTable.Header().Get("X-Handler"), viaTable.Header().Get("Location"))
			}
		})
	}
}
