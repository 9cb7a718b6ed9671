// Package azuretest is a fake Azure OpenAI endpoint for tests of the Azure
// adapter and of the gateway.
//
// It enforces Azure's URL shape and credentials, then hands the request to
// a fake OpenAI upstream (internal/fakeupstream), which answers it: paths
// must be /openai/deployments/{deployment}/chat/completions or
// /embeddings with an api-version query parameter (404 "Resource not
// found" without one, 400 for a version not in [WithAPIVersions]); the
// "api-key" header must carry the key of [WithAPIKey], or the
// Authorization header the token of [WithBearerToken] (401 otherwise);
// and the deployment must be one of [WithDeployments] (404
// DeploymentNotFound otherwise). Azure ignores the body's "model", so the
// fake replaces it with the deployment name: answers report the deployment
// as their model.
//
// Every request is recorded as received ([Azure.Requests]). Replies,
// failure injection ([Azure.Enqueue], [ContentFilterFault],
// [RateLimitFault]) and cancellation counters come from the wrapped fake
// ([Azure.Upstream]).
package azuretest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream/fakehttp"
)

// maxBody bounds the request bodies the fake reads.
const maxBody = 32 << 20

// Request is a request as the fake received it.
type Request = fakeupstream.Request

type settings struct {
	apiKey      string
	token       string
	deployments []string
	versions    []string
	upstream    []fakeupstream.Option
}

// Option configures an Azure fake.
type Option func(*settings)

// WithAPIKey requires "api-key: key" (or the bearer token, when set).
// Without WithAPIKey and WithBearerToken any request is accepted.
func WithAPIKey(key string) Option { return func(s *settings) { s.apiKey = key } }

// WithBearerToken accepts "Authorization: Bearer token" (Entra ID).
func WithBearerToken(token string) Option { return func(s *settings) { s.token = token } }

// WithDeployments limits the deployments that exist; by default any name
// is a deployment.
func WithDeployments(names ...string) Option {
	return func(s *settings) { s.deployments = slices.Clone(names) }
}

// WithAPIVersions limits the accepted api-version values; by default any
// non-empty version is accepted.
func WithAPIVersions(versions ...string) Option {
	return func(s *settings) { s.versions = slices.Clone(versions) }
}

// WithUpstream configures the wrapped fake OpenAI upstream.
func WithUpstream(opts ...fakeupstream.Option) Option {
	return func(s *settings) { s.upstream = append(s.upstream, opts...) }
}

// Azure is a fake Azure OpenAI resource. It is an http.Handler and safe
// for concurrent use.
type Azure struct {
	set settings
	up  *fakeupstream.OpenAI

	requests fakehttp.Recorder
}

// New returns a fake configured by opts.
func New(opts ...Option) *Azure {
	var s settings
	for _, o := range opts {
		o(&s)
	}
	return &Azure{set: s, up: fakeupstream.NewOpenAI(s.upstream...)}
}

// Start starts a fake on a local test server and returns it with its
// endpoint (the adapter's base URL). Both are closed when the test ends.
func Start(tb testing.TB, opts ...Option) (*Azure, string) {
	tb.Helper()
	a := New(opts...)
	srv := httptest.NewServer(a)
	tb.Cleanup(func() {
		a.up.Close() // release hanging handlers first, or srv.Close waits for them
		srv.Close()
	})
	return a, srv.URL
}

// Upstream returns the wrapped fake OpenAI upstream, for replies, fault
// injection and its InFlight and Cancelled counters.
func (a *Azure) Upstream() *fakeupstream.OpenAI { return a.up }

// Enqueue appends faults to the upstream's queue.
func (a *Azure) Enqueue(faults ...fakeupstream.Fault) { a.up.Enqueue(faults...) }

// Requests returns copies of the requests received so far, as received,
// oldest first.
func (a *Azure) Requests() []Request { return a.requests.Requests() }

// LastRequest returns a copy of the latest request, false if none came.
func (a *Azure) LastRequest() (Request, bool) { return a.requests.Last() }

