package configfile

import (
	"github.com/tollgate-dev/tollgate/service/guardrails"
)

// Config is a gateway's declared configuration: what `tollgate config
// apply` and `tollgate serve --config` make the gateway hold. Several
// files merge into one Config; each resource is declared once.
type Config struct {
	// Providers are the upstream APIs and their credential references.
	Providers []Provider `json:"providers,omitempty"`
	// Models are the configured models clients ask for by name.
	Models []Model `json:"models,omitempty"`
	// Routes are aliases served by one or more targets.
	Routes []Route `json:"routes,omitempty"`
	// Teams own keys, services and spend.
	Teams []Team `json:"teams,omitempty"`
	// Keys are virtual keys, declared without their secrets.
	Keys []Key `json:"keys,omitempty"`
	// Budgets limit spend per period.
	Budgets []Budget `json:"budgets,omitempty"`
	// RateLimits limit request and token rates and concurrency.
	RateLimits []RateLimit `json:"rate_limits,omitempty"`
	// Guardrails are guardrail policies attached to a team, service, key or route.
	Guardrails []GuardrailPolicy `json:"guardrails,omitempty"`
	// Alerts are the webhooks alerts are posted to.
	Alerts []AlertWebhook `json:"alerts,omitempty"`
}

// Provider is an upstream API. Its credential is a reference, never a
// literal: the gateway resolves it into memory on every replica.
type Provider struct {
	// ID is a unique slug: lower-case letters, digits and '-'.
	ID string `json:"id" jsonschema:"required,pattern=^[a-z0-9][a-z0-9-]*$"`
	// Type is the API dialect (a provider type of the API, lower case:
	// openai, anthropic, gemini, bedrock, vertex, openai_compatible, vllm,
	// ...); fixed at creation.
	Type string `json:"type" jsonschema:"required"`
	// BaseURL is the API's base URL; empty takes the type's default.
	BaseURL string `json:"base_url,omitempty"`
	// Settings are dialect-specific settings, e.g. api_version for Azure.
	Settings map[string]string `json:"settings,omitempty"`
	// Credential is a reference to the API key: "env:NAME", "file:/path",
	// "vault:MOUNT/PATH#FIELD", "aws-sm:SECRET_ID[#FIELD]" or
	// "gcp-sm:projects/P/secrets/S[/versions/V][#FIELD]". Literal keys are
	// refused. Empty for upstreams that take none.
	Credential string `json:"credential,omitempty" jsonschema:"pattern=^(env|file|vault|aws-sm|gcp-sm):"`
}

// Model is a configured model.
type Model struct {
	// Name is what clients ask for.
	Name string `json:"name" jsonschema:"required"`
	// Provider is the provider's id.
	Provider string `json:"provider" jsonschema:"required"`
	// UpstreamModel is the provider's model name; empty means Name.
	UpstreamModel string `json:"upstream_model,omitempty"`
	// ContextWindow is the context window in tokens (0: unknown).
	ContextWindow int32 `json:"context_window,omitempty" jsonschema:"minimum=0"`
	// MaxOutputTokens bounds the answer (0: the provider's default).
	MaxOutputTokens int32 `json:"max_output_tokens,omitempty" jsonschema:"minimum=0"`
	// Embedding marks an embedding model.
	Embedding bool `json:"embedding,omitempty"`
	// Pricing is the model's price in US dollars; all zero when omitted
	// (a declared model does not take a list price implicitly).
	Pricing *Pricing `json:"pricing,omitempty"`
}

// Pricing is a model's price. Amounts are US dollars as decimal strings
// ("2.50"), with at most 9 decimals.
type Pricing struct {
	// InputPerMillion is the price of a million input tokens.
	InputPerMillion USD `json:"input_per_million,omitempty"`
	// OutputPerMillion is the price of a million output tokens.
	OutputPerMillion USD `json:"output_per_million,omitempty"`
	// CachedInputPerMillion is the price of a million cached input tokens.
	CachedInputPerMillion USD `json:"cached_input_per_million,omitempty"`
	// PerRequest is a fixed price per request.
	PerRequest USD `json:"per_request,omitempty"`
}

