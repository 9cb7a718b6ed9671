package gateway

import (
	"context"
	"sync"
	"time"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/governance"
	"github.com/tollgate-dev/tollgate/service/pricing"
	"github.com/tollgate-dev/tollgate/service/registry"
	"github.com/tollgate-dev/tollgate/service/store"
)

// Budget and rate-limit refusals. The error is a *governance.LimitError
// (limit, remaining, reset, retry-after; package edge renders it) wrapping
// one of these.
var (
	// ErrBudgetExceeded means a budget of the key, team or service has no
	// room for the request. Retrying before the period resets is useless.
	ErrBudgetExceeded = governance.ErrBudgetExceeded
	// ErrRateLimited means a requests-per-minute, tokens-per-minute or
	// concurrency limit refused the request; retry after RetryAfter.
	ErrRateLimited = governance.ErrRateLimited
	// ErrLimitsUnavailable means the budgets and rate limits of the request
	// could not be checked (see governance.ErrUnavailable): the request is
	// refused, not for lack of quota; retry after the error's RetryAfter.
	ErrLimitsUnavailable = governance.ErrUnavailable
)

// DefaultOutputTokens is the default of WithDefaultOutputTokens.
const DefaultOutputTokens = 1024

// outputWindow is how long an observed output size counts towards the
// reservation of requests without max_tokens (between one and two windows).
const outputWindow = 10 * time.Minute

// WithGovernance enforces the budgets and rate limits of m.
func WithGovernance(m *governance.Manager) Option { return func(e *Engine) { e.gov = m } }

// WithDefaultOutputTokens sets the output a chat request that sets no
// max_tokens is assumed to produce per choice (default DefaultOutputTokens):
// its reservation is the larger of this and the largest output seen on
// the same model or route in the last 10 to 20 minutes, at most the
// model's max output. A unary answer longer than that is charged in full
// (the overshoot the documented bound allows); a stream tops up its
// reservation as it runs instead.
func WithDefaultOutputTokens(n int64) Option {
	return func(e *Engine) {
		if n > 0 {
			e.outputs.floor = n
		}
	}
}

// Token bounds of the reservation. Every supported family tokenises text
// at the byte level — OpenAI's o200k/cl100k BPE (OpenAI, Azure and most
// OpenAI-compatible servers), Anthropic's BPE, Gemini's SentencePiece with
// byte fallback — so a token is at least one byte of UTF-8 text and one
// token per byte bounds the prompt's text from above in every family.
// What a request adds around its text is bounded by allowances that cover
// each family's documented framing: OpenAI's 3 tokens per message and 3
// for the reply primer, Anthropic's tool-use system prompt (at most 346
// tokens when tools are given), function definitions' rendering around
// their JSON schema. Images are the one estimated part: the largest
// documented per-image cost (gpt-4o high detail at most 1,445, Claude
// about 1,600 at its largest size); a Gemini image of more than six 768px
// tiles, or a model that multiplies image tokens like gpt-4o-mini, can
// exceed it.
const (
	tokensPerRequest  = 8
	tokensPerMessage  = 4 // besides the bytes of role, name and tool call id
	tokensToolsPrompt = 512
	tokensPerTool     = 32 // besides the bytes of name, description and schema
	tokensPerToolCall = 8  // besides the bytes of id, name and arguments
	tokensPerImage    = 1600
)

// PromptTokenBound returns an upper bound of req's prompt tokens in any
// supported model family (see the token bounds above): one token per byte
// of text, plus per-message, per-tool and per-image allowances.
func PromptTokenBound(req *providers.ChatRequest) int64 {
	n := int64(tokensPerRequest)
	for i := range req.Messages {
		m := &req.Messages[i]
		n += tokensPerMessage + int64(len(m.Role)+len(m.Name)+len(m.ToolCallID))
		for _, p := range m.Content {
			switch p.Type {
			case providers.PartImage:
				n += tokensPerImage
			default:
				n += int64(len(p.Text) + len(p.RedactedData))
			}
		}
		for _, tc := range m.ToolCalls {
			n += tokensPerToolCall + int64(len(tc.ID)+len(tc.Name)+len(tc.Arguments))
		}
	}
	if len(req.Tools) > 0 {
		n += tokensToolsPrompt
	}
	for _, t := range req.Tools {
		n += tokensPerTool + int64(len(t.Name)+len(t.Description)+len(t.Parameters))
	}
	if rf := req.ResponseFormat; rf != nil {
		n += tokensPerTool + int64(len(rf.Name)+len(rf.Description)+len(rf.Schema))
	}
	return n
}

