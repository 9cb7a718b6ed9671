package routing

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// ErrInvalidRoute is wrapped by every validation failure of a route.
var ErrInvalidRoute = errors.New("invalid route")

// Strategy says how a route orders its targets.
type Strategy string

// The strategies.
const (
	// StrategyFallback tries the targets in the configured order.
	StrategyFallback Strategy = "fallback"
	// StrategyWeighted picks the first target at random by weight (or by a
	// hash of the end user or key when the request asks to be sticky); the
	// rest follow in the configured order.
	StrategyWeighted Strategy = "weighted"
	// StrategyLatency tries the target with the lowest peak-EWMA latency
	// first, exploring another target on a small share of requests.
	StrategyLatency Strategy = "latency"
	// StrategyCost tries the cheapest target that fits the request first.
	StrategyCost Strategy = "cost"
	// StrategyLeastBusy tries the target with the fewest requests in flight first.
	StrategyLeastBusy Strategy = "least_busy"
)

// Valid reports whether s is a known strategy.
func (s Strategy) Valid() bool {
	switch s {
	case StrategyFallback, StrategyWeighted, StrategyLatency, StrategyCost, StrategyLeastBusy:
		return true
	}
	return false
}

// Duration is a time.Duration that reads and writes JSON as a Go duration
// string ("250ms").
type Duration time.Duration

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string like \"250ms\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	*d = Duration(v)
	return nil
}

// Price is a target's price in nano-USD per million tokens.
type Price struct {
	InputPerMillion  int64 `json:"input_per_million"`
	OutputPerMillion int64 `json:"output_per_million"`
}

// Target is one upstream a route may send a request to.
type Target struct {
	// Provider is the provider instance id. When empty, Model names a
	// configured model whose provider, upstream model, price and context
	// window the target takes.
	Provider string `json:"provider,omitempty"`
	// Model is the upstream model (or a configured model, see Provider).
	Model string `json:"model"`
	// Weight is the share of first picks of a weighted route.
	Weight int `json:"weight,omitempty"`
	// Price overrides the configured price, for the cost strategy.
	Price *Price `json:"price,omitempty"`
	// ContextWindow is the model's context window in tokens, 0 if unknown.
	ContextWindow int `json:"context_window,omitempty"`
	// Timeout bounds one attempt on this target (a unary answer, a
	// stream's first chunk); 0 means the engine's default.
	Timeout Duration `json:"timeout,omitempty"`

	// NoTools and NoImages say the upstream cannot take tools or images.
	// They are not configured: the registry fills them in from the
	// provider's capabilities.
	NoTools  bool `json:"-"`
	NoImages bool `json:"-"`
}

// Key returns "provider/model", the identity the Router keeps statistics under.
func (t *Target) Key() string { return t.Provider + "/" + t.Model }

// Condition picks a subset of a route's targets for matching requests.
// Every non-empty field must match.
type Condition struct {
	Team    string `json:"team,omitempty"`
	Service string `json:"service,omitempty"`
	// Tag matches a request or key tag ("env=prod" or "batch").
	Tag     string `json:"tag,omitempty"`
	EndUser string `json:"end_user,omitempty"`
	// Targets are indexes into Route.Targets, in the order to use.
	Targets []int `json:"targets"`
}

