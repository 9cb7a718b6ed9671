package azure

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/providers/openai"
)

// DefaultAPIVersion is the api-version sent when the api_version setting
// is empty: the latest generally available version of the Azure OpenAI
// data-plane inference API that addresses models by deployment.
const DefaultAPIVersion = "2024-10-21"

// The values of the auth setting.
const (
	AuthAPIKey = "api-key"
	AuthBearer = "bearer"
)

// errNoEndpoint is returned by New without a base URL.
var errNoEndpoint = errors.New("base url (the resource endpoint, e.g. https://<resource>.openai.azure.com) is required")

// Option customises a Provider.
type Option func(*options)

type options struct {
	token func() string
}

// WithBearerToken authenticates every request with "Authorization: Bearer
// <token()>", e.g. a Microsoft Entra ID token kept fresh by the caller. It
// takes precedence over Config.APIKey and the auth setting. token must be
// safe for concurrent use.
func WithBearerToken(token func() string) Option {
	return func(o *options) { o.token = token }
}

// Provider is the Azure OpenAI adapter: the OpenAI adapter with Azure's
// URLs and credential header. It is safe for concurrent use.
type Provider struct {
	oa         *openai.Provider
	id         string
	endpoint   string
	deployment string
	apiVersion string
}

var (
	_ providers.Provider = (*Provider)(nil)
	_ providers.Embedder = (*Provider)(nil)
)

// New returns an adapter for cfg. Config.BaseURL is the resource endpoint
// and is required; settings are described in the package documentation.
// Settings of the OpenAI adapter (stream_usage, max_tokens_field) apply
// too.
func New(cfg providers.Config, opts ...Option) (*Provider, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	endpoint, err := normalizeEndpoint(cfg.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("azure: provider %s: %w", cfg.ID, err)
	}
	p := &Provider{
		id:         cfg.ID,
		endpoint:   endpoint,
		deployment: cfg.Settings["deployment"],
		apiVersion: cfg.Settings["api_version"],
	}
	if p.apiVersion == "" {
		p.apiVersion = DefaultAPIVersion
	}
	auth, err := authFunc(cfg, o.token)
	if err != nil {
		return nil, fmt.Errorf("azure: provider %s: %w", cfg.ID, err)
	}
	oaCfg := cfg
	oaCfg.BaseURL = endpoint
	oa, err := openai.New(oaCfg, openai.WithEndpoint(p.url), openai.WithAuth(auth))
	if err != nil {
		return nil, fmt.Errorf("azure: %w", err)
	}
	p.oa = oa
	return p, nil
}

// normalizeEndpoint validates the resource endpoint and trims a trailing
// "/" or "/openai" (as copied from the portal or from SDK samples).
func normalizeEndpoint(base string) (string, error) {
	if base == "" {
		return "", errNoEndpoint
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("base url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return "", fmt.Errorf("base url %q must be absolute http(s)", u.Redacted())
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("base url %q must not have a query or fragment (api-version is the api_version setting)", u.Redacted())
	}
	e := strings.TrimRight(base, "/")
	e = strings.TrimSuffix(e, "/openai")
	return strings.TrimRight(e, "/"), nil
}

// authFunc returns the credential header writer the auth setting asks for.
func authFunc(cfg providers.Config, token func() string) (openai.AuthFunc, error) {
	if token != nil {
		return func(h http.Header) {
			if t := token(); t != "" {
				h.Set("Authorization", "Bearer "+t)
			}
		}, nil
	}
	key := cfg.APIKey
	switch mode := cfg.Settings["auth"]; mode {
	case "", AuthAPIKey:
		if key == "" {
			return nil, errors.New("api key is required (or the WithBearerToken option)")
		}
		return func(h http.Header) { h.Set("api-key", key) }, nil
	case AuthBearer:
		if key == "" {
			return nil, errors.New("auth=bearer needs the token as api key (or the WithBearerToken option)")
		}
		return func(h http.Header) { h.Set("Authorization", "Bearer "+key) }, nil
	default:
		return nil, fmt.Errorf("setting auth: %q is neither %s nor %s", mode, AuthAPIKey, AuthBearer)
	}
}

// url builds {endpoint}/openai/deployments/{deployment}/{op}?api-version=.
func (p *Provider) url(op openai.Operation, model string) (string, error) {
	switch op {
	case openai.OpChatCompletions, openai.OpEmbeddings, openai.OpCompletions:
	default:
		return "", fmt.Errorf("operation %s is not available per deployment", op)
	}
	dep := p.deploymentFor(model)
	if dep == "" {
		return "", errors.New("no deployment: the request has no model and the deployment setting is empty")
	}
	return p.endpoint + "/openai/deployments/" + url.PathEscape(dep) + "/" + string(op) +
		"?api-version=" + url.QueryEscape(p.apiVersion), nil
}

// deploymentFor returns the deployment setting, else the request's model.
func (p *Provider) deploymentFor(model string) string {
	if p.deployment != "" {
		return p.deployment
	}
	return model
}

// checkDeployment rejects a request that names no deployment before it
// reaches the OpenAI adapter.
func (p *Provider) checkDeployment(model string) error {
	if p.deploymentFor(model) == "" {
		return &providers.Error{Provider: p.id, Kind: providers.KindInvalidRequest,
			Message: "request has no model and the provider has no deployment setting"}
	}
	return nil
}

// ID returns the provider instance id.
func (p *Provider) ID() string { return p.id }

// Capabilities reports the OpenAI dialect (so OpenAI passthrough fields are
// forwarded), tools, images, embeddings and, unless the stream_usage
// setting is false, stream usage.
func (p *Provider) Capabilities() providers.Capabilities { return p.oa.Capabilities() }

// Chat sends a unary chat completion to the deployment.
func (p *Provider) Chat(ctx context.Context, req *providers.ChatRequest) (*providers.ChatResponse, error) {
	if req != nil {
		if err := p.checkDeployment(req.Model); err != nil {
			return nil, err
		}
	}
	return p.oa.Chat(ctx, req)
}

// ChatStream sends a streaming chat completion to the deployment.
func (p *Provider) ChatStream(ctx context.Context, req *providers.ChatRequest) (providers.Stream, error) {
	if req != nil {
		if err := p.checkDeployment(req.Model); err != nil {
			return nil, err
		}
	}
	return p.oa.ChatStream(ctx, req)
}

// Embed returns one vector per input from the deployment.
func (p *Provider) Embed(ctx context.Context, req *providers.EmbedRequest) (*providers.EmbedResponse, error) {
	if req != nil {
		if err := p.checkDeployment(req.Model); err != nil {
			return nil, err
		}
	}
	return p.oa.Embed(ctx, req)
}
