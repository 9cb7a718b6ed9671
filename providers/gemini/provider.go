package gemini

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/providers/internal/upstream"
)

// DefaultBaseURL is the Gemini API host used when the config names none.
const DefaultBaseURL = "https://generativelanguage.googleapis.com"

// DefaultAPIVersion is the API version path segment used when the
// api_version setting is empty.
const DefaultAPIVersion = "v1beta"

// Dialect is the wire format name reported in Capabilities and matched
// against ChatRequest.ExtraDialect.
const Dialect = "gemini"

// Limits on bodies read into memory.
const (
	maxResponseBytes = 64 << 20
	maxErrorBytes    = 64 << 10
)

// The methods the adapter calls on a model resource.
const (
	methodGenerate    = "generateContent"
	methodStream      = "streamGenerateContent"
	methodEmbed       = "embedContent"
	methodBatchEmbed  = "batchEmbedContents"
	methodCountTokens = "countTokens"
)

// Header and media types of the wire protocol.
const (
	apiKeyHeader    = "x-goog-api-key"
	contentTypeJSON = "application/json"
	contentTypeSSE  = "text/event-stream"
)

// Values of the thinking and schema settings.
const (
	thinkingModeAuto   = "auto"
	thinkingModeBudget = "budget"
	thinkingModeLevel  = "level"
	schemaModeOpenAPI  = "openapi"
	schemaModeJSON     = "json_schema"
)

// Option customises a Provider.
type Option func(*Provider)

// WithClock replaces the clock used to interpret HTTP-date retry-after
// headers. Tests use it to make retry hints deterministic.
func WithClock(now func() time.Time) Option {
	return func(p *Provider) {
		if now != nil {
			p.now = now
		}
	}
}

// RequestAuth authenticates a complete outgoing request; it returns a
// *providers.Error (or ctx.Err()) when it cannot.
type RequestAuth func(ctx context.Context, req *http.Request, body []byte) error

// WithVertex makes the adapter call Gemini on Vertex AI: model methods
// under prefix (".../v1/projects/P/locations/L/publishers/google") and
// every request authenticated by auth (an OAuth access token) instead of
// an API key.
func WithVertex(prefix string, auth RequestAuth) Option {
	return func(p *Provider) { p.modelPrefix, p.requestAuth = strings.TrimRight(prefix, "/"), auth }
}

// Provider is the Gemini API adapter. It is safe for concurrent use.
type Provider struct {
	// up sends the requests (built by New after the options).
	up         upstream.Sender
	id         string
	apiKey     string
	baseURL    string
	apiVersion string
	client     *http.Client
	// jsonSchema sends tool parameters and response schemas as full JSON
	// Schema (parametersJsonSchema, responseJsonSchema) instead of the
	// sanitized OpenAPI subset.
	jsonSchema bool
	// thinking is how ReasoningConfig.Effort is sent: auto, budget or level.
	thinking string
	// signatureFallback replays unsigned function calls to Gemini 3+
	// models with Google's documented validator-skipping signature.
	signatureFallback bool
	// embedTaskType is sent as taskType with every embedding request.
	embedTaskType string
	schemas       schemaCache
	now           func() time.Time
	// modelPrefix replaces baseURL/apiVersion before model resources
	// (Vertex AI); requestAuth replaces the API key.
	modelPrefix string
	requestAuth RequestAuth
}

var (
	_ providers.Provider     = (*Provider)(nil)
	_ providers.Embedder     = (*Provider)(nil)
	_ providers.ModelLister  = (*Provider)(nil)
	_ providers.TokenCounter = (*Provider)(nil)
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
		return nil, fmt.Errorf("gemini: provider %s: base url: %w", cfg.ID, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("gemini: provider %s: base url %q must be absolute http(s)", cfg.ID, u.Redacted())
	}
	if u.RawQuery != "" {
		return nil, fmt.Errorf("gemini: provider %s: base url must not have a query (the key goes in the %s header)", cfg.ID, apiKeyHeader)
	}
	p := &Provider{
		id:                cfg.ID,
		apiKey:            cfg.APIKey,
		baseURL:           strings.TrimRight(base, "/"),
		apiVersion:        DefaultAPIVersion,
		client:            cfg.HTTPClient,
		thinking:          thinkingModeAuto,
		signatureFallback: true,
		now:               time.Now,
	}
	if err := p.applySettings(cfg.Settings); err != nil {
		return nil, fmt.Errorf("gemini: provider %s: %w", cfg.ID, err)
	}
	if p.client == nil {
		p.client = upstream.NewHTTPClient()
	}
	for _, o := range opts {
		o(p)
	}
	p.up = upstream.Sender{Name: "gemini", Provider: p.id, Secret: p.apiKey, Client: p.client, Header: nil,
		Auth: p.setKey, StatusError: p.statusError, MaxResponseBytes: maxResponseBytes, MaxErrorBytes: maxErrorBytes}
	if p.requestAuth != nil {
		p.up.Auth, p.up.Sign = nil, p.requestAuth
	}
	return p, nil
}

