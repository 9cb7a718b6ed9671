package upstream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tollgate-dev/tollgate/providers"
)

// Sender sends requests to one upstream the way every adapter does: static
// headers and authentication on a context-bound request, non-2xx answers
// turned into *providers.Error by the adapter's StatusError, bounded body
// reads, and the credential redacted from every error. An adapter builds
// one at construction, after its options are applied.
type Sender struct {
	// Name prefixes build errors, e.g. "openai".
	Name string
	// Provider is the provider instance id.
	Provider string
	// Secret is the credential to redact from errors.
	Secret string
	Client *http.Client
	// Header holds static headers sent with every request.
	Header http.Header
	// Auth sets the authentication header(s); nil for none.
	Auth func(h http.Header)
	// Sign, when set, is called last with the complete request and its
	// body (AWS SigV4 signs method, URL, headers and payload). Its error
	// fails the request as it is: it must already be a *providers.Error
	// (or ctx.Err()) without the credential.
	Sign func(ctx context.Context, req *http.Request, body []byte) error
	// StatusError maps a non-2xx answer and its (bounded) body.
	StatusError func(status int, h http.Header, body []byte) *providers.Error
	// MaxResponseBytes and MaxErrorBytes bound the bodies read.
	MaxResponseBytes, MaxErrorBytes int64
}

// Send performs one request and returns a 2xx response. When ctx carries
// a chunk timeout (providers.WithChunkTimeout), reading the body fails
// with a *ChunkTimeoutError once the upstream has sent nothing for that
// long after its first bytes. Any other status
// is returned as the StatusError with the body consumed and closed; a
// failure to get an answer as a transport error (or ctx.Err()).
func (s *Sender) Send(ctx context.Context, method, target string, body []byte, accept string) (*http.Response, error) {
	return s.SendHeader(ctx, method, target, body, accept, nil)
}

// SendHeader is Send with headers of this request only (set after the
// static ones, before authentication, which they cannot override).
func (s *Sender) SendHeader(ctx context.Context, method, target string, body []byte, accept string, header http.Header) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return nil, fmt.Errorf("%s: provider %s: build request: %w", s.Name, s.Provider, RedactErr(s.Secret, err))
	}
	for k, v := range s.Header {
		req.Header[k] = v
	}
	for k, v := range header {
		req.Header[http.CanonicalHeaderKey(k)] = v
	}
	if body != nil {
		req.Header["Content-Type"] = jsonType
	}
	req.Header["Accept"] = headerValue(accept)
	forwardContext(ctx, req.Header)
	if s.Auth != nil {
		s.Auth(req.Header)
	}
	if s.Sign != nil {
		if err := s.Sign(ctx, req, body); err != nil {
			return nil, err
		}
	}
	resp, err := s.do(req)
	if err != nil {
		return nil, providers.TransportError(ctx, s.Provider, RedactErr(s.Secret, err))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, rerr := ReadErrorBody(resp, s.MaxErrorBytes)
		if rerr != nil && len(b) == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, s.StatusError(resp.StatusCode, resp.Header, b)
	}
	if d := providers.ChunkTimeout(ctx); d > 0 {
		resp.Body = newIdleBody(resp.Body, d)
	}
	return resp, nil
}

// do sends req as s.Client.Do does. A client with nothing of its own to
// add (no cookie jar, timeout or redirect policy, no credentials in the
// URL) is bypassed for its transport, which spares every request the
// client's redirect bookkeeping (a copy of the header, the URL and the
// body's rewind); an answer the client would follow as a redirect is then
// closed and the request sent again through the client, which follows
// it. Transport errors are wrapped in *url.Error as the client wraps
// them.
func (s *Sender) do(req *http.Request) (*http.Response, error) {
	c := s.Client
	if c.Transport == nil || c.Jar != nil || c.Timeout != 0 || c.CheckRedirect != nil || req.URL.User != nil ||
		req.Body != nil && req.GetBody == nil {
		return c.Do(req)
	}
	resp, err := c.Transport.RoundTrip(req)
	if err != nil {
		return nil, clientError(req, err)
	}
	if !followed(resp) {
		if resp.Body == nil {
			resp.Body = http.NoBody
		}
		return resp, nil
	}
	// As the client does before it follows: drain a little of the body so
	// that the connection can be reused.
	_, _ = io.CopyN(io.Discard, resp.Body, 2<<10)
	resp.Body.Close()
	again := req.Clone(req.Context())
	if req.GetBody != nil {
		if again.Body, err = req.GetBody(); err != nil {
			return nil, clientError(req, err)
		}
	}
	return c.Do(again)
}

// clientError wraps a transport's error as http.Client does ("Post
// \"http://…\": …"; the URL has no password where the client is bypassed).
func clientError(req *http.Request, err error) error {
	op := req.Method
	if op != "" {
		op = op[:1] + strings.ToLower(op[1:])
	}
	return &url.Error{Op: op, URL: req.URL.String(), Err: err}
}

// followed reports whether http.Client would follow resp as a redirect.
func followed(resp *http.Response) bool {
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return resp.Header.Get("Location") != ""
	}
	return false
}

// ReadBody reads a 2xx body of at most MaxResponseBytes and closes it.
func (s *Sender) ReadBody(ctx context.Context, resp *http.Response) ([]byte, error) {
	b, err := ReadBody(resp, s.MaxResponseBytes)
	if errors.Is(err, ErrBodyTooLarge) {
		return nil, &providers.Error{Provider: s.Provider, Status: resp.StatusCode, Kind: providers.KindBadResponse,
			Message: "response body exceeds " + strconv.FormatInt(s.MaxResponseBytes, 10) + " bytes"}
	}
	if err != nil {
		return nil, providers.TransportError(ctx, s.Provider, RedactErr(s.Secret, err))
	}
	return b, nil
}

// BadResponse reports an undecodable 2xx answer.
func (s *Sender) BadResponse(status int, what string, err error) error {
	return &providers.Error{Provider: s.Provider, Status: status, Kind: providers.KindBadResponse,
		Message: Redact(s.Secret, "decode "+what+": "+err.Error()), Err: err}
}

// Header values the requests of every adapter share (read only: the
// transports copy a request's header before they change it).
var (
	jsonType        = []string{"application/json"}
	eventStreamType = []string{"text/event-stream"}
)

// headerValue returns a one-value header of v, shared for the usual Accept
// values.
func headerValue(v string) []string {
	switch v {
	case "application/json":
		return jsonType
	case "text/event-stream":
		return eventStreamType
	}
	return []string{v}
}
