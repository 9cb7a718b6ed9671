package anthropic

// Request headers a client of this dialect may send that the gateway
// passes to Anthropic upstreams (the drop-in surface collects them, the
// adapter sends them). Authentication (x-api-key, Authorization),
// hop-by-hop and every other header never pass.
const (
	// HeaderVersion is the API version; the client's value is sent, else
	// the provider's configured version, else DefaultVersion.
	HeaderVersion = "Anthropic-Version"
	// HeaderBeta lists beta features (comma-separated, or the header
	// repeated); the client's betas are sent together with the provider's
	// configured ones.
	HeaderBeta = "Anthropic-Beta"
	// HeaderIdempotencyKey makes a retried request idempotent upstream.
	HeaderIdempotencyKey = "Idempotency-Key"
)

// DefaultVersion is the anthropic-version sent when neither the client
// nor the provider's configuration names one.
const DefaultVersion = "2023-06-01"

// RequestHeaders is the allow-list of client headers passed to Anthropic
// upstreams.
var RequestHeaders = []string{HeaderVersion, HeaderBeta, HeaderIdempotencyKey}