// Route is an alias clients ask for as their model.
type Route struct {
	// Name is the alias; it takes precedence over a model of the same name.
	Name string `json:"name" jsonschema:"required"`
	// Strategy orders the targets.
	Strategy string `json:"strategy" jsonschema:"required,enum=fallback,enum=weighted,enum=latency,enum=cost,enum=least_busy"`
	// Targets are tried in priority order.
	Targets []RouteTarget `json:"targets" jsonschema:"required,minItems=1"`
	// Conditions send matching requests to a subset of the targets; the
	// first matching condition wins.
	Conditions []RouteCondition `json:"conditions,omitempty"`
	// Retry bounds the attempts.
	Retry *RetryPolicy `json:"retry,omitempty"`
	// Breaker configures the targets' circuit breakers.
	Breaker *CircuitBreaker `json:"breaker,omitempty"`
	// Timeout bounds the whole request, e.g. "60s".
	Timeout Duration `json:"timeout,omitempty"`
	// FirstChunkTimeout bounds a stream's first chunk.
	FirstChunkTimeout Duration `json:"first_chunk_timeout,omitempty"`
	// ChunkTimeout bounds the gap between a stream's chunks.
	ChunkTimeout Duration `json:"chunk_timeout,omitempty"`
	// Sticky keeps an end user on the target first picked for them.
	Sticky bool `json:"sticky,omitempty"`
	// DropParams leaves out parameters a target cannot honour instead of
	// refusing the request.
	DropParams bool `json:"drop_params,omitempty"`
	// Cache is the route's response-cache policy.
	Cache *CachePolicy `json:"cache,omitempty"`
}

// RouteTarget is one target of a route.
type RouteTarget struct {
	// Provider is a provider id; when empty, Model names a configured model.
	Provider string `json:"provider,omitempty"`
	// Model is the upstream model (or a configured model, see Provider).
	Model string `json:"model" jsonschema:"required"`
	// Weight is the share of first picks of a weighted route.
	Weight int32 `json:"weight,omitempty" jsonschema:"minimum=0"`
	// InputPerMillion overrides the input price for the cost strategy.
	InputPerMillion USD `json:"input_per_million,omitempty"`
	// OutputPerMillion overrides the output price for the cost strategy.
	OutputPerMillion USD `json:"output_per_million,omitempty"`
	// ContextWindow in tokens; 0 takes the configured model's.
	ContextWindow int32 `json:"context_window,omitempty" jsonschema:"minimum=0"`
	// Timeout bounds one attempt on this target.
	Timeout Duration `json:"timeout,omitempty"`
}

// RouteCondition picks targets for matching requests; every set field
// must match.
type RouteCondition struct {
	// Team is the key's team.
	Team string `json:"team,omitempty"`
	// Service is the key's service.
	Service string `json:"service,omitempty"`
	// Tag is a request or key tag ("env=prod" or "batch").
	Tag string `json:"tag,omitempty"`
	// EndUser is the request's end user.
	EndUser string `json:"end_user,omitempty"`
	// Targets are indexes into the route's targets, in the order to use.
	Targets []int32 `json:"targets" jsonschema:"required,minItems=1"`
}

// RetryPolicy bounds a route's attempts.
type RetryPolicy struct {
	// MaxAttempts over all targets; 0 means one per target and at least 2.
	MaxAttempts int32 `json:"max_attempts,omitempty" jsonschema:"minimum=0"`
	// BackoffBase is the backoff before retrying a target (default 100ms).
	BackoffBase Duration `json:"backoff_base,omitempty"`
	// BackoffMax caps the backoff (default 2s).
	BackoffMax Duration `json:"backoff_max,omitempty"`
}

// CircuitBreaker configures a route's breakers.
type CircuitBreaker struct {
	// Failures is the number of consecutive retryable failures that open
	// the breaker (default 5).
	Failures int32 `json:"failures,omitempty" jsonschema:"minimum=0"`
	// Cooldown is how long an open breaker rejects requests (default 30s).
	Cooldown Duration `json:"cooldown,omitempty"`
}

// CachePolicy is a route's or a key's response-cache policy. Unset fields
// take the route's policy (for a key) and then the server's defaults.
type CachePolicy struct {
	// Mode is the lookups allowed; empty takes the server default.
	Mode string `json:"mode,omitempty" jsonschema:"enum=off,enum=exact,enum=semantic"`
	// Threshold is the minimum cosine similarity of a semantic hit, in (0, 1].
	Threshold float64 `json:"threshold,omitempty" jsonschema:"minimum=0,maximum=1"`
	// TTL is how long entries live, e.g. "1h".
	TTL Duration `json:"ttl,omitempty"`
	// Namespace says who shares entries: "team", "key" or "shared:<name>"
	// (routes only).
	Namespace string `json:"namespace,omitempty" jsonschema:"pattern=^(team|key|shared:.+)$"`
}

