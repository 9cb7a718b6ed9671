package openai

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

// DefaultBaseURL is the base URL used when the config names none.
const DefaultBaseURL = "https://api.openai.com/v1"

// Dialect is the wire format name reported in Capabilities; requests whose
// Source has it are passed through.
const Dialect = providers.DialectOpenAI

// Limits on bodies read into memory.
const (
	maxResponseBytes = 64 << 20
	maxErrorBytes    = 64 << 10
)

// TypeCompatible is the provider type of OpenAI-compatible servers (vLLM,
// Ollama, llama.cpp, TGI): the same adapter, sending the extensions such
// servers read (top_k).
const TypeCompatible = "openai_compatible"

// Operation names an API endpoint relative to the base URL.
type Operation string

// The operations the adapter calls.
const (
	OpChatCompletions Operation = "chat/completions"
	OpEmbeddings      Operation = "embeddings"
	OpModels          Operation = "models"
	// OpCompletions is the legacy completions API (see completions.go).
	OpCompletions Operation = "completions"
	// OpModerations is the moderations API (see moderation.go).
	OpModerations Operation = "moderations"
)

// EndpointFunc returns the absolute URL of op. Model is the request's model
// (empty for OpModels); deployment-addressed APIs such as Azure OpenAI put it
// in the path.
type EndpointFunc func(op Operation, model string) (string, error)

// AuthFunc sets the credential on an outgoing request's headers.
type AuthFunc func(h http.Header)

// Option customises a Provider.
type Option func(*Provider)

// WithEndpoint replaces the default URL scheme (BaseURL + "/" + op). It lets
// adapters of OpenAI-compatible APIs reuse this one.
func WithEndpoint(f EndpointFunc) Option {
	return func(p *Provider) { p.endpoint = f }
}

// WithAuth replaces the default "Authorization: Bearer <APIKey>" header,
// e.g. with Azure's "api-key" header. The function is called for every
// request; Config.APIKey is still redacted from upstream error messages.
func WithAuth(f AuthFunc) Option {
	return func(p *Provider) { p.auth = f }
}

// Provider is the OpenAI Chat Completions adapter. It is safe for
// concurrent use.
type Provider struct {
	// up sends the requests (built by New after the options).
	up       upstream.Sender
	id       string
	apiKey   string
	baseURL  string
	client   *http.Client
	endpoint EndpointFunc
	auth     AuthFunc
	// authorization is the default auth's header value; nil without a key.
	authorization []string
	// header holds static headers (organization, project).
	header http.Header
	// streamUsage reports that streams end with usage; streamOptions
	// asks for it with stream_options.include_usage (some compatible
	// servers reject that member and report usage anyway).
	streamUsage   bool
	streamOptions bool
	// noModels is an upstream without a model list endpoint.
	noModels bool
	// legacyMaxTokens sends MaxTokens as "max_tokens".
	legacyMaxTokens bool
	// compat is an OpenAI-compatible server (config type
	// openai_compatible), which takes extensions such as top_k.
	compat bool
	// clientOrganization lets clients' OpenAI-Organization and
	// OpenAI-Project headers through.
	clientOrganization bool
	// completions: the upstream serves /completions (the completions
	// setting, true by default).
	completions bool
	// responsesAPI sends requests of the gateway's Responses surface to
	// the upstream's /responses (responses.go).
	responsesAPI bool
	now          func() time.Time
}

var (
	_ providers.Provider    = (*Provider)(nil)
	_ providers.Embedder    = (*Provider)(nil)
	_ providers.ModelLister = (*Provider)(nil)
	_ providers.Checker     = (*Provider)(nil)
)

