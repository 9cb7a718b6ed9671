// Package vertextest is a fake Google Vertex AI written from its REST
// reference: an OAuth token endpoint that grants access tokens for
// JWT-bearer assertions signed by a test service-account key (generated
// per test), and the Vertex endpoints that accept only those tokens —
// Gemini's generateContent and streamGenerateContent (served by the
// Gemini fake, geminitest), Claude's rawPredict and streamRawPredict (an
// Anthropic body with anthropic_version "vertex-2023-10-16" and no model,
// served by the Anthropic fake, anthropictest) and text embeddings'
// :predict. Faults: the token endpoint can be made to fail, Vertex-level
// errors can be queued, and the Gemini and Anthropic fakes keep their own
// fault injection.
package vertextest

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/vertex"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream/fakehttp"
	"github.com/tollgate-dev/tollgate/providers/anthropic"
	"github.com/tollgate-dev/tollgate/providers/anthropic/anthropictest"
	"github.com/tollgate-dev/tollgate/providers/gemini/geminitest"
)

// The project and location Start's fake serves.
const (
	Project  = "tollgate-test"
	Location = "us-central1"
)

// Server is the fake; it is an http.Handler and safe for concurrent use.
type Server struct {
	// Gemini and Claude answer the publishers' models.
	Gemini *geminitest.Gemini
	Claude *anthropictest.Server

	mu       sync.Mutex
	sa       *ServiceAccount
	tokens   map[string]token
	tokenTTL time.Duration
	now      func() time.Time
	project  string
	location string
	errors   fakehttp.Queue[int]

	tokenRequests atomic.Int64
	failTokens    atomic.Int64
	unauthorized  atomic.Int64
	requests      fakehttp.Recorder
}

// New returns a fake for project and location.
func New(project, location string) *Server {
	return &Server{Gemini: geminitest.New(), Claude: anthropictest.New(), tokens: map[string]token{},
		tokenTTL: time.Hour, now: time.Now, project: project, location: location}
}

// Fixture is a started fake with its service account.
type Fixture struct {
	*Server
	// URL is the Vertex base URL; TokenURL the token endpoint.
	URL, TokenURL string
	// Account is the test service account whose key the provider uses.
	Account *ServiceAccount
}

// Start starts a fake with a fresh service account, closed when the test
// ends.
func Start(tb testing.TB) *Fixture {
	tb.Helper()
	f := New(Project, Location)
	srv := httptest.NewServer(f)
	tb.Cleanup(func() {
		f.Gemini.Close()
		f.Claude.Close()
		srv.Close()
	})
	sa, err := NewServiceAccount("tollgate@"+Project+".iam.gserviceaccount.com", srv.URL+"/token")
	if err != nil {
		tb.Fatal(err)
	}
	f.SetServiceAccount(sa)
	return &Fixture{Server: f, URL: srv.URL, TokenURL: srv.URL + "/token", Account: sa}
}

// SetServiceAccount sets the account whose assertions the token endpoint
// accepts.
func (f *Server) SetServiceAccount(sa *ServiceAccount) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sa = sa
}

// SetTokenTTL sets the lifetime of the access tokens issued from now on.
func (f *Server) SetTokenTTL(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokenTTL = d
}

// RevokeTokens forgets every access token issued.
func (f *Server) RevokeTokens() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.tokens)
}

// FailTokens makes the next n token requests fail with 503.
func (f *Server) FailTokens(n int) { f.failTokens.Add(int64(n)) }

// FailNext makes the next Vertex requests fail with the statuses given,
// as Google errors (429 RESOURCE_EXHAUSTED, 503 UNAVAILABLE, ...).
func (f *Server) FailNext(statuses ...int) { f.errors.Push(statuses...) }

// TokenRequests returns the number of token requests received.
func (f *Server) TokenRequests() int { return int(f.tokenRequests.Load()) }

// Unauthorized returns the number of Vertex requests refused for their
// token.
func (f *Server) Unauthorized() int { return int(f.unauthorized.Load()) }

// Requests returns the Vertex requests received (as sent, before any
// rewriting for the inner fakes).
func (f *Server) Requests() []fakehttp.Request { return f.requests.Requests() }

// googleError answers with Google's error object.
func googleError(w http.ResponseWriter, code int, status, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	fmt.Fprintf(w, `{"error":{"code":%d,"message":%q,"status":%q}}`, code, msg, status)
}

var statusNames = map[int]string{400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
	429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}