// Team is a group that owns keys and spend.
type Team struct {
	// ID is a unique slug, e.g. "search-platform".
	ID string `json:"id" jsonschema:"required"`
	// DisplayName is a name for people. Fixed at creation.
	DisplayName string `json:"display_name,omitempty"`
	// Labels are free-form labels. Fixed at creation.
	Labels map[string]string `json:"labels,omitempty"`
	// Services are the team's services that keys, budgets and guardrails
	// may name; a service not declared here is refused.
	Services []string `json:"services,omitempty"`
}

// Key is a virtual key, declared without its secret. A key is identified
// by its team and name. Its settings are fixed at creation: to change one,
// declare a key of another name and remove the old one.
type Key struct {
	// Name is unique within the team.
	Name string `json:"name" jsonschema:"required"`
	// Team owns the key.
	Team string `json:"team" jsonschema:"required"`
	// Service is one of the team's services, if any.
	Service string `json:"service,omitempty"`
	// AllowedModels are the models and routes the key may use; empty means all.
	AllowedModels []string `json:"allowed_models,omitempty"`
	// Tags are recorded with every request of the key.
	Tags map[string]string `json:"tags,omitempty"`
	// ExpireTime is when the key stops working (RFC 3339).
	ExpireTime string `json:"expire_time,omitempty" jsonschema:"format=date-time"`
	// Cache is the key's response-cache policy (namespace "team" or "key").
	Cache *CachePolicy `json:"cache,omitempty"`
	// DropParams lets the gateway drop parameters a target cannot honour.
	DropParams bool `json:"drop_params,omitempty"`
	// SecretTo names where `apply` delivers the secret of a key it
	// creates: "file:PATH" (written with mode 0600; a relative path is
	// relative to the working directory of whoever applies). Without it,
	// or when the file cannot be written, `tollgate config apply` prints
	// the secret once.
	SecretTo string `json:"secret_to,omitempty" jsonschema:"pattern=^file:"`
}

// Budget is a hard spend limit per period for a team, a service of a team
// or a key.
type Budget struct {
	// ID is the budget's id.
	ID string `json:"id" jsonschema:"required"`
	// Team is the team (of a team, service or key budget).
	Team string `json:"team" jsonschema:"required"`
	// Service makes it a service budget.
	Service string `json:"service,omitempty"`
	// Key (a key's name in Team) makes it a key budget.
	Key string `json:"key,omitempty"`
	// Period is how often it resets.
	Period string `json:"period" jsonschema:"required,enum=daily,enum=weekly,enum=monthly,enum=lifetime"`
	// TimeZone is the IANA time zone of the period boundaries; empty is UTC.
	TimeZone string `json:"time_zone,omitempty"`
	// Limit is the money limit per period in US dollars ("25.00").
	Limit USD `json:"limit,omitempty"`
	// LimitTokens is the token limit per period (0: none).
	LimitTokens int64 `json:"limit_tokens,omitempty" jsonschema:"minimum=0"`
	// AlertThresholds are spend percentages that send an alert; 50, 80
	// and 100 when empty.
	AlertThresholds []int32 `json:"alert_thresholds,omitempty"`
}

// RateLimit limits a team's or a key's requests; zero fields mean no limit.
type RateLimit struct {
	// ID is the limit's id.
	ID string `json:"id" jsonschema:"required"`
	// Team is the team (of a team or key limit).
	Team string `json:"team" jsonschema:"required"`
	// Key (a key's name in Team) makes it a key limit.
	Key string `json:"key,omitempty"`
	// RequestsPerMinute limits requests per minute.
	RequestsPerMinute int64 `json:"requests_per_minute,omitempty" jsonschema:"minimum=0"`
	// TokensPerMinute limits input and output tokens per minute.
	TokensPerMinute int64 `json:"tokens_per_minute,omitempty" jsonschema:"minimum=0"`
	// MaxConcurrent limits requests in flight at once.
	MaxConcurrent int64 `json:"max_concurrent,omitempty" jsonschema:"minimum=0"`
}

