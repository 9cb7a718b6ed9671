package bedrock

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/providers/internal/upstream"
)

// Dialect is the wire format name reported in Capabilities.
const Dialect = "bedrock"

// DefaultRegion is used when neither the region setting nor the AWS
// configuration names one.
const DefaultRegion = "us-east-1"

// signingService is the SigV4 service name of both the runtime
// (inference) and the control plane (model listing).
const signingService = "bedrock"

// Limits on bodies read into memory.
const (
	maxResponseBytes = 64 << 20
	maxErrorBytes    = 64 << 10
)

// Option customises a Provider.
type Option func(*Provider)

// WithCredentials replaces the credentials the configuration would give
// (tests, or embedders with their own AWS configuration).
func WithCredentials(c aws.CredentialsProvider) Option {
	return func(p *Provider) { p.creds = c }
}

// WithClock replaces time.Now, used for signing and response times.
func WithClock(now func() time.Time) Option {
	return func(p *Provider) { p.now = now }
}

// Provider is the Amazon Bedrock Runtime adapter (Converse,
// ConverseStream, InvokeModel for embeddings). It is safe for concurrent
// use.
type Provider struct {
	up         upstream.Sender
	id         string
	region     string
	baseURL    string
	controlURL string
	client     *http.Client
	creds      aws.CredentialsProvider
	// bearer is a Bedrock API key, sent instead of a signature.
	bearer string
	signer *v4.Signer
	// secret is the static secret access key, redacted from errors.
	secret string
	// embedInputType is Cohere's input_type.
	embedInputType string
	now            func() time.Time
}

var (
	_ providers.Provider    = (*Provider)(nil)
	_ providers.Embedder    = (*Provider)(nil)
	_ providers.ModelLister = (*Provider)(nil)
	_ providers.Checker     = (*Provider)(nil)
)

// New returns an adapter for cfg (see the package documentation for the
// credential forms and settings). Loading the default AWS configuration
// reads only local files and the environment; credentials themselves are
// fetched when first needed and cached until shortly before they expire.
func New(cfg providers.Config, opts ...Option) (*Provider, error) {
	s := cfg.Settings
	p := &Provider{
		id:             cfg.ID,
		region:         strings.TrimSpace(s["region"]),
		client:         cfg.HTTPClient,
		embedInputType: "search_document",
		now:            time.Now,
		signer:         v4.NewSigner(),
	}
	if v := strings.TrimSpace(s["embed_input_type"]); v != "" {
		p.embedInputType = v
	}
	for _, o := range opts {
		o(p)
	}
	if err := p.configure(cfg); err != nil {
		return nil, fmt.Errorf("bedrock: provider %s: %w", cfg.ID, err)
	}
	if p.client == nil {
		p.client = upstream.NewHTTPClient()
	}
	p.up = upstream.Sender{Name: "bedrock", Provider: p.id, Secret: p.secret, Client: p.client,
		Sign: p.sign, StatusError: p.statusError, MaxResponseBytes: maxResponseBytes, MaxErrorBytes: maxErrorBytes}
	if p.bearer != "" {
		p.up.Secret, p.up.Sign = p.bearer, nil
		p.up.Auth = func(h http.Header) { h.Set("Authorization", "Bearer "+p.bearer) }
	}
	return p, nil
}

// configure sets the region, the URLs and the credentials.
func (p *Provider) configure(cfg providers.Config) error {
	s := cfg.Settings
	auth := strings.TrimSpace(s["auth"])
	key := strings.TrimSpace(cfg.APIKey)
	switch {
	case auth == "api_key" || auth == "" && key != "" && !strings.Contains(key, ":"):
		if key == "" {
			return errors.New("setting auth api_key needs the Bedrock API key as the credential")
		}
		p.bearer = key
	case auth == "" || auth == "sigv4":
		if p.creds == nil {
			if err := p.loadCredentials(key, s); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("setting auth: %q is neither sigv4 nor api_key", auth)
	}
	if p.region == "" {
		p.region = DefaultRegion
	}
	if strings.ContainsAny(p.region, "/?#@:") {
		return fmt.Errorf("setting region: %q is not a region name", p.region)
	}
	p.baseURL = "https://bedrock-runtime." + p.region + ".amazonaws.com"
	p.controlURL = "https://bedrock." + p.region + ".amazonaws.com"
	if cfg.BaseURL != "" {
		u, err := url.Parse(cfg.BaseURL)
		if err != nil {
			return fmt.Errorf("base url: %w", err)
		}
		if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
			return fmt.Errorf("base url %q must be absolute http(s)", u.Redacted())
		}
		p.baseURL = strings.TrimRight(cfg.BaseURL, "/")
		p.controlURL = p.baseURL
	}
	if v := strings.TrimSpace(s["control_url"]); v != "" {
		p.controlURL = strings.TrimRight(v, "/")
	}
	return nil
}