func (c *Condition) matches(f *Facts) bool {
	if c.Team != "" && c.Team != f.TeamID {
		return false
	}
	if c.Service != "" && c.Service != f.ServiceID {
		return false
	}
	if c.EndUser != "" && c.EndUser != f.EndUser {
		return false
	}
	if c.Tag != "" {
		found := false
		for _, t := range f.Tags {
			if t == c.Tag {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// Retry is a route's retry policy.
type Retry struct {
	// MaxAttempts bounds the attempts of one request over all targets; 0
	// means the default: one per target, and at least 2.
	MaxAttempts int `json:"max_attempts,omitempty"`
	// BackoffBase and BackoffMax shape the exponential backoff before
	// retrying a target that already failed; defaults 100ms and 2s.
	BackoffBase Duration `json:"backoff_base,omitempty"`
	BackoffMax  Duration `json:"backoff_max,omitempty"`
}

// Breaker configures the circuit breaker of a route's targets.
type Breaker struct {
	// Failures is the number of consecutive retryable failures that open
	// the breaker; default 5.
	Failures int `json:"failures,omitempty"`
	// Cooldown is how long an open breaker rejects requests before it
	// admits one probe; default 30s.
	Cooldown Duration `json:"cooldown,omitempty"`
}

// The defaults of a route's policies.
const (
	DefaultMaxAttempts = 2
	DefaultBackoffBase = 100 * time.Millisecond
	DefaultBackoffMax  = 2 * time.Second
	DefaultFailures    = 5
	DefaultCooldown    = 30 * time.Second
	maxAttemptsLimit   = 10
	maxTargets         = 64
)

// Route is an alias and how to serve it. Name and Strategy are stored
// apart from the rest; the rest marshals to JSON as the route's spec.
type Route struct {
	Name       string      `json:"-"`
	Strategy   Strategy    `json:"-"`
	Targets    []Target    `json:"targets"`
	Conditions []Condition `json:"conditions,omitempty"`
	Retry      Retry       `json:"retry,omitzero"`
	Breaker    Breaker     `json:"breaker,omitzero"`
	// Timeout bounds the whole request, all attempts included; 0 means
	// only the caller's deadline.
	Timeout Duration `json:"timeout,omitempty"`
	// FirstChunkTimeout bounds the wait for a stream's first chunk per
	// attempt; 0 means the target's timeout, else the engine's default.
	FirstChunkTimeout Duration `json:"first_chunk_timeout,omitempty"`
	// ChunkTimeout bounds the gap between two chunks of a stream; 0 means
	// the server's default.
	ChunkTimeout Duration `json:"chunk_timeout,omitempty"`
	// Sticky makes weighted picks deterministic per end user (or key).
	Sticky bool `json:"sticky,omitempty"`
	// Cache is the route's response-cache policy; nil takes the server's
	// defaults.
	Cache *Cache `json:"cache,omitempty"`
	// DropParams lets the gateway leave out request parameters a target
	// cannot honour (and say so in X-Tollgate-Dropped-Params) instead of
	// refusing the request.
	DropParams bool `json:"drop_params,omitempty"`
}

// Single returns the single-target fallback route of a plain model.
func Single(name string, t Target) *Route {
	return &Route{Name: name, Strategy: StrategyFallback, Targets: []Target{t}}
}

// ParseRoute decodes a stored spec and validates the route.
func ParseRoute(name string, strategy Strategy, spec []byte) (*Route, error) {
	r := &Route{}
	if len(spec) > 0 {
		if err := json.Unmarshal(spec, r); err != nil {
			return nil, fmt.Errorf("%w: route %q: spec: %w", ErrInvalidRoute, name, err)
		}
	}
	r.Name, r.Strategy = name, strategy
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return r, nil
}

// Spec returns the JSON spec of the route (all but Name and Strategy).
func (r *Route) Spec() ([]byte, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("route %q: %w", r.Name, err)
	}
	return b, nil
}

// MaxAttempts returns the effective attempt limit.
func (r *Route) MaxAttempts() int {
	if r.Retry.MaxAttempts > 0 {
		return r.Retry.MaxAttempts
	}
	return max(len(r.Targets), DefaultMaxAttempts)
}

func (r *Route) failures() int32 {
	if r.Breaker.Failures > 0 {
		return int32(r.Breaker.Failures)
	}
	return DefaultFailures
}

func (r *Route) cooldown() time.Duration {
	if r.Breaker.Cooldown > 0 {
		return time.Duration(r.Breaker.Cooldown)
	}
	return DefaultCooldown
}

// BackoffBounds returns the effective backoff base and cap.
func (r *Route) BackoffBounds() (base, ceiling time.Duration) {
	base, ceiling = DefaultBackoffBase, DefaultBackoffMax
	if r.Retry.BackoffBase > 0 {
		base = time.Duration(r.Retry.BackoffBase)
	}
	if r.Retry.BackoffMax > 0 {
		ceiling = time.Duration(r.Retry.BackoffMax)
	}
	return base, max(base, ceiling)
}

// Validate checks what can be checked without the rest of the
// configuration: references to providers and models are checked by
// [CheckRefs].
func (r *Route) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: route %q: %s", ErrInvalidRoute, r.Name, fmt.Sprintf(format, args...))
	}
	switch {
	case r.Name == "":
		return fmt.Errorf("%w: name is required", ErrInvalidRoute)
	case !r.Strategy.Valid():
		return bad("unknown strategy %q (want fallback, weighted, latency, cost or least_busy)", r.Strategy)
	case len(r.Targets) == 0:
		return bad("no targets")
	case len(r.Targets) > maxTargets:
		return bad("%d targets, at most %d", len(r.Targets), maxTargets)
	}
	var weights int
	for i, t := range r.Targets {
		switch {
		case t.Model == "":
			return bad("targets[%d]: model is required", i)
		case t.Weight < 0:
			return bad("targets[%d]: negative weight", i)
		case t.ContextWindow < 0:
			return bad("targets[%d]: negative context window", i)
		case t.Timeout < 0:
			return bad("targets[%d]: negative timeout", i)
		case t.Price != nil && (t.Price.InputPerMillion < 0 || t.Price.OutputPerMillion < 0):
			return bad("targets[%d]: negative price", i)
		case t.Provider == "" && t.Model == r.Name:
			return bad("targets[%d]: a route cannot target itself", i)
		}
		weights += t.Weight
	}
	if r.Strategy == StrategyWeighted && weights <= 0 {
		return bad("weights sum to zero")
	}
	for i, c := range r.Conditions {
		if len(c.Targets) == 0 {
			return bad("conditions[%d]: no targets", i)
		}
		for _, ix := range c.Targets {
			if ix < 0 || ix >= len(r.Targets) {
				return bad("conditions[%d]: target index %d out of range", i, ix)
			}
		}
	}
	switch {
	case r.Retry.MaxAttempts < 0 || r.Retry.MaxAttempts > maxAttemptsLimit:
		return bad("retry.max_attempts must be 0..%d", maxAttemptsLimit)
	case r.Retry.BackoffBase < 0 || r.Retry.BackoffMax < 0:
		return bad("negative backoff")
	case r.Retry.BackoffMax > 0 && r.Retry.BackoffBase > r.Retry.BackoffMax:
		return bad("retry.backoff_base exceeds retry.backoff_max")
	case r.Breaker.Failures < 0:
		return bad("negative breaker.failures")
	case r.Breaker.Cooldown < 0:
		return bad("negative breaker.cooldown")
	case r.Timeout < 0 || r.FirstChunkTimeout < 0 || r.ChunkTimeout < 0:
		return bad("negative timeout")
	}
	if r.Cache != nil {
		if err := r.Cache.validate(); err != nil {
			return bad("cache: %v", err)
		}
	}
	return nil
}

// Catalog answers the questions CheckRefs asks about the rest of the configuration.
type Catalog interface {
	// HasProvider reports whether a provider id is configured.
	HasProvider(id string) bool
	// HasModel reports whether a model name is configured.
	HasModel(name string) bool
	// HasRoute reports whether a route name is configured.
	HasRoute(name string) bool
}

// CheckRefs rejects a route whose targets name unknown providers or
// models, or another route (routes never chain).
func (r *Route) CheckRefs(c Catalog) error {
	for i, t := range r.Targets {
		switch {
		case t.Provider == "" && c.HasRoute(t.Model):
			return fmt.Errorf("%w: route %q: targets[%d] names route %q: routes cannot target routes", ErrInvalidRoute, r.Name, i, t.Model)
		case t.Provider == "" && !c.HasModel(t.Model):
			return fmt.Errorf("%w: route %q: targets[%d]: unknown model %q (give a provider for an upstream model)", ErrInvalidRoute, r.Name, i, t.Model)
		case t.Provider != "" && !c.HasProvider(t.Provider):
			return fmt.Errorf("%w: route %q: targets[%d]: unknown provider %q", ErrInvalidRoute, r.Name, i, t.Provider)
		}
	}
	return nil
}
