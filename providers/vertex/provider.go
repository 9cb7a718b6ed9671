package vertex

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/providers/anthropic"
	"github.com/tollgate-dev/tollgate/providers/gemini"
	"github.com/tollgate-dev/tollgate/providers/internal/upstream"
)

// Dialect is the name reported in Capabilities. Requests are translated
// (or passed through) by the Gemini and Anthropic adapters underneath.
const Dialect = "vertex"

// DefaultLocation is the region used when the location setting is empty.
const DefaultLocation = "us-central1"

// Scope is the OAuth scope of the tokens the adapter asks for.
const Scope = "https://www.googleapis.com/auth/cloud-platform"

// Limits on bodies read into memory.
const (
	maxResponseBytes = 64 << 20
	maxErrorBytes    = 64 << 10
)

// Option customises a Provider.
type Option func(*Provider)

// WithTokenSource replaces the credentials the configuration would give.
func WithTokenSource(ts oauth2.TokenSource) Option { return func(p *Provider) { p.src = ts } }

// WithClock replaces time.Now (token expiry).
func WithClock(now func() time.Time) Option { return func(p *Provider) { p.now = now } }

// Provider is the Vertex AI adapter: Gemini models through the Gemini
// adapter, Claude models (ids starting with "claude") through the
// Anthropic adapter, embeddings through :predict. It is safe for
// concurrent use.
type Provider struct {
	id, project, location string
	base                  string // e.g. https://us-central1-aiplatform.googleapis.com
	client                *http.Client
	src                   oauth2.TokenSource
	// newSource builds a token source that fetches a new token (the
	// library's sources cache theirs until 10 s before expiry, which would
	// defeat the early refresh).
	newSource func() (oauth2.TokenSource, error)
	tokens    *tokenCache
	gemini    *gemini.Provider
	claude    *anthropic.Provider
	up        upstream.Sender
	now       func() time.Time
}

var (
	_ providers.Provider = (*Provider)(nil)
	_ providers.Embedder = (*Provider)(nil)
	_ providers.Checker  = (*Provider)(nil)
)

// New returns an adapter for cfg. The credential is a service-account key
// (its JSON); without one, Application Default Credentials are used (the
// GOOGLE_APPLICATION_CREDENTIALS file, gcloud's, or the metadata server:
// GKE workload identity, Compute Engine, Cloud Run). Settings: project
// (required), location (default us-central1; "global" for the global
// endpoint), token_url (the service account's token endpoint; tests).
func New(cfg providers.Config, opts ...Option) (*Provider, error) {
	s := cfg.Settings
	p := &Provider{
		id:       cfg.ID,
		project:  strings.TrimSpace(s["project"]),
		location: strings.TrimSpace(s["location"]),
		client:   cfg.HTTPClient,
		now:      time.Now,
	}
	for _, o := range opts {
		o(p)
	}
	if err := p.configure(cfg); err != nil {
		return nil, fmt.Errorf("vertex: provider %s: %w", cfg.ID, err)
	}
	p.tokens = newTokenCache(func() (*oauth2.Token, error) {
		src := p.src
		if p.newSource != nil {
			var err error
			if src, err = p.newSource(); err != nil {
				return nil, err
			}
		}
		return src.Token()
	}, p.now)
	resource := p.base + "/v1/projects/" + url.PathEscape(p.project) + "/locations/" + url.PathEscape(p.location) + "/publishers/"
	sub := providers.Config{ID: cfg.ID, BaseURL: p.base, HTTPClient: p.client, Settings: s}
	var err error
	if p.gemini, err = gemini.New(sub, gemini.WithVertex(resource+"google", p.auth)); err != nil {
		return nil, fmt.Errorf("vertex: provider %s: %w", cfg.ID, err)
	}
	target := func(model string, stream bool) string {
		method := ":rawPredict"
		if stream {
			method = ":streamRawPredict"
		}
		return resource + "anthropic/models/" + url.PathEscape(model) + method
	}
	if p.claude, err = anthropic.New(sub, anthropic.WithVertex(target, p.auth)); err != nil {
		return nil, fmt.Errorf("vertex: provider %s: %w", cfg.ID, err)
	}
	p.up = upstream.Sender{Name: "vertex", Provider: p.id, Client: p.client, Sign: p.auth, StatusError: p.statusError,
		MaxResponseBytes: maxResponseBytes, MaxErrorBytes: maxErrorBytes}
	return p, nil
}