// loadCredentials builds the credential chain: static keys given as
// "ACCESS_KEY_ID:SECRET_ACCESS_KEY[:SESSION_TOKEN]", else the SDK's
// default chain (environment, shared files and profiles, web identity
// (IRSA), ECS and EC2 instance roles); then, with role_arn, a role
// assumed with those credentials through STS.
func (p *Provider) loadCredentials(key string, s map[string]string) error {
	var loadOpts []func(*config.LoadOptions) error
	if p.region != "" {
		loadOpts = append(loadOpts, config.WithRegion(p.region))
	}
	if v := strings.TrimSpace(s["profile"]); v != "" {
		loadOpts = append(loadOpts, config.WithSharedConfigProfile(v))
	}
	if key != "" {
		parts := strings.SplitN(key, ":", 3)
		if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
			return errors.New("credential: want ACCESS_KEY_ID:SECRET_ACCESS_KEY[:SESSION_TOKEN]")
		}
		token := ""
		if len(parts) == 3 {
			token = parts[2]
		}
		p.secret = parts[1]
		loadOpts = append(loadOpts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(parts[0], parts[1], token)))
	}
	if v := strings.TrimSpace(s["sts_url"]); v != "" {
		loadOpts = append(loadOpts, config.WithBaseEndpoint(v))
	}
	if p.client != nil {
		loadOpts = append(loadOpts, config.WithHTTPClient(p.client))
	}
	awsCfg, err := config.LoadDefaultConfig(context.Background(), loadOpts...)
	if err != nil {
		return fmt.Errorf("aws configuration: %w", upstream.RedactErr(p.secret, err))
	}
	if p.region == "" {
		p.region = awsCfg.Region
	}
	p.creds = awsCfg.Credentials
	if role := strings.TrimSpace(s["role_arn"]); role != "" {
		stsClient := sts.NewFromConfig(awsCfg)
		p.creds = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(stsClient, role, func(o *stscreds.AssumeRoleOptions) {
			if v := strings.TrimSpace(s["external_id"]); v != "" {
				o.ExternalID = aws.String(v)
			}
			o.RoleSessionName = "tollgate-" + p.id
		}))
	}
	return nil
}

// sign signs req with SigV4 for the bedrock service.
func (p *Provider) sign(ctx context.Context, req *http.Request, body []byte) error {
	if p.creds == nil {
		return &providers.Error{Provider: p.id, Kind: providers.KindAuthentication, Message: "no AWS credentials"}
	}
	c, err := p.creds.Retrieve(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &providers.Error{Provider: p.id, Kind: providers.KindAuthentication,
			Message: upstream.Redact(p.secret, "AWS credentials: "+err.Error()), Err: upstream.RedactErr(p.secret, err)}
	}
	sum := sha256.Sum256(body)
	if err := p.signer.SignHTTP(ctx, c, req, hex.EncodeToString(sum[:]), signingService, p.region, p.now().UTC()); err != nil {
		return &providers.Error{Provider: p.id, Kind: providers.KindAuthentication,
			Message: upstream.Redact(c.SecretAccessKey, "sign request: "+err.Error())}
	}
	return nil
}

// ID returns the provider instance id.
func (p *Provider) ID() string { return p.id }

// Capabilities reports tools, images, embeddings and stream usage.
func (p *Provider) Capabilities() providers.Capabilities {
	return providers.Capabilities{Dialect: Dialect, Tools: true, Images: true, Embeddings: true, StreamUsage: true}
}

// modelURL returns the URL of op ("converse", "converse-stream",
// "invoke") on model, escaping the model id (ARNs of inference profiles
// hold '/' and ':').
func (p *Provider) modelURL(model, op string) string {
	return p.baseURL + "/model/" + escapeSegment(model) + "/" + op
}

// escapeSegment percent-encodes every byte of s but the RFC 3986
// unreserved characters, as the AWS SDKs encode path labels.
func escapeSegment(s string) string {
	const hexd = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexd[c>>4])
		b.WriteByte(hexd[c&15])
	}
	return b.String()
}

// invalid reports a canonical request this adapter cannot express.
func (p *Provider) invalid(format string, args ...any) error {
	return &providers.Error{Provider: p.id, Kind: providers.KindInvalidRequest, Message: fmt.Sprintf(format, args...)}
}

// post sends body to target and returns the 2xx response.
func (p *Provider) post(ctx context.Context, target string, body []byte, accept string) (*http.Response, error) {
	return p.up.Send(ctx, http.MethodPost, target, body, accept)
}
