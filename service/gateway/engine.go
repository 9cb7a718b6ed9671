package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/semcache"
	"github.com/tollgate-dev/tollgate/service/governance"
	"github.com/tollgate-dev/tollgate/service/guardrails"
	"github.com/tollgate-dev/tollgate/service/pricing"
	"github.com/tollgate-dev/tollgate/service/registry"
	"github.com/tollgate-dev/tollgate/service/routing"
	"github.com/tollgate-dev/tollgate/service/store"
)

// Surface names the API a request came through.
type Surface string

// The surfaces.
const (
	SurfaceRPC       Surface = "rpc"
	SurfaceOpenAI    Surface = "openai"
	SurfaceAnthropic Surface = "anthropic"
	SurfaceGemini    Surface = "gemini"
	// SurfaceResponses is the OpenAI Responses API (/v1/responses).
	SurfaceResponses Surface = "responses"
	// SurfaceCompletions is OpenAI's legacy /v1/completions.
	SurfaceCompletions Surface = "completions"
	// SurfaceModerations is OpenAI's /v1/moderations.
	SurfaceModerations Surface = "moderations"
)

// Recorder receives request records. It must not block (see package accounting).
type Recorder interface {
	Record(r store.Record)
}

// Call describes who is calling and how; the surface fills it in.
type Call struct {
	// RequestID is the gateway's id for the request.
	RequestID string
	// Surface is the API the request came through.
	Surface Surface
	// Credential is the presented secret (a virtual key).
	Credential string
	// EndUser, Tags and Metadata come from the request, for attribution only.
	EndUser  string
	Tags     []string
	Metadata map[string]string
	// Start is when the request arrived.
	Start time.Time
	// Sticky asks weighted routes to pick the same target for the same
	// end user (or key) every time.
	Sticky bool
	// Cache holds the request's own response-cache instructions (see
	// CacheDirectives).
	Cache semcache.Directives
}

// Engine runs requests through the pipeline. It is safe for concurrent use.
type Engine struct {
	reg    *registry.Registry
	rec    Recorder
	log    *slog.Logger
	now    func() time.Time
	router *routing.Router
	gov    *governance.Manager // nil: no budgets or rate limits (limits.go)
	// outputs sizes the reservation of requests without max_tokens (limits.go).
	outputs outputStats

	cache    *semcache.Cache // nil: no response cache (cache.go)
	cacheCfg CacheConfig

	guard *guardConfig // nil: no guardrails (guardrails.go)

	callers  CallerAuthenticator // nil: JWT callers are refused (callers.go)
	timeouts Timeouts            // default upstream timeouts (attempts.go)

	staleLog logLimit // refusals of unconfirmed keys are logged once a second

	tracer trace.Tracer // spans of the pipeline's steps; nil for none (trace.go)
	// attemptErrs is told of every failed upstream attempt (WithAttemptErrors).
	attemptErrs func(provider, kind string)

	moderation localModeration // the gateway's own moderation classifiers (moderate.go)
}

// logLimit lets a repeated log line through at most once a second.
type logLimit struct{ last atomic.Int64 }

func (l *logLimit) allow(now time.Time) bool {
	n, last := now.UnixNano(), l.last.Load()
	return n-last >= int64(time.Second) && l.last.CompareAndSwap(last, n)
}

// Option configures an Engine.
type Option func(*Engine)

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) Option { return func(e *Engine) { e.now = now } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(e *Engine) { e.log = l } }

// WithRouter sets the router that keeps per-target statistics; a new one
// by default.
func WithRouter(r *routing.Router) Option { return func(e *Engine) { e.router = r } }

// New returns an Engine over the in-memory registry and a record writer.
func New(reg *registry.Registry, rec Recorder, opts ...Option) *Engine {
	e := &Engine{reg: reg, rec: rec, log: slog.New(slog.DiscardHandler), now: time.Now}
	for _, o := range opts {
		o(e)
	}
	if e.router == nil {
		// The router reads the engine's clock, so that an injected one
		// (WithClock) moves breaker cooldowns and latency windows too.
		epoch := e.now()
		e.router = routing.NewRouter(routing.WithClock(func() int64 { return int64(e.now().Sub(epoch)) }))
	}
	return e
}

