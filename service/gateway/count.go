package gateway

import (
	"context"

	"github.com/tollgate-dev/tollgate/providers"
)

// CountTokens returns the number of input tokens req would consume. It
// authenticates and validates like Chat, then asks the model's provider
// when it implements [providers.TokenCounter], and estimates otherwise
// ([EstimatePromptTokens]). req.Model is the name the caller asked for.
//
// Counting consumes no tokens: the request is recorded with operation
// "count_tokens" and zero usage, so that it shows in audit logs without
// counting against budgets.
func (e *Engine) CountTokens(ctx context.Context, call *Call, req *providers.ChatRequest) (int64, error) {
	rec := e.newRecord(ctx, call, "count_tokens", req.Model, false)
	k, err := e.Authenticate(ctx, call)
	if err != nil {
		return 0, e.finish(&rec, err)
	}
	rec.setKey(k)
	if err := ValidateChat(req); err != nil {
		return 0, e.finish(&rec, err)
	}
	rt, err := e.resolve(k, req.Model, false)
	if err != nil {
		return 0, e.finish(&rec, err)
	}
	// Count with the target a request would try first.
	m := &rt.Serving[0]
	if plan := e.router.Plan(rt.Route, facts(call, &rec, req)); len(plan) > 0 && rt.Serving[plan[0].Index].Provider != nil {
		m = &rt.Serving[plan[0].Index]
	}
	rec.Provider, rec.Model = m.ProviderID, m.UpstreamModel
	tc, ok := m.Provider.(providers.TokenCounter)
	if !ok {
		return EstimatePromptTokens(req), e.finish(&rec, nil)
	}
	up := *req
	up.Model = m.UpstreamModel
	rec.Attempts = 1
	n, err := tc.CountTokens(ctx, &up)
	if err != nil {
		return 0, e.finish(&rec, err)
	}
	return n, e.finish(&rec, nil)
}