func (p *Provider) applySettings(s map[string]string) error {
	if v := s["api_version"]; v != "" {
		if strings.ContainsAny(v, "/?#") {
			return fmt.Errorf("setting api_version: %q is not a version path segment", v)
		}
		p.apiVersion = v
	}
	switch v := s["schema"]; v {
	case "", schemaModeOpenAPI:
	case schemaModeJSON:
		p.jsonSchema = true
	default:
		return fmt.Errorf("setting schema: %q is neither %s nor %s", v, schemaModeOpenAPI, schemaModeJSON)
	}
	switch v := s["thinking"]; v {
	case "":
	case thinkingModeAuto, thinkingModeBudget, thinkingModeLevel:
		p.thinking = v
	default:
		return fmt.Errorf("setting thinking: %q is not auto, budget or level", v)
	}
	if v := s["thought_signature_fallback"]; v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("setting thought_signature_fallback: %w", err)
		}
		p.signatureFallback = b
	}
	p.embedTaskType = s["embed_task_type"]
	return nil
}

// ID returns the provider instance id.
func (p *Provider) ID() string { return p.id }

// Capabilities reports tools, images, embeddings and stream usage.
func (p *Provider) Capabilities() providers.Capabilities {
	return providers.Capabilities{
		Dialect:     Dialect,
		Tools:       true,
		Images:      true,
		Embeddings:  true,
		StreamUsage: true,
	}
}

// modelResource returns the resource path of model: "models/<name>" for
// base models (a leading "models/" is accepted) and "tunedModels/<name>"
// as given.
func modelResource(model string) string {
	if strings.HasPrefix(model, "tunedModels/") {
		return "tunedModels/" + url.PathEscape(strings.TrimPrefix(model, "tunedModels/"))
	}
	return "models/" + url.PathEscape(strings.TrimPrefix(model, "models/"))
}

// methodURL returns the URL of method on model, with query appended.
func (p *Provider) methodURL(model, method, query string) string {
	prefix := p.baseURL + "/" + p.apiVersion
	if p.modelPrefix != "" {
		prefix = p.modelPrefix
	}
	u := prefix + "/" + modelResource(model) + ":" + method
	if query != "" {
		u += "?" + query
	}
	return u
}

// invalid reports a canonical request this adapter cannot express.
func (p *Provider) invalid(format string, args ...any) error {
	return &providers.Error{Provider: p.id, Kind: providers.KindInvalidRequest, Message: fmt.Sprintf(format, args...)}
}

// send performs one request and returns a 2xx response. Any other status is
// returned as *providers.Error with the body consumed and closed.
func (p *Provider) send(ctx context.Context, method, target string, body []byte, accept string) (*http.Response, error) {
	return p.up.Send(ctx, method, target, body, accept)
}

// setKey authenticates a request with the API key header (never the URL,
// so keys stay out of logs).
func (p *Provider) setKey(h http.Header) {
	if p.apiKey != "" {
		h.Set(apiKeyHeader, p.apiKey)
	}
}

// post sends a JSON body to method of model and returns the 2xx body.
func (p *Provider) post(ctx context.Context, model, method string, body []byte) (int, []byte, error) {
	resp, err := p.send(ctx, http.MethodPost, p.methodURL(model, method, ""), body, contentTypeJSON)
	if err != nil {
		return 0, nil, err
	}
	b, err := p.up.ReadBody(ctx, resp)
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, b, nil
}