// limits is what a request holds of the budgets and rate limits: its
// reservation, and what is needed to top up a stream's.
type limits struct {
	ticket *governance.Ticket
	price  store.Pricing
	// reservedOut is the output tokens reserved (all choices); outCap is
	// the most the request can produce (0: unknown, no cap on top-ups).
	reservedOut, outCap int64
	// step is a top-up's size in output tokens.
	step int64
	// outBytes counts the output bytes streamed: at least its tokens.
	outBytes int64
	// promptBound is the prompt's token bound (PromptTokenBound).
	promptBound int64
	// observe is set for a request without max_tokens: its output per
	// choice feeds the default of its model or route.
	observe bool
	choices int64
}

// admitChat reserves a chat request's worst case: the prompt's token
// bound (PromptTokenBound) plus, for each of its n choices, max_tokens or
// else the default output (see WithDefaultOutputTokens), priced at the
// requested model's prices (the highest of all models for a route).
func (e *Engine) admitChat(ctx context.Context, r *record, k *registry.Key, req *providers.ChatRequest) error {
	if e.gov == nil {
		return nil
	}
	price, maxOut := e.worstPrice(req.Model)
	l := &r.lim
	l.price, l.choices = price, 1
	if req.N != nil && *req.N > 1 {
		l.choices = int64(*req.N)
	}
	var out int64
	if req.MaxTokens != nil && *req.MaxTokens > 0 {
		out = int64(*req.MaxTokens)
		l.outCap = out * l.choices
	} else {
		out = e.outputs.reserve(req.Model, e.now())
		if maxOut > 0 {
			out = min(out, int64(maxOut))
			l.outCap = int64(maxOut) * l.choices
		}
		l.observe = true
	}
	l.reservedOut = out * l.choices
	l.step = l.reservedOut
	l.promptBound = PromptTokenBound(req)
	u := providers.Usage{InputTokens: l.promptBound, OutputTokens: l.reservedOut}
	return e.admit(ctx, r, k, u, price)
}

// admitEmbed reserves an embedding request's worst case: one token per
// input byte (an upper bound for byte-level tokenizers).
func (e *Engine) admitEmbed(ctx context.Context, r *record, k *registry.Key, req *providers.EmbedRequest) error {
	if e.gov == nil {
		return nil
	}
	price, _ := e.worstPrice(req.Model)
	var n int64
	for _, in := range req.Inputs {
		n += int64(len(in))
	}
	return e.admit(ctx, r, k, providers.Usage{InputTokens: n}, price)
}

func (e *Engine) admit(ctx context.Context, r *record, k *registry.Key, u providers.Usage, p store.Pricing) error {
	t, err := e.gov.Admit(ctx, governance.Subject{KeyID: k.ID, TeamID: k.TeamID, ServiceID: k.ServiceID},
		governance.Demand{Nanos: pricing.Cost(p, u), Tokens: u.InputTokens + u.OutputTokens})
	if err != nil {
		return err
	}
	r.lim.ticket = t
	return nil
}

// meterStream counts n more output bytes of a stream. When the bound on
// its output tokens (one per byte) comes within half a step of what is
// reserved, it reserves another step (up to the request's cap) from the
// budgets and token rates that admitted it, and returns the refusal when
// they cannot cover it: the stream must then end with that error.
func (e *Engine) meterStream(ctx context.Context, r *record, n int64) error {
	l := &r.lim
	l.outBytes += n
	if l.ticket == nil || 2*(l.reservedOut-l.outBytes) > l.step || (l.outCap > 0 && l.reservedOut >= l.outCap) {
		return nil
	}
	step := max(l.step, l.outBytes-l.reservedOut+l.step/2)
	if l.outCap > 0 {
		step = min(step, l.outCap-l.reservedOut)
	}
	perMillion := step * l.price.OutputPerMillion
	cost := perMillion / 1_000_000
	if perMillion%1_000_000 != 0 {
		cost++
	}
	// The wait for room is bounded by the manager (WithMaxWait) and by ctx.
	if err := e.gov.TopUp(ctx, l.ticket, governance.Demand{Nanos: cost, Tokens: step}); err != nil {
		return err
	}
	l.reservedOut += step
	return nil
}

