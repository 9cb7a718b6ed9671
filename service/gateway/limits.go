package gateway

import (
	"context"

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
)

// DefaultMaxOutputTokens is the output a chat request is assumed to
// produce at worst when neither it (max_tokens) nor its model says.
const DefaultMaxOutputTokens = 4096

// WithGovernance enforces the budgets and rate limits of m.
func WithGovernance(m *governance.Manager) Option { return func(e *Engine) { e.gov = m } }

// admitChat reserves a chat request's worst case: the prompt estimate plus
// max_tokens (else the model's max output, else DefaultMaxOutputTokens),
// priced at the requested model's prices.
func (e *Engine) admitChat(ctx context.Context, r *record, k *registry.Key, req *providers.ChatRequest) error {
	if e.gov == nil {
		return nil
	}
	price, maxOut := e.worstPrice(req.Model)
	out := int64(DefaultMaxOutputTokens)
	switch {
	case req.MaxTokens != nil && *req.MaxTokens > 0:
		out = int64(*req.MaxTokens)
	case maxOut > 0:
		out = int64(maxOut)
	}
	u := providers.Usage{InputTokens: r.prompt(req), OutputTokens: out}
	return e.admit(ctx, r, k, u, price)
}

// admitEmbed reserves an embedding request's worst case: one token per
// input byte (an upper bound for byte-level BPE tokenizers).
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
	r.ticket = t
	return nil
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
// budgets and rate limits that admitted it and frees its concurrency slots.
func (e *Engine) settle(r *record) {
	if r.ticket == nil {
		return
	}
	e.gov.Settle(r.ticket, governance.Demand{Nanos: r.CostNanos, Tokens: r.InputTokens + r.OutputTokens})
	r.ticket = nil
}

// Governance returns the budget and rate-limit manager, nil when none.
func (e *Engine) Governance() *governance.Manager { return e.gov }
