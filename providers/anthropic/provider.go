package anthropic

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/sjson"

	schema "github.com/tollgate-dev/tollgate/internal/apischema/anthropic"
	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/providers/internal/upstream"
)

// DefaultBaseURL is the base URL used when the config names none.
const DefaultBaseURL = "https://api.anthropic.com"

// DefaultVersion is the anthropic-version header sent unless the client
// or the anthropic_version setting names one.
const DefaultVersion = schema.DefaultVersion

// DefaultMaxTokens is the max_tokens sent when a request sets no
// MaxTokens and the default_max_tokens setting is absent. The Messages API
// requires max_tokens.
const DefaultMaxTokens = 4096

// Dialect is the wire format name reported in Capabilities; requests whose
// Source has it are passed through.
const Dialect = providers.DialectAnthropic

// API paths relative to the base URL.
const (
	pathMessages    = "/v1/messages"
	pathCountTokens = "/v1/messages/count_tokens"
	pathModels      = "/v1/models"
)

// Limits on bodies read into memory.
const (
	maxResponseBytes = 64 << 20
	maxErrorBytes    = 64 << 10
)

// Structured-output modes of the structured_outputs setting.
const (
	structuredPrompt = "prompt"
	structuredNative = "native"
)

// AuthFunc sets the credential on an outgoing request's headers.
type AuthFunc func(h http.Header)

// Option customises a Provider.
type Option func(*Provider)

// WithAuth replaces the default "x-api-key: <APIKey>" header, e.g. with
// "Authorization: Bearer <token>" for Anthropic-compatible gateways. The
// function is called for every request; Config.APIKey is still redacted
// from upstream error messages.
func WithAuth(f AuthFunc) Option {
	return func(p *Provider) { p.auth = f }
}

// WithClock replaces time.Now, which the adapter uses to interpret
// retry-after dates and to stamp ChatResponse.Created.
func WithClock(now func() time.Time) Option {
	return func(p *Provider) { p.now = now }
}

// RequestAuth authenticates a complete outgoing request; it returns a
// *providers.Error (or ctx.Err()) when it cannot.
type RequestAuth func(ctx context.Context, req *http.Request, body []byte) error

// VertexVersion is the anthropic_version Claude on Vertex AI takes in the
// body.
const VertexVersion = "vertex-2023-10-16"

// WithVertex makes the adapter call Claude on Vertex AI: Messages
// requests go to target(model, stream) (the model's :rawPredict or
// :streamRawPredict URL) with "model" left out of the body and
// "anthropic_version" set in it, authenticated by auth (an OAuth access
// token) instead of an API key.
func WithVertex(target func(model string, stream bool) string, auth RequestAuth) Option {
	return func(p *Provider) { p.vertexTarget, p.requestAuth = target, auth }
}

// Provider is the Anthropic Messages API adapter. It is safe for
// concurrent use.
type Provider struct {
	// up sends the requests (built by New after the options).
	up      upstream.Sender
	id      string
	apiKey  string
	baseURL string
	client  *http.Client
	auth    AuthFunc
	// header holds the static headers (anthropic-version, anthropic-beta).
	header http.Header
	// betas are the beta setting's features, sent with every request.
	betas []string
	// defaultMaxTokens is sent when a request sets no MaxTokens.
	defaultMaxTokens int
	// structured is structuredPrompt or structuredNative.
	structured string
	now        func() time.Time
	// vertexTarget and requestAuth are set for Claude on Vertex AI.
	vertexTarget func(model string, stream bool) string
	requestAuth  RequestAuth
}

var (
	_ providers.Provider     = (*Provider)(nil)
	_ providers.ModelLister  = (*Provider)(nil)
	_ providers.TokenCounter = (*Provider)(nil)
	_ providers.Checker      = (*Provider)(nil)
)