// ServeHTTP implements http.Handler.
func (f *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/token" {
		f.serveToken(w, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 32<<20))
	if err != nil {
		return
	}
	rec := fakehttp.NewRequest(r, body)
	f.requests.Record(rec)
	if !f.authorized(r) {
		f.unauthorized.Add(1)
		googleError(w, http.StatusUnauthorized, "UNAUTHENTICATED",
			"Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.")
		return
	}
	if status, ok := f.errors.Next(&rec, nil); ok {
		googleError(w, status, statusNames[status], "injected fault")
		return
	}
	// /v1/projects/{p}/locations/{l}/publishers/{pub}/models/{model}:{method}
	parts := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/")
	if len(parts) != 9 || parts[0] != "v1" || parts[1] != "projects" || parts[3] != "locations" || parts[5] != "publishers" || parts[7] != "models" {
		googleError(w, http.StatusNotFound, "NOT_FOUND", "The requested URL "+r.URL.Path+" was not found on this server.")
		return
	}
	if parts[2] != f.project || parts[4] != f.location {
		googleError(w, http.StatusForbidden, "PERMISSION_DENIED", "Permission denied on resource project "+parts[2]+" in "+parts[4]+".")
		return
	}
	name, err := url.PathUnescape(parts[8])
	model, method, ok := strings.Cut(name, ":")
	if err != nil || !ok {
		googleError(w, http.StatusNotFound, "NOT_FOUND", "Unknown method")
		return
	}
	switch pub := parts[6]; {
	case pub == "google" && method == "predict":
		f.predict(w, body)
	case pub == "google" && (method == "generateContent" || method == "streamGenerateContent"):
		f.forward(w, r, f.Gemini, "/v1/models/"+url.PathEscape(model)+":"+method, body, nil)
	case pub == "anthropic" && (method == "rawPredict" || method == "streamRawPredict"):
		f.claude(w, r, model, method == "streamRawPredict", body)
	default:
		googleError(w, http.StatusNotFound, "NOT_FOUND", "Publisher model projects/"+parts[2]+"/locations/"+parts[4]+"/publishers/"+pub+"/models/"+model+" was not found or your project does not have access to it.")
	}
}

// claude checks a rawPredict body and hands it to the Anthropic fake with
// the model from the URL.
func (f *Server) claude(w http.ResponseWriter, r *http.Request, model string, stream bool, body []byte) {
	switch {
	case !gjson.ValidBytes(body):
		googleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid JSON payload received.")
		return
	case gjson.GetBytes(body, "anthropic_version").String() != anthropic.VertexVersion:
		googleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", `anthropic_version: must be "vertex-2023-10-16"`)
		return
	case gjson.GetBytes(body, "model").Exists():
		googleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "model: Extra inputs are not permitted (the model is in the URL)")
		return
	case gjson.GetBytes(body, "stream").Bool() != stream:
		googleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "stream must be true for streamRawPredict and absent or false for rawPredict")
		return
	}
	body, _ = sjson.DeleteBytes(body, "anthropic_version")
	body, _ = sjson.SetBytes(body, "model", model)
	h := http.Header{"Anthropic-Version": {"2023-06-01"}}
	f.forward(w, r, f.Claude, "/v1/messages", body, h)
}

// forward serves the request with inner at path, streaming its answer.
func (f *Server) forward(w http.ResponseWriter, r *http.Request, inner http.Handler, path string, body []byte, h http.Header) {
	r2 := r.Clone(r.Context())
	r2.URL = &url.URL{Path: path, RawQuery: r.URL.RawQuery}
	r2.RequestURI = r2.URL.RequestURI()
	r2.Body = io.NopCloser(bytes.NewReader(body))
	r2.ContentLength = int64(len(body))
	r2.Header.Del("Authorization")
	for k, v := range h {
		r2.Header[k] = v
	}
	inner.ServeHTTP(w, r2)
}

// predict answers a text embedding model.
func (f *Server) predict(w http.ResponseWriter, body []byte) {
	var req schema.PredictRequest
	if err := apischema.Unmarshal(body, &req); err != nil || len(req.Instances) == 0 || len(req.Instances) > 250 {
		googleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "instances: 1 to 250 are required")
		return
	}
	dims := 8
	if req.Parameters != nil && req.Parameters.OutputDimensionality != nil {
		dims = *req.Parameters.OutputDimensionality
	}
	var out schema.PredictResponse
	for _, in := range req.Instances {
		var e schema.Embedding
		e.Values = vector(in.Content, dims)
		e.Statistics.TokenCount = int64(len(in.Content)+3) / 4
		out.Predictions = append(out.Predictions, schema.Prediction{Embeddings: e})
	}
	b, _ := apischema.Marshal(&out)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// vector is the fake's embedding of text: dims values from a hash.
func vector(text string, dims int) []float32 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(text))
	seed := h.Sum64()
	v := make([]float32, dims)
	for i := range v {
		seed = seed*6364136223846793005 + 1442695040888963407
		v[i] = float32(int64(seed>>40)%2000-1000) / 1000
	}
	return v
}