func (p *Provider) configure(cfg providers.Config) error {
	if p.project == "" || strings.ContainsAny(p.project, "/?#") {
		return fmt.Errorf("setting project: %q is not a Google Cloud project id", p.project)
	}
	if p.location == "" {
		p.location = DefaultLocation
	}
	if strings.ContainsAny(p.location, "/?#@:.") {
		return fmt.Errorf("setting location: %q is not a location", p.location)
	}
	p.base = "https://" + p.location + "-aiplatform.googleapis.com"
	if p.location == "global" {
		p.base = "https://aiplatform.googleapis.com"
	}
	if cfg.BaseURL != "" {
		u, err := url.Parse(cfg.BaseURL)
		if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
			return errors.New("base url must be absolute http(s)")
		}
		p.base = strings.TrimRight(cfg.BaseURL, "/")
	}
	if p.client == nil {
		p.client = upstream.NewHTTPClient()
	}
	if p.src != nil {
		return nil
	}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, p.client)
	key := []byte(strings.TrimSpace(cfg.APIKey))
	if len(key) == 0 {
		if _, err := google.FindDefaultCredentials(ctx, Scope); err != nil {
			return fmt.Errorf("application default credentials: %w", err)
		}
		p.newSource = func() (oauth2.TokenSource, error) {
			creds, err := google.FindDefaultCredentials(ctx, Scope)
			if err != nil {
				return nil, err
			}
			return creds.TokenSource, nil
		}
		return nil
	}
	var kind struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(key, &kind); err != nil {
		return errors.New("credential: not a service account key (JSON)")
	}
	if kind.Type == "service_account" {
		jc, err := google.JWTConfigFromJSON(key, Scope)
		if err != nil {
			return errors.New("credential: unreadable service account key")
		}
		if v := strings.TrimSpace(cfg.Settings["token_url"]); v != "" {
			jc.TokenURL = v
		}
		p.newSource = func() (oauth2.TokenSource, error) { return jc.TokenSource(ctx), nil }
		return nil
	}
	if _, err := google.CredentialsFromJSONWithType(ctx, key, google.CredentialsType(kind.Type), Scope); err != nil {
		return fmt.Errorf("credential of type %q: unreadable", kind.Type)
	}
	p.newSource = func() (oauth2.TokenSource, error) {
		creds, err := google.CredentialsFromJSONWithType(ctx, key, google.CredentialsType(kind.Type), Scope)
		if err != nil {
			return nil, err
		}
		return creds.TokenSource, nil
	}
	return nil
}

// auth sets the bearer token on a request.
func (p *Provider) auth(ctx context.Context, req *http.Request, _ []byte) error {
	tok, err := p.tokens.Token(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &providers.Error{Provider: p.id, Kind: providers.KindAuthentication,
			Message: "Google access token: " + tokenErrorText(err), Err: err}
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	return nil
}

// tokenErrorText describes a token failure without the token endpoint's
// whole answer (which never holds the key, but may be long).
func tokenErrorText(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		msg := re.ErrorCode
		if re.ErrorDescription != "" {
			msg += ": " + re.ErrorDescription
		}
		if msg == "" {
			msg = upstream.OneLine(re.Body, 300)
		}
		if msg == "" && re.Response != nil {
			msg = re.Response.Status
		}
		return "token endpoint refused: " + msg
	}
	return err.Error()
}

// ID returns the provider instance id.
func (p *Provider) ID() string { return p.id }

// Capabilities reports tools, images, embeddings and stream usage.
func (p *Provider) Capabilities() providers.Capabilities {
	return providers.Capabilities{Dialect: Dialect, Tools: true, Images: true, Embeddings: true, StreamUsage: true}
}

// IsClaude reports whether model is served by the Anthropic publisher.
func IsClaude(model string) bool { return strings.HasPrefix(model, "claude") }

// Chat sends a unary request to the model's publisher.
func (p *Provider) Chat(ctx context.Context, req *providers.ChatRequest) (*providers.ChatResponse, error) {
	if IsClaude(req.Model) {
		return p.claude.Chat(ctx, req)
	}
	return p.gemini.Chat(ctx, req)
}

// ChatStream sends a streamed request to the model's publisher.
func (p *Provider) ChatStream(ctx context.Context, req *providers.ChatRequest) (providers.Stream, error) {
	if IsClaude(req.Model) {
		return p.claude.ChatStream(ctx, req)
	}
	return p.gemini.ChatStream(ctx, req)
}

// Unsupported lists what of req the model's publisher cannot take.
func (p *Provider) Unsupported(req *providers.ChatRequest) []providers.Unsupported {
	var target any = p.gemini
	if IsClaude(req.Model) {
		target = p.claude
	}
	if c, ok := target.(providers.Checker); ok {
		return c.Unsupported(req)
	}
	return nil
}