// New returns an adapter for cfg. Settings are described in the package
// documentation; unknown settings are ignored so that adapters reusing this
// one can share the map.
func New(cfg providers.Config, opts ...Option) (*Provider, error) {
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("openai: provider %s: base url: %w", cfg.ID, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("openai: provider %s: base url %q must be absolute http(s)", cfg.ID, u.Redacted())
	}
	p := &Provider{
		id:          cfg.ID,
		apiKey:      cfg.APIKey,
		baseURL:     strings.TrimRight(base, "/"),
		client:      cfg.HTTPClient,
		header:      make(http.Header),
		streamUsage: true,
		completions: true,
		compat:      cfg.Type == TypeCompatible,
		now:         time.Now,
	}
	if err := p.applySettings(cfg.Settings); err != nil {
		return nil, fmt.Errorf("openai: provider %s: %w", cfg.ID, err)
	}
	if p.client == nil {
		p.client = upstream.NewHTTPClient()
	}
	p.endpoint = p.defaultEndpoint
	if p.apiKey != "" {
		// Built once: the header value is the same for every request
		// (read only, like the static headers).
		p.authorization = []string{"Bearer " + p.apiKey}
	}
	p.auth = p.bearer
	for _, o := range opts {
		o(p)
	}
	p.up = upstream.Sender{Name: "openai", Provider: p.id, Secret: p.apiKey, Client: p.client, Header: p.header,
		Auth: p.auth, StatusError: p.statusError, MaxResponseBytes: maxResponseBytes, MaxErrorBytes: maxErrorBytes}
	return p, nil
}

func (p *Provider) applySettings(s map[string]string) error {
	if v := s["organization"]; v != "" {
		p.header.Set("OpenAI-Organization", v)
	}
	if v := s["project"]; v != "" {
		p.header.Set("OpenAI-Project", v)
	}
	if v, ok := s["stream_usage"]; ok && v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("setting stream_usage: %w", err)
		}
		p.streamUsage = b
	}
	p.streamOptions = p.streamUsage
	if v, ok := s["stream_options"]; ok && v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("setting stream_options: %w", err)
		}
		p.streamOptions = b && p.streamUsage
	}
	if v, ok := s["list_models"]; ok && v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("setting list_models: %w", err)
		}
		p.noModels = !b
	}
	if v, ok := s["client_organization"]; ok && v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("setting client_organization: %w", err)
		}
		p.clientOrganization = b
	}
	if v, ok := s["completions"]; ok && v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("setting completions: %w", err)
		}
		p.completions = b
	}
	if v, ok := s["responses_api"]; ok && v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("setting responses_api: %w", err)
		}
		p.responsesAPI = b
	}
	switch v := s["max_tokens_field"]; v {
	case "", "max_completion_tokens":
	case "max_tokens":
		p.legacyMaxTokens = true
	default:
		return fmt.Errorf("setting max_tokens_field: %q is neither max_completion_tokens nor max_tokens", v)
	}
	return nil
}

// ID returns the provider instance id.
func (p *Provider) ID() string { return p.id }

// Capabilities reports tools, images, embeddings and, unless the
// stream_usage setting is false, stream usage.
func (p *Provider) Capabilities() providers.Capabilities {
	return providers.Capabilities{
		Dialect:     Dialect,
		Tools:       true,
		Images:      true,
		Embeddings:  true,
		StreamUsage: p.streamUsage,
	}
}

func (p *Provider) defaultEndpoint(op Operation, _ string) (string, error) {
	return p.baseURL + "/" + string(op), nil
}

func (p *Provider) bearer(h http.Header) {
	if p.authorization != nil {
		h["Authorization"] = p.authorization
	}
}

// send performs one request (a POST with a body, else a GET) and returns
// a 2xx response. Any other status is returned as *providers.Error with
// the body consumed and closed. header holds headers of this request only.
func (p *Provider) send(ctx context.Context, op Operation, model string, body []byte, accept string, header http.Header) (*http.Response, error) {
	target, err := p.endpoint(op, model)
	if err != nil {
		return nil, fmt.Errorf("openai: provider %s: endpoint for %s: %w", p.id, op, err)
	}
	method := http.MethodGet
	if body != nil {
		method = http.MethodPost
	}
	return p.up.SendHeader(ctx, method, target, body, accept, header)
}
