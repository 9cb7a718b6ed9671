package openai

// Request headers a client of this dialect may send that the gateway
// passes to OpenAI-dialect upstreams (the drop-in surface collects them,
// the adapter sends them). Authentication, hop-by-hop and every other
// header never pass.
const (
	// HeaderBeta opts in to beta behaviour, e.g. "assistants=v2".
	HeaderBeta = "OpenAI-Beta"
	// HeaderOrganization and HeaderProject pick the billing organization
	// and project. They pass only when the provider's configuration allows
	// clients to choose (setting client_organization); otherwise the
	// provider's own settings apply.
	HeaderOrganization = "OpenAI-Organization"
	HeaderProject      = "OpenAI-Project"
	// HeaderIdempotencyKey makes a retried request idempotent upstream.
	HeaderIdempotencyKey = "Idempotency-Key"
)

// RequestHeaders is the allow-list of client headers passed to
// OpenAI-dialect upstreams.
var RequestHeaders = []string{HeaderBeta, HeaderOrganization, HeaderProject, HeaderIdempotencyKey}