// Registry returns the in-memory configuration the engine serves from.
func (e *Engine) Registry() *registry.Registry { return e.reg }

// Router returns the engine's router, e.g. to register its metrics.
func (e *Engine) Router() *routing.Router { return e.router }

// Authenticate resolves the call's credential to a usable key: a virtual
// key, or a JWT of a trusted issuer (callers.go). While the
// registry's view of keys is older than its staleness bound, the key is
// re-read from the store first; when the store does not answer the call is
// refused with a retryable ErrNotReady rather than trusting a key that may
// have been revoked meanwhile.
func (e *Engine) Authenticate(ctx context.Context, call *Call) (*registry.Key, error) {
	if call.Credential == "" {
		return nil, fmt.Errorf("%w: missing API key: send \"Authorization: Bearer tg-...\"", ErrUnauthenticated)
	}
	if k, ok, err := e.authenticateJWT(ctx, call); ok {
		return k, err
	}
	m, ok := e.reg.LookupSecret(call.Credential)
	if !ok {
		return nil, fmt.Errorf("%w: unknown API key", ErrUnauthenticated)
	}
	if changed, err := e.reg.Revalidate(ctx, m.Key.ID); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if e.staleLog.allow(e.now()) {
			e.log.WarnContext(ctx, "gateway: refusing keys: the configuration is stale and Postgres does not confirm them (logged at most once a second)",
				"key", m.Key.ID, "err", err)
		}
		return nil, &RetryError{Err: ErrNotReady, RetryAfter: time.Second,
			Reason: "the gateway cannot confirm that API key " + m.Key.ID + " is still valid (its configuration store does not answer)"}
	} else if changed {
		if m, ok = e.reg.LookupSecret(call.Credential); !ok {
			return nil, fmt.Errorf("%w: unknown API key", ErrUnauthenticated)
		}
	}
	k := m.Key
	now := e.now()
	switch {
	case !k.RevokedAt.IsZero():
		return nil, fmt.Errorf("%w: API key %s was revoked", ErrUnauthenticated, k.ID)
	case !k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt):
		return nil, fmt.Errorf("%w: API key %s expired at %s", ErrUnauthenticated, k.ID, k.ExpiresAt.UTC().Format(time.RFC3339))
	case m.Previous && !now.Before(k.PrevSecretExpiresAt):
		return nil, fmt.Errorf("%w: API key %s was rotated and this secret's grace period is over", ErrUnauthenticated, k.ID)
	}
	return k, nil
}

// resolve finds the route (or plain model) of a requested name and checks
// the key may use it.
func (e *Engine) resolve(k *registry.Key, name string, embedding bool) (*registry.Route, error) {
	if !k.Allows(name) {
		return nil, fmt.Errorf("%w: API key %s may not use model %q", ErrPermissionDenied, k.ID, name)
	}
	rt, ok := e.reg.Route(name)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrModelNotFound, name)
	}
	if rt.Embedding != embedding {
		kind := "a chat model"
		if rt.Embedding {
			kind = "an embedding model"
		}
		return nil, invalid("model", fmt.Sprintf("%q is %s", name, kind))
	}
	for i := range rt.Serving {
		if rt.Serving[i].Provider != nil {
			return rt, nil
		}
	}
	return nil, fmt.Errorf("%w: provider %q of model %q is not usable (see the gateway log)", ErrUnavailable, rt.Serving[0].ProviderID, name)
}

