package gateway

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/guardrails"
	"github.com/tollgate-dev/tollgate/service/registry"
	"github.com/tollgate-dev/tollgate/service/store"
)

// Guardrails in the pipeline.
//
// Chat requests run the guardrail policies of their team, service, key and
// requested model name (see package guardrails): after authentication,
// validation and admission, and before the response cache and routing, the
// input stage checks and may rewrite the request; what goes upstream (and
// keys the cache) is the rewritten request. The output stage checks the
// answer: a unary response as a whole, a stream chunk by chunk through an
// OutputFilter that wraps the upstream stream, so held-back text is
// released, rewritten or cut before the surface sees it. A cache hit goes
// through the output stage too. A request whose guardrails hold reversible
// redactions is never stored in the cache: its answer holds this caller's
// originals.
//
// A block is a *guardrails.BlockedError (errors.Is ErrBlocked): recorded
// as forbidden / guardrail_blocked, or, when a fail-closed guardrail
// failed, upstream_error / guardrail_error. Verdicts (names, actions and
// categories, never text) go into the request record and, as
// GuardrailSummary, the surfaces' X-Tollgate-Guardrails header.

// WithGuardrails runs the policies that reg resolves with eng on every
// chat request. Without it no guardrails run.
func WithGuardrails(eng *guardrails.Engine, reg *guardrails.Registry) Option {
	return func(e *Engine) { e.guard = &guardConfig{eng: eng, reg: reg} }
}

type guardConfig struct {
	eng *guardrails.Engine
	reg *guardrails.Registry
}

// guardRun is the guardrails of one chat request. A nil *guardRun runs
// nothing; its methods pass requests and answers through.
type guardRun struct {
	eng    *guardrails.Engine
	set    *guardrails.Set
	state  *guardrails.State
	input  []guardrails.Verdict
	output []guardrails.Verdict
}

// guardInput resolves and runs the input stage of req's guardrails. It
// returns the run (nil when no policy applies) and the request to send
// upstream; a block is returned as the *guardrails.BlockedError.
func (e *Engine) guardInput(ctx context.Context, rec *record, k *registry.Key, req *providers.ChatRequest) (*guardRun, *providers.ChatRequest, error) {
	if e.guard == nil {
		return nil, req, nil
	}
	set := e.guard.reg.Resolve(guardrails.Subject{TeamID: k.TeamID, ServiceID: k.ServiceID, KeyID: k.ID, Route: req.Model})
	if set == nil || set.Empty() {
		return nil, req, nil
	}
	res, err := e.guard.eng.CheckInput(ctx, set, req)
	g := &guardRun{eng: e.guard.eng, set: set}
	if res != nil {
		g.input, g.state = res.Verdicts, res.State
		rec.Guardrails = g.record()
	}
	if err != nil {
		if errors.Is(err, guardrails.ErrBlocked) {
			return nil, nil, err
		}
		return nil, nil, fmt.Errorf("guardrails: input: %w", err)
	}
	return g, res.Request, nil
}

// checksOutput reports whether the answer must go through the output stage.
func (g *guardRun) checksOutput() bool {
	return g != nil && (g.set.HasOutput() || g.state.Reversible())
}

// cacheable reports whether the answer may be stored in the response cache.
func (g *guardRun) cacheable() bool { return g == nil || !g.state.Reversible() }

// checkOutput runs the output stage on a unary answer and returns the
// answer to send.
func (g *guardRun) checkOutput(ctx context.Context, rec *record, resp *providers.ChatResponse) (*providers.ChatResponse, error) {
	if !g.checksOutput() {
		return resp, nil
	}
	out, err := g.eng.NewOutputFilter(g.set, g.state).CheckOutput(ctx, resp)
	if out != nil {
		g.output = out.Verdicts
		rec.Guardrails = g.record()
	}
	if err != nil {
		if errors.Is(err, guardrails.ErrBlocked) {
			return nil, err
		}
		return nil, fmt.Errorf("guardrails: output: %w", err)
	}
	return out.Response, nil
}

// verdicts returns what the guardrails did so far, input stage first.
func (g *guardRun) verdicts() []guardrails.Verdict {
	if g == nil || len(g.input)+len(g.output) == 0 {
		return nil
	}
	return append(append(make([]guardrails.Verdict, 0, len(g.input)+len(g.output)), g.input...), g.output...)
}

// record returns the verdicts in the request record's form.
func (g *guardRun) record() []store.GuardrailVerdict {
	vs := g.verdicts()
	if len(vs) == 0 {
		return nil
	}
	out := make([]store.GuardrailVerdict, len(vs))
	for i, v := range vs {
		out[i] = store.GuardrailVerdict{Policy: v.Policy, Guardrail: v.Guardrail, Kind: string(v.Kind), Stage: string(v.Stage),
			Action: string(v.Action), Categories: v.Categories, Count: v.Count}
	}
	return out
}

// guardStatus classifies a guardrail block for the request record.
func guardStatus(be *guardrails.BlockedError) (store.Status, string) {
	if be.Failed {
		return store.StatusUpstreamError, "guardrail_error"
	}
	return store.StatusForbidden, "guardrail_blocked"
}

// GuardrailSummary formats vs as "policy/guardrail:action,...".
func GuardrailSummary(vs []guardrails.Verdict) string {
	var b strings.Builder
	for i, v := range vs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(v.Policy)
		b.WriteByte('/')
		b.WriteString(v.Guardrail)
		b.WriteByte(':')
		b.WriteString(string(v.Action))
	}
	return b.String()
}