// topUp tops up a live stream's reservation for the output seen so far
// (see meterStream); a cache replay costs nothing.
func (m *meter) topUp(ctx context.Context) error {
	if m.replay {
		return nil
	}
	return m.e.meterStream(ctx, &m.rec, m.outputLen-m.rec.lim.outBytes)
}

// worstPrice returns the requested model's price and max output. A name
// the registry does not know (a route alias) is priced at the highest
// input, output and per-request prices of all models, so that whatever
// target the route picks, the reservation is not below its cost.
func (e *Engine) worstPrice(name string) (store.Pricing, int) {
	if m, ok := e.reg.Model(name); ok {
		return m.Pricing, m.MaxOutputTokens
	}
	var p store.Pricing
	for _, m := range e.reg.Models() {
		p.InputPerMillion = max(p.InputPerMillion, m.Pricing.InputPerMillion)
		p.OutputPerMillion = max(p.OutputPerMillion, m.Pricing.OutputPerMillion)
		p.PerRequest = max(p.PerRequest, m.Pricing.PerRequest)
	}
	return p, 0
}

// settle charges the finished request's actual usage and cost to the
// budgets and rate limits that admitted it and frees its concurrency
// slots; a served request without max_tokens teaches its model's or
// route's default output. When the upstream reported no usage (a stream
// cut off, or a server that sends none), the record keeps the estimate but
// the budgets are charged the bound: the prompt's token bound and one
// token per output byte seen, at the reservation's prices.
func (e *Engine) settle(r *record) {
	l := &r.lim
	if l.ticket == nil {
		return
	}
	d := governance.Demand{Nanos: r.CostNanos, Tokens: r.InputTokens + r.OutputTokens}
	if r.UsageEstimated && l.promptBound > 0 {
		u := providers.Usage{InputTokens: max(r.InputTokens, l.promptBound), OutputTokens: max(r.OutputTokens, l.outBytes)}
		d = governance.Demand{Nanos: max(d.Nanos, pricing.Cost(l.price, u)), Tokens: max(d.Tokens, u.InputTokens+u.OutputTokens)}
	}
	e.gov.Settle(l.ticket, d)
	l.ticket = nil
	if l.observe && r.Provider != "" && r.OutputTokens > 0 && !r.UsageEstimated {
		e.outputs.observe(r.RequestedModel, r.OutputTokens/max(l.choices, 1), e.now())
	}
}

// Governance returns the budget and rate-limit manager, nil when none.
func (e *Engine) Governance() *governance.Manager { return e.gov }

// outputStats keeps, per requested model or route, the largest output per
// choice seen recently, for the reservation of requests without
// max_tokens. Only served requests are observed, so the names are
// configured ones.
type outputStats struct {
	floor  int64
	byName sync.Map // requested name → *outputHigh
}

// outputHigh is the largest output of the current window and the previous one.
type outputHigh struct {
	mu        sync.Mutex
	start     time.Time
	cur, prev int64
}

// reserve returns the output to reserve per choice for a request of name
// without max_tokens.
func (o *outputStats) reserve(name string, now time.Time) int64 {
	floor := o.floor
	if floor <= 0 {
		floor = DefaultOutputTokens
	}
	v, ok := o.byName.Load(name)
	if !ok {
		return floor
	}
	h := v.(*outputHigh)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.rollLocked(now)
	return max(floor, h.cur, h.prev)
}

func (o *outputStats) observe(name string, tokens int64, now time.Time) {
	v, ok := o.byName.Load(name)
	if !ok {
		v, _ = o.byName.LoadOrStore(name, &outputHigh{start: now})
	}
	h := v.(*outputHigh)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.rollLocked(now)
	h.cur = max(h.cur, tokens)
}

// rollLocked starts a new window when the current one is over.
func (h *outputHigh) rollLocked(now time.Time) {
	el := now.Sub(h.start)
	if el < outputWindow {
		return
	}
	h.prev = h.cur
	if el >= 2*outputWindow {
		h.prev = 0
	}
	h.cur, h.start = 0, now
}