// GuardrailPolicy is an ordered list of guardrails attached to one team,
// service, key or route.
type GuardrailPolicy struct {
	// ID is the policy's id: lower-case letters, digits and '-'.
	ID string `json:"id" jsonschema:"required"`
	// Description is free text.
	Description string `json:"description,omitempty"`
	// Attach names what the policy applies to (exactly one field).
	Attach Attachment `json:"attach" jsonschema:"required"`
	// Guardrails are the checks, in order.
	Guardrails []Guardrail `json:"guardrails" jsonschema:"required,minItems=1"`
}

// Attachment names what a guardrail policy applies to: exactly one field.
type Attachment struct {
	// Team is a team id.
	Team string `json:"team,omitempty"`
	// Service is a service as "team/service".
	Service string `json:"service,omitempty" jsonschema:"pattern=^[^/]+/[^/]+$"`
	// Key is a key as "team/name".
	Key string `json:"key,omitempty" jsonschema:"pattern=^[^/]+/[^/]+$"`
	// Route is a route name.
	Route string `json:"route,omitempty"`
}

// Guardrail is one check. Exactly one of the kind blocks (pii, secrets,
// injection, denylist, size, topics, json_schema, moderation) is set; it
// is the check's kind and configuration.
type Guardrail struct {
	// Name is unique within the policy.
	Name string `json:"name" jsonschema:"required"`
	// Stage is the side checked; the default is input (output for json_schema).
	Stage string `json:"stage,omitempty" jsonschema:"enum=input,enum=output,enum=both"`
	// Mode is validate (the default) or mutate (rewrite matches).
	Mode string `json:"mode,omitempty" jsonschema:"enum=validate,enum=mutate"`
	// OnMatch is what validate does with a match: block (the default) or flag.
	OnMatch string `json:"on_match,omitempty" jsonschema:"enum=block,enum=flag"`
	// FailOpen lets requests through when the check fails.
	FailOpen bool `json:"fail_open,omitempty"`
	// Scope lists the roles checked at the input stage (empty: all).
	Scope []string `json:"scope,omitempty"`

	// PII detects personal data (emails, cards, IBANs, ...).
	PII *guardrails.PIIConfig `json:"pii,omitempty"`
	// Secrets detects credentials.
	Secrets *guardrails.SecretsConfig `json:"secrets,omitempty"`
	// Injection scores prompt-injection attempts.
	Injection *guardrails.InjectionConfig `json:"injection,omitempty"`
	// DenyList matches words and patterns.
	DenyList *guardrails.DenyListConfig `json:"denylist,omitempty"`
	// Size bounds the text.
	Size *guardrails.SizeConfig `json:"size,omitempty"`
	// Topics allows or denies topics and languages.
	Topics *guardrails.TopicsConfig `json:"topics,omitempty"`
	// JSONSchema checks the answer against a JSON Schema.
	JSONSchema *guardrails.JSONSchemaConfig `json:"json_schema,omitempty"`
	// Moderation asks a moderation classifier.
	Moderation *guardrails.ModerationConfig `json:"moderation,omitempty"`
}

// AlertWebhook is an endpoint alerts are posted to.
type AlertWebhook struct {
	// ID is the webhook's id.
	ID string `json:"id" jsonschema:"required"`
	// URL is a reference to the URL ("env:NAME" or "file:/path"): the
	// URL is a secret of the receiver. It is resolved by whoever applies
	// the configuration; changes of the URL behind the reference are seen
	// through its scheme and host only.
	URL string `json:"url" jsonschema:"required,pattern=^(env|file):"`
	// Secret is a reference to the signing secret ("whsec_..."); empty
	// lets the gateway generate one, delivered like a key's (SecretTo).
	Secret string `json:"secret,omitempty" jsonschema:"pattern=^(env|file):"`
	// SecretTo names where a generated secret is delivered ("file:/path").
	SecretTo string `json:"secret_to,omitempty" jsonschema:"pattern=^file:"`
	// Kinds are the alert kinds sent; every kind when empty.
	Kinds []string `json:"kinds,omitempty" jsonschema:"enum=budget_threshold,enum=spend_velocity,enum=credential_refresh"`
	// Team sends only alerts about this team.
	Team string `json:"team,omitempty"`
}