// ChatResult is a completed chat request.
type ChatResult struct {
	Response *providers.ChatResponse
	// Provider and Model say what served the request.
	Provider string
	Model    string
	// CostNanos is the request's cost in nano-USD.
	CostNanos int64
	// Route is the route the requested name resolved to, "" for a plain model.
	Route string
	// Attempts is the number of upstream attempts made (retries and fallbacks included).
	Attempts int
	// CacheStatus is the response cache's outcome, "" when no lookup
	// applied; on a hit Provider is CacheProvider, CostNanos is 0 and
	// Response is the cached answer (its usage that of the original).
	CacheStatus semcache.Status
	// CacheScore is a hit's similarity (1 for an exact hit).
	CacheScore float64
	// SavedNanos is the upstream cost a hit saved.
	SavedNanos int64
	// Guardrails lists what the guardrails did (see GuardrailSummary).
	Guardrails []guardrails.Verdict
	// Dropped lists the parameters left out (the X-Tollgate-Dropped-Params header).
	Dropped []string
}

// chatPlan is a chat request that passed the checks every chat request
// goes through, streamed or not: who asks, what serves it, what the input
// guardrails made of it and what the cache says.
type chatPlan struct {
	rec   record
	key   *registry.Key
	route *registry.Route
	guard *guardRun
	// req is the request to send upstream: the caller's, or the input
	// guardrails' rewritten copy.
	req         *providers.ChatRequest
	cache       *semcache.Result
	cacheStatus semcache.Status
	cacheScore  float64
}

// planChat runs the shared head of the chat pipeline: authenticate,
// validate, admit (budgets and limits), resolve the model or route, input
// guardrails, cache lookup. On failure the request is already recorded.
func (e *Engine) planChat(ctx context.Context, call *Call, req *providers.ChatRequest, stream bool) (*chatPlan, error) {
	p := &chatPlan{rec: e.newRecord(ctx, call, "chat", req.Model, stream)}
	actx, span := e.startSpan(ctx, "tollgate.admit")
	k, err := e.Authenticate(actx, call)
	if err != nil {
		return nil, e.finish(&p.rec, endSpan(span, err))
	}
	p.key = k
	p.rec.setKey(k)
	if err := ValidateChat(req); err != nil {
		return nil, e.finish(&p.rec, endSpan(span, err))
	}
	if err := e.admitChat(actx, &p.rec, k, req); err != nil {
		return nil, e.finish(&p.rec, endSpan(span, err))
	}
	if p.route, err = e.resolve(k, req.Model, false); err != nil {
		return nil, e.finish(&p.rec, endSpan(span, err))
	}
	endSpan(span, nil)
	if e.guard != nil {
		gctx, span := e.startSpan(ctx, "tollgate.guardrails.input")
		p.guard, p.req, err = e.guardInput(gctx, &p.rec, k, req)
		err = endSpan(span, err)
	} else {
		p.req = req
	}
	if err != nil {
		return nil, e.finish(&p.rec, err)
	}
	if p.req != req {
		p.req.Source = req.Source.Rewritten(p.req) // see passthrough.go
	}
	if e.cache != nil {
		cctx, span := e.startSpan(ctx, "tollgate.cache.lookup")
		p.cache = e.lookup(cctx, call, &p.rec, k, p.route, p.req)
		span.SetAttributes(attrCacheStatus.String(string(cacheStatusOf(p.cache))))
		span.End()
	}
	p.cacheStatus, p.cacheScore = cacheInfo(p.cache)
	return p, nil
}

// hit reports whether the cache answered.
func (p *chatPlan) hit() bool { return p.cache != nil && p.cache.Hit != nil }