// ContentFilterFault returns the 400 Azure sends when the prompt trips the
// content filter.
func ContentFilterFault() fakeupstream.Fault {
	return fakeupstream.Fault{Kind: fakeupstream.FaultStatus, Status: http.StatusBadRequest, Code: "content_filter", Param: "prompt",
		Message: "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. " +
			"Please modify your prompt and retry. To learn more about our content filtering policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766"}
}

// RateLimitFault returns the 429 Azure sends when a deployment's token or
// request quota is exhausted, with retry-after and retry-after-ms.
func RateLimitFault(retryAfter time.Duration) fakeupstream.Fault {
	secs := max(int((retryAfter+time.Second-1)/time.Second), 1)
	h := http.Header{}
	h.Set("Retry-After", strconv.Itoa(secs))
	h.Set("Retry-After-Ms", strconv.FormatInt(retryAfter.Milliseconds(), 10))
	h.Set("X-Ratelimit-Remaining-Requests", "0")
	h.Set("X-Ratelimit-Remaining-Tokens", "0")
	return fakeupstream.Fault{Kind: fakeupstream.FaultStatus, Status: http.StatusTooManyRequests, Code: "429", Header: h,
		Message: "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded token rate limit of your current OpenAI S0 pricing tier. " +
			"Please retry after " + strconv.Itoa(secs) + " seconds."}
}

// azureError writes Azure's {"error":{"code":...,"message":...}}.
func azureError(w http.ResponseWriter, status int, code, msg string) {
	b, err := json.Marshal(map[string]map[string]string{"error": {"code": code, "message": msg}})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// ServeHTTP implements http.Handler.
func (a *Azure) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return // the client went away while sending
	}
	a.requests.Record(fakehttp.NewRequest(r, body))

	deployment, op, ok := parsePath(r.URL.Path)
	version := r.URL.Query().Get("api-version")
	switch {
	case !ok || version == "":
		azureError(w, http.StatusNotFound, "404", "Resource not found")
		return
	case len(a.set.versions) > 0 && !slices.Contains(a.set.versions, version):
		azureError(w, http.StatusBadRequest, "BadRequest", "API version not supported")
		return
	case !a.authorized(r.Header):
		azureError(w, http.StatusUnauthorized, "401", "Access denied due to invalid subscription key or wrong API endpoint. "+
			"Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.")
		return
	case len(a.set.deployments) > 0 && !slices.Contains(a.set.deployments, deployment):
		azureError(w, http.StatusNotFound, "DeploymentNotFound", "The API deployment for this resource does not exist. "+
			"If you created the deployment within the last 5 minutes, please wait a moment and try again.")
		return
	}
	if r.Method == http.MethodPost {
		body = withModel(body, deployment)
	}
	up := r.Clone(r.Context())
	up.URL.Path, up.URL.RawPath, up.URL.RawQuery, up.RequestURI = "/v1/"+op, "", "", ""
	up.Header.Del("api-key")
	up.Header.Del("Authorization")
	up.Body = io.NopCloser(bytes.NewReader(body))
	up.ContentLength = int64(len(body))
	a.up.ServeHTTP(w, up)
}

// parsePath splits /openai/deployments/{deployment}/{op}.
func parsePath(path string) (deployment, op string, ok bool) {
	rest, ok := strings.CutPrefix(path, "/openai/deployments/")
	if !ok {
		return "", "", false
	}
	deployment, op, ok = strings.Cut(rest, "/")
	if !ok || deployment == "" || (op != "chat/completions" && op != "embeddings") {
		return "", "", false
	}
	return deployment, op, true
}

func (a *Azure) authorized(h http.Header) bool {
	if a.set.apiKey == "" && a.set.token == "" {
		return true
	}
	if a.set.apiKey != "" && h.Get("api-key") == a.set.apiKey {
		return true
	}
	return a.set.token != "" && h.Get("Authorization") == "Bearer "+a.set.token
}

// withModel sets the JSON body's model to the deployment; other bodies are
// passed on unchanged for the upstream to reject.
func withModel(body []byte, deployment string) []byte {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return body
	}
	q, err := json.Marshal(deployment)
	if err != nil {
		return body
	}
	m["model"] = q
	out, err := json.Marshal(m)
	if err != nil {
		return body
	}
	return out
}
