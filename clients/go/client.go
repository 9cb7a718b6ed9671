package tollgate

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"connectrpc.com/connect"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/gen/tollgate/v1/tollgatev1connect"
)

// DefaultTimeout is the deadline given to unary calls whose context has none.
const DefaultTimeout = 60 * time.Second

// ErrNoChoices is returned by [Client.Chat] when the gateway answered
// without any choice.
var ErrNoChoices = errors.New("tollgate: response has no choices")

// Client is a Tollgate API client. Its fields are the generated Connect
// clients, so every RPC of the API is available; the methods are shortcuts
// for common calls. A Client is safe for concurrent use.
type Client struct {
	// Inference runs model calls (needs a virtual key).
	Inference tollgatev1connect.InferenceServiceClient
	// Admin manages the gateway's configuration (needs the admin token).
	Admin AdminClient
	// Usage reports request records and usage totals (either credential).
	Usage tollgatev1connect.UsageServiceClient
}

// AdminClient is the admin API: the generated clients of its three
// services, whose methods it promotes, so that c.Admin.CreateTeam and
// c.Admin.CreateRoute both work. The services are CatalogService
// (providers, models, routes), TeamService (teams, virtual keys) and
// PolicyService (budgets, rate limits, guardrail policies, alert webhooks,
// the response cache).
type AdminClient struct {
	tollgatev1connect.CatalogServiceClient
	tollgatev1connect.TeamServiceClient
	tollgatev1connect.PolicyServiceClient
	// IdentityServiceClient manages service accounts, their tokens and
	// role bindings, and says who the caller is.
	tollgatev1connect.IdentityServiceClient
	// CredentialServiceClient refreshes credential references and rotates
	// the master key.
	tollgatev1connect.CredentialServiceClient
	// ConfigServiceClient lists the resources managed by configuration as
	// code (`tollgate config apply`).
	tollgatev1connect.ConfigServiceClient
}

// NewAdminClient returns the clients of the admin services at baseURL.
// [NewClient] calls it; use it directly to build an admin client with
// options of your own.
func NewAdminClient(hc connect.HTTPClient, baseURL string, opts ...connect.ClientOption) AdminClient {
	return AdminClient{
		CatalogServiceClient:    tollgatev1connect.NewCatalogServiceClient(hc, baseURL, opts...),
		TeamServiceClient:       tollgatev1connect.NewTeamServiceClient(hc, baseURL, opts...),
		PolicyServiceClient:     tollgatev1connect.NewPolicyServiceClient(hc, baseURL, opts...),
		IdentityServiceClient:   tollgatev1connect.NewIdentityServiceClient(hc, baseURL, opts...),
		CredentialServiceClient: tollgatev1connect.NewCredentialServiceClient(hc, baseURL, opts...),
		ConfigServiceClient:     tollgatev1connect.NewConfigServiceClient(hc, baseURL, opts...),
	}
}

// Option configures a [Client].
type Option func(*config)

type protocol int

const (
	protocolConnect protocol = iota
	protocolGRPC
	protocolGRPCWeb
)

type config struct {
	httpClient  connect.HTTPClient
	protocol    protocol
	timeout     time.Duration
	connectOpts []connect.ClientOption
}

// WithHTTPClient makes the client send its requests through hc, e.g. one
// with a custom TLS configuration. With [WithGRPC], hc must speak HTTP/2.
func WithHTTPClient(hc connect.HTTPClient) Option {
	return func(c *config) { c.httpClient = hc }
}

// WithGRPC makes the client use the gRPC protocol. Unless [WithHTTPClient]
// is given, the client's HTTP transport speaks HTTP/2 only: over TLS for
// https:// URLs and in plain text (h2c) for http:// URLs.
func WithGRPC() Option {
	return func(c *config) { c.protocol = protocolGRPC }
}

// WithGRPCWeb makes the client use the gRPC-Web protocol.
func WithGRPCWeb() Option {
	return func(c *config) { c.protocol = protocolGRPCWeb }
}

// WithTimeout sets the deadline given to unary calls whose context has
// none (default [DefaultTimeout]); zero or less disables it. Streaming calls
// are not limited by it: bound them with their context.
func WithTimeout(d time.Duration) Option {
	return func(c *config) { c.timeout = d }
}

// WithClientOptions adds options to the underlying Connect clients, e.g.
// connect.WithInterceptors or connect.WithSendGzip.
func WithClientOptions(opts ...connect.ClientOption) Option {
	return func(c *config) { c.connectOpts = append(c.connectOpts, opts...) }
}

// NewClient returns a client of the gateway at baseURL (e.g.
// "http://localhost:8080") that authenticates with apiKey: a virtual key
// or the admin token. An empty apiKey sends no Authorization header.
func NewClient(baseURL, apiKey string, opts ...Option) *Client {
	cfg := config{timeout: DefaultTimeout}
	for _, o := range opts {
		o(&cfg)
	}
	baseURL = strings.TrimRight(baseURL, "/")
	hc := cfg.httpClient
	if hc == nil {
		hc = defaultHTTPClient(cfg.protocol)
	}
	copts := []connect.ClientOption{connect.WithInterceptors(authInterceptor(apiKey), timeoutInterceptor(cfg.timeout))}
	switch cfg.protocol {
	case protocolGRPC:
		copts = append(copts, connect.WithGRPC())
	case protocolGRPCWeb:
		copts = append(copts, connect.WithGRPCWeb())
	}
	copts = append(copts, cfg.connectOpts...)
	return &Client{
		Inference: tollgatev1connect.NewInferenceServiceClient(hc, baseURL, copts...),
		Admin:     NewAdminClient(hc, baseURL, copts...),
		Usage:     tollgatev1connect.NewUsageServiceClient(hc, baseURL, copts...),
	}
}

// defaultHTTPClient returns a client with its own transport: HTTP/1.1 and
// HTTP/2 for Connect and gRPC-Web, HTTP/2 only (TLS or h2c) for gRPC.
func defaultHTTPClient(p protocol) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	if p == protocolGRPC {
		var ps http.Protocols
		ps.SetHTTP2(true)
		ps.SetUnencryptedHTTP2(true)
		t.Protocols = &ps
	}
	return &http.Client{Transport: t}
}

// Chat sends text as a single user message to model and returns the text
// of the first choice. Use c.Inference.Chat for the full request and
// response (usage, cost, tools, several messages).
func (c *Client) Chat(ctx context.Context, model, text string) (string, error) {
	resp, err := c.Inference.Chat(ctx, connect.NewRequest(&tollgatev1.ChatRequest{
		Model:    model,
		Messages: []*tollgatev1.Message{UserMessage(text)},
	}))
	if err != nil {
		return "", err
	}
	if len(resp.Msg.GetChoices()) == 0 {
		return "", ErrNoChoices
	}
	return Text(resp.Msg.GetChoices()[0].GetMessage()), nil
}

// UserMessage returns a user message holding text.
func UserMessage(text string) *tollgatev1.Message {
	return &tollgatev1.Message{
		Role:    tollgatev1.Role_ROLE_USER,
		Content: []*tollgatev1.ContentPart{{Part: &tollgatev1.ContentPart_Text{Text: text}}},
	}
}

// Text returns the concatenated text parts of m, ignoring images and
// reasoning.
func Text(m *tollgatev1.Message) string {
	var b strings.Builder
	for _, p := range m.GetContent() {
		b.WriteString(p.GetText())
	}
	return b.String()
}