// Chat runs a unary chat request. req.Model is the name the caller asked for.
func (e *Engine) Chat(ctx context.Context, call *Call, req *providers.ChatRequest) (*ChatResult, error) {
	p, err := e.planChat(ctx, call, req, false)
	if err != nil {
		return nil, err
	}
	rec, rt, gr, cres, status, score := &p.rec, p.route, p.guard, p.cache, p.cacheStatus, p.cacheScore
	req = p.req
	if p.hit() {
		hit, err := e.checkOutput(ctx, gr, rec, cres.Hit.Response)
		if err != nil {
			return nil, e.finish(rec, err)
		}
		e.finish(rec, nil) // no provider cost, no tokens: governance settles zero
		return &ChatResult{Response: hit, Provider: rec.Provider, Model: rec.Model, Route: routeName(rt),
			CacheStatus: status, CacheScore: score, SavedNanos: rec.SavedNanos, Guardrails: gr.verdicts()}, nil
	}
	var resp *providers.ChatResponse
	drop := dropsParams(p.key, rt)
	out, err := e.run(ctx, rt, facts(call, rec, req), false, func(ctx context.Context, sv *registry.Serving, _ *routing.Target) (func(), error) {
		up := *req
		up.Model = sv.UpstreamModel
		if up.User == "" {
			up.User = call.EndUser
		}
		if err := checkUnsupported(rec, sv, &up, drop, req.Model); err != nil {
			return nil, err
		}
		r, err := sv.Provider.Chat(ctx, &up)
		resp = r
		return nil, err
	})
	rec.served(rt, out)
	if err != nil {
		return nil, e.finish(rec, err)
	}
	cost := pricing.Cost(out.serving.Pricing, resp.Usage)
	rec.setUsage(resp.Usage, cost)
	if resp.Model != "" {
		rec.Model = resp.Model
	}
	if gr.checksOutput() {
		resp.Raw = nil // the output stage answers with the canonical view
	}
	if resp, err = e.checkOutput(ctx, gr, rec, resp); err != nil {
		return nil, e.finish(rec, err)
	}
	if rec.span != nil && rec.span.IsRecording() && len(resp.Choices) > 0 {
		finishReasons(rec.span, string(resp.Choices[0].FinishReason))
	}
	e.finish(rec, nil)
	if gr.cacheable() {
		e.cachePut(ctx, cres, withoutRaw(resp), cost)
	}
	return &ChatResult{Response: resp, Provider: rec.Provider, Model: rec.Model, CostNanos: cost,
		Route: routeName(rt), Attempts: out.attempts, CacheStatus: status, CacheScore: score, Guardrails: gr.verdicts(),
		Dropped: rec.DroppedParams}, nil
}

// routeName returns the name of a configured route, "" for a plain model.
func routeName(rt *registry.Route) string {
	if rt.Alias {
		return rt.Name
	}
	return ""
}

// EmbedResult is a completed embedding request.
type EmbedResult struct {
	Response  *providers.EmbedResponse
	Provider  string
	Model     string
	CostNanos int64
	// Route and Attempts are as in ChatResult.
	Route    string
	Attempts int
}

// Embed runs an embedding request. req.Model is the name the caller asked for.
func (e *Engine) Embed(ctx context.Context, call *Call, req *providers.EmbedRequest) (*EmbedResult, error) {
	rec := e.newRecord(ctx, call, "embed", req.Model, false)
	k, err := e.Authenticate(ctx, call)
	if err != nil {
		return nil, e.finish(&rec, err)
	}
	rec.setKey(k)
	if err := ValidateEmbed(req); err != nil {
		return nil, e.finish(&rec, err)
	}
	if err := e.admitEmbed(ctx, &rec, k, req); err != nil {
		return nil, e.finish(&rec, err)
	}
	rt, err := e.resolve(k, req.Model, true)
	if err != nil {
		return nil, e.finish(&rec, err)
	}
	f := routing.Facts{EndUser: call.EndUser, KeyID: rec.KeyID, TeamID: rec.TeamID, ServiceID: rec.ServiceID,
		Tags: rec.Tags, RequestID: call.RequestID, Sticky: call.Sticky}
	var resp *providers.EmbedResponse
	out, err := e.run(ctx, rt, f, false, func(ctx context.Context, sv *registry.Serving, _ *routing.Target) (func(), error) {
		emb, ok := sv.Provider.(providers.Embedder)
		if !ok {
			return nil, invalid("model", fmt.Sprintf("provider %q does not serve embeddings", sv.ProviderID))
		}
		up := *req
		up.Model = sv.UpstreamModel
		if up.User == "" {
			up.User = call.EndUser
		}
		r, err := emb.Embed(ctx, &up)
		if err != nil {
			return nil, err
		}
		if len(r.Vectors) != req.Count() {
			return nil, &providers.Error{Provider: sv.ProviderID, Kind: providers.KindBadResponse,
				Message: fmt.Sprintf("upstream returned %d vectors for %d inputs", len(r.Vectors), req.Count())}
		}
		resp = r
		return nil, nil
	})
	rec.served(rt, out)
	if err != nil {
		return nil, e.finish(&rec, err)
	}
	cost := pricing.Cost(out.serving.Pricing, resp.Usage)
	rec.setUsage(resp.Usage, cost)
	e.finish(&rec, nil)
	return &EmbedResult{Response: resp, Provider: rec.Provider, Model: rec.Model, CostNanos: cost,
		Route: routeName(rt), Attempts: out.attempts}, nil
}