// New returns an adapter for cfg. Settings are described in the package
// documentation; unknown settings are ignored.
func New(cfg providers.Config, opts ...Option) (*Provider, error) {
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("anthropic: provider %s: base url: %w", cfg.ID, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("anthropic: provider %s: base url %q must be absolute http(s)", cfg.ID, u.Redacted())
	}
	p := &Provider{
		id:               cfg.ID,
		apiKey:           cfg.APIKey,
		baseURL:          strings.TrimRight(base, "/"),
		client:           cfg.HTTPClient,
		header:           make(http.Header),
		defaultMaxTokens: DefaultMaxTokens,
		structured:       structuredPrompt,
		now:              time.Now,
	}
	if err := p.applySettings(cfg.Settings); err != nil {
		return nil, fmt.Errorf("anthropic: provider %s: %w", cfg.ID, err)
	}
	if p.client == nil {
		p.client = upstream.NewHTTPClient()
	}
	p.auth = p.apiKeyHeader
	for _, o := range opts {
		o(p)
	}
	p.up = upstream.Sender{Name: "anthropic", Provider: p.id, Secret: p.apiKey, Client: p.client, Header: p.header,
		Auth: p.auth, StatusError: p.statusError, MaxResponseBytes: maxResponseBytes, MaxErrorBytes: maxErrorBytes}
	if p.requestAuth != nil {
		p.up.Auth, p.up.Sign = nil, p.requestAuth
	}
	return p, nil
}

func (p *Provider) applySettings(s map[string]string) error {
	version := DefaultVersion
	if v := strings.TrimSpace(s["anthropic_version"]); v != "" {
		version = v
	}
	p.header.Set("anthropic-version", version)
	if v := strings.TrimSpace(s["beta"]); v != "" {
		p.header.Set("anthropic-beta", v)
		p.betas = splitBetas(nil, v)
	}
	if v := strings.TrimSpace(s["default_max_tokens"]); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("setting default_max_tokens: %w", err)
		}
		if n < 1 {
			return fmt.Errorf("setting default_max_tokens: %d is not positive", n)
		}
		p.defaultMaxTokens = n
	}
	switch v := strings.TrimSpace(s["structured_outputs"]); v {
	case "", structuredPrompt:
	case structuredNative:
		p.structured = structuredNative
	default:
		return fmt.Errorf("setting structured_outputs: %q is neither %q nor %q", v, structuredPrompt, structuredNative)
	}
	return nil
}

// ID returns the provider instance id.
func (p *Provider) ID() string { return p.id }

// Capabilities reports tools, images and stream usage; Anthropic has no
// embeddings API.
func (p *Provider) Capabilities() providers.Capabilities {
	return providers.Capabilities{
		Dialect:     Dialect,
		Tools:       true,
		Images:      true,
		StreamUsage: true,
	}
}

func (p *Provider) apiKeyHeader(h http.Header) {
	if p.apiKey != "" {
		h.Set("x-api-key", p.apiKey)
	}
}

// send performs one request and returns a 2xx response. Any other status
// is returned as *providers.Error with the body consumed and closed.
// header holds headers of this request only.
func (p *Provider) send(ctx context.Context, method, path string, body []byte, accept string, header http.Header) (*http.Response, error) {
	return p.up.SendHeader(ctx, method, p.baseURL+path, body, accept, header)
}

// sendMessages posts a Messages body: to /v1/messages, or on Vertex AI to
// the model's rawPredict URL with the body rewritten.
func (p *Provider) sendMessages(ctx context.Context, model string, stream bool, body []byte, accept string, header http.Header) (*http.Response, error) {
	if p.vertexTarget == nil {
		return p.send(ctx, http.MethodPost, pathMessages, body, accept, header)
	}
	body, err := sjson.DeleteBytes(body, "model")
	if err == nil {
		body, err = sjson.SetBytes(body, "anthropic_version", VertexVersion)
	}
	if err != nil {
		return nil, p.invalid("rewrite the body for Vertex AI: %v", err)
	}
	return p.up.SendHeader(ctx, http.MethodPost, p.vertexTarget(model, stream), body, accept, header)
}

// invalid reports a canonical request this adapter cannot express. It is
// returned before anything is sent upstream.
func (p *Provider) invalid(format string, args ...any) error {
	return &providers.Error{Provider: p.id, Kind: providers.KindInvalidRequest, Message: fmt.Sprintf(format, args...)}
}

// invalidCause is invalid for a failure with an underlying error, which
// the returned *providers.Error wraps.
func (p *Provider) invalidCause(cause error, format string, args ...any) error {
	return &providers.Error{Provider: p.id, Kind: providers.KindInvalidRequest,
		Message: fmt.Sprintf(format, args...) + ": " + cause.Error(), Err: cause}
}