// ListModels returns the models the call's key may use, sorted by name.
func (e *Engine) ListModels(ctx context.Context, call *Call) ([]*registry.Model, error) {
	k, err := e.Authenticate(ctx, call)
	if err != nil {
		return nil, err
	}
	all := e.reg.Models()
	out := all[:0]
	for _, m := range all {
		if k.Allows(m.Name) {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b *registry.Model) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// record is a store.Record under construction.
type record struct {
	store.Record
	start time.Time
	lim   limits // budget and rate-limit reservations (limits.go)
	// promptTokens caches the request's estimated prompt tokens (see prompt).
	promptTokens int64
	// note receives the finished record for the request's log line; nil
	// when the server gave none (see Note).
	note *Note
	// span is the request's server span (a no-op one when tracing is
	// off); finish sets the GenAI attributes on it (trace.go).
	span trace.Span
}

// prompt returns the estimated prompt tokens of req, counted once per
// request for admission, routing and stream usage estimates.
func (r *record) prompt(req *providers.ChatRequest) int64 {
	if r.promptTokens == 0 {
		r.promptTokens = EstimatePromptTokens(req)
	}
	return r.promptTokens
}

func (e *Engine) newRecord(ctx context.Context, call *Call, op, model string, stream bool) record {
	start := call.Start
	if start.IsZero() {
		start = e.now()
	}
	return record{start: start, note: NoteFrom(ctx), span: trace.SpanFromContext(ctx), Record: store.Record{
		RequestID: call.RequestID, Time: start, EndUser: call.EndUser, Tags: call.Tags,
		Surface: string(call.Surface), Operation: op, Stream: stream, RequestedModel: model,
	}}
}

func (r *record) setKey(k *registry.Key) {
	r.KeyID, r.TeamID, r.ServiceID = k.ID, k.TeamID, k.ServiceID
	if k.Subject != "" {
		r.EndUser = k.Subject // a JWT caller's subject is its end user
	}
	if len(k.Tags) > 0 {
		tags := make([]string, 0, len(r.Tags)+len(k.Tags))
		tags = append(tags, r.Tags...)
		for name, v := range k.Tags {
			tags = append(tags, name+"="+v)
		}
		r.Tags = tags
	}
}

func (r *record) setUsage(u providers.Usage, cost int64) {
	r.InputTokens, r.OutputTokens = u.InputTokens, u.OutputTokens
	r.CachedInputTokens, r.CacheWriteTokens, r.ReasoningTokens = u.CachedInputTokens, u.CacheWriteTokens, u.ReasoningTokens
	r.UsageEstimated = u.Estimated
	r.CostNanos = cost
}

// finish completes and hands off the record, and returns err unchanged.
func (e *Engine) finish(r *record, err error) error {
	e.settle(r)
	r.Status, r.ErrorCode = StatusOf(err)
	r.Latency = e.now().Sub(r.start)
	e.rec.Record(r.Record)
	if r.note != nil {
		r.note.rec = recordCopy{set: true, r: r.Record}
	}
	if r.span != nil && r.span.IsRecording() {
		annotate(r.span, &r.Record)
	}
	return err
}
