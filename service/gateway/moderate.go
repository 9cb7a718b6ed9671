package gateway

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/guardrails"
	"github.com/tollgate-dev/tollgate/service/pricing"
	"github.com/tollgate-dev/tollgate/service/registry"
	"github.com/tollgate-dev/tollgate/service/routing"
)

// Moderations.
//
// A moderation request names a moderation model of the catalog (an OpenAI
// omni-moderation model, say): it is routed to it like any call, through
// authentication, budgets and limits, the key's input guardrails (a PII
// rewrite applies before the text leaves), routing and records (operation
// "moderation"). When it names no model, or an OpenAI moderation model
// (omni-moderation-*, text-moderation-*) the catalog does not have, or
// LocalModerationModel itself, the gateway answers with its own guardrail
// classifiers instead (see Engine.Moderate).

// DefaultModerationModel is the model of a moderation request that names
// none, as OpenAI defaults.
const DefaultModerationModel = "omni-moderation-latest"

// LocalModerationModel is the model name of moderations the gateway
// answers itself.
const LocalModerationModel = "tollgate-guardrails"

// The categories the gateway's own classifiers judge besides OpenAI's: the
// guardrail kinds that found something.
const (
	CategoryPII       = "tollgate/pii"
	CategorySecrets   = "tollgate/secrets"
	CategoryInjection = "tollgate/prompt-injection"
)

// ModerationResult is a completed moderation request.
type ModerationResult struct {
	Response  *providers.ModerationResponse
	Provider  string
	Model     string
	CostNanos int64
	Route     string
	Attempts  int
	// Local is true when the gateway's classifiers answered.
	Local bool
	// Judged lists the categories the answer judged (all of them for an
	// upstream); the others are reported false with score 0.
	Judged []string
	// Guardrails lists what the input guardrails did.
	Guardrails []guardrails.Verdict
}

// isLocalModeration reports whether a moderation for name, which the
// catalog does not have, is answered by the gateway itself.
func isLocalModeration(name string) bool {
	return name == LocalModerationModel ||
		strings.HasPrefix(name, "omni-moderation-") || strings.HasPrefix(name, "text-moderation-")
}

// Moderate runs a moderation request. req.Model is the name the caller
// asked for ("" for DefaultModerationModel).
func (e *Engine) Moderate(ctx context.Context, call *Call, req *providers.ModerationRequest) (*ModerationResult, error) {
	rec := e.newRecord(ctx, call, "moderation", req.Model, false)
	k, err := e.Authenticate(ctx, call)
	if err != nil {
		return nil, e.finish(&rec, err)
	}
	rec.setKey(k)
	if len(req.Inputs) == 0 {
		return nil, e.finish(&rec, invalid("input", "must contain at least one input"))
	}
	if req.Model == "" {
		up := *req
		up.Model = DefaultModerationModel
		req = &up
	}
	local := false
	if _, ok := e.reg.Route(req.Model); !ok && isLocalModeration(req.Model) {
		local = true
	}
	if err := e.admitEmbed(ctx, &rec, k, &providers.EmbedRequest{Model: req.Model, Inputs: req.Inputs}); err != nil {
		return nil, e.finish(&rec, err)
	}
	if local {
		for _, f := range req.Source.Unmapped() {
			if f.Content {
				return nil, e.finish(&rec, invalid(f.Name, "needs a moderation model (none is configured for "+
					strconv.Quote(req.Model)+"); the gateway's own classifiers ("+LocalModerationModel+") judge text only"))
			}
		}
	}
	var rt *registry.Route
	if !local {
		if rt, err = e.resolve(k, req.Model, false); err != nil {
			return nil, e.finish(&rec, err)
		}
	}
	// The key's input guardrails see the inputs as user messages; a
	// rewrite (PII placeholders) replaces them before they leave.
	chat := &providers.ChatRequest{Model: req.Model, Source: req.Source, Messages: make([]providers.Message, len(req.Inputs))}
	for i, in := range req.Inputs {
		chat.Messages[i] = providers.Message{Role: providers.RoleUser, Content: []providers.Part{providers.TextPart(in)}}
	}
	gr, rewritten, err := e.guardInput(ctx, &rec, k, chat)
	if err != nil {
		return nil, e.finish(&rec, err)
	}
	if rewritten != chat {
		up := *req
		up.Inputs = make([]string, len(rewritten.Messages))
		for i := range rewritten.Messages {
			up.Inputs[i] = rewritten.Messages[i].Text()
		}
		up.Source = req.Source.Rewritten(rewritten)
		req = &up
	}
	if local {
		resp, judged, err := e.classify(ctx, req.Inputs)
		if err != nil {
			return nil, e.finish(&rec, err)
		}
		rec.Model = LocalModerationModel
		e.finish(&rec, nil)
		return &ModerationResult{Response: resp, Model: LocalModerationModel, Local: true, Judged: judged, Guardrails: gr.verdicts()}, nil
	}
	f := routing.Facts{EndUser: call.EndUser, KeyID: rec.KeyID, TeamID: rec.TeamID, ServiceID: rec.ServiceID,
		Tags: rec.Tags, RequestID: call.RequestID, Sticky: call.Sticky}
	var resp *providers.ModerationResponse
	out, err := e.run(ctx, rt, f, false, func(ctx context.Context, sv *registry.Serving, _ *routing.Target) (func(), error) {
		m, ok := sv.Provider.(providers.Moderator)
		if !ok {
			return nil, invalid("model", fmt.Sprintf("provider %q of model %q does not serve moderations", sv.ProviderID, req.Model))
		}
		up := *req
		up.Model = sv.UpstreamModel
		r, err := m.Moderate(ctx, &up)
		if err != nil {
			return nil, err
		}
		if len(r.Results) != len(req.Inputs) {
			return nil, &providers.Error{Provider: sv.ProviderID, Kind: providers.KindBadResponse,
				Message: fmt.Sprintf("upstream returned %d results for %d inputs", len(r.Results), len(req.Inputs))}
		}
		resp = r
		return nil, nil
	})
	rec.served(rt, out)
	if err != nil {
		return nil, e.finish(&rec, err)
	}
	u := resp.Usage
	if u == (providers.Usage{}) {
		// Moderation APIs report no usage: the inputs are estimated,
		// so that a priced moderation model is charged.
		var n int64
		for _, in := range req.Inputs {
			n += int64(len(in)+3) / 4
		}
		u = providers.Usage{InputTokens: n, Estimated: true}
	}
	cost := pricing.Cost(out.serving.Pricing, u)
	rec.setUsage(u, cost)
	e.finish(&rec, nil)
	return &ModerationResult{Response: resp, Provider: rec.Provider, Model: rec.Model, CostNanos: cost,
		Route: routeName(rt), Attempts: out.attempts, Guardrails: gr.verdicts()}, nil
}

// localModeration is the compiled policy of the gateway's own
// classification: PII, secrets and prompt injection, flagged (never
// blocked or rewritten), and, when the gateway has a moderation
// classifier (a chat model: -guardrails-moderation-model), the categories
// it judges.
type localModeration struct {
	once       sync.Once
	set        *guardrails.Set
	eng        *guardrails.Engine
	classifier bool
	err        error
}

func (e *Engine) localPolicy() (*localModeration, error) {
	l := &e.moderation
	l.once.Do(func() {
		l.eng = guardrails.New()
		if e.guard != nil {
			l.eng = e.guard.eng
		}
		flag := func(name string, kind guardrails.Kind) guardrails.Guardrail {
			return guardrails.Guardrail{Name: name, Kind: kind, Mode: guardrails.ModeValidate, OnMatch: guardrails.ActionFlag}
		}
		gs := []guardrails.Guardrail{flag("pii", guardrails.KindPII), flag("secrets", guardrails.KindSecrets), flag("injection", guardrails.KindInjection)}
		withClassifier := slices.Concat(gs, []guardrails.Guardrail{flag("moderation", guardrails.KindModeration)})
		p, err := l.eng.Compile(guardrails.Policy{ID: LocalModerationModel, Guardrails: withClassifier})
		if err == nil {
			l.classifier = true
		} else {
			p, err = l.eng.Compile(guardrails.Policy{ID: LocalModerationModel, Guardrails: gs})
		}
		if err != nil {
			l.err = fmt.Errorf("local moderation policy: %w", err)
			return
		}
		l.set = guardrails.NewSet(p)
	})
	return l, l.err
}

// classify answers a moderation with the gateway's own classifiers, one
// result per input. It returns the categories it judged: its own, and the
// moderation classifier's when there is one. OpenAI's categories it cannot
// judge are reported false with score 0.
func (e *Engine) classify(ctx context.Context, inputs []string) (*providers.ModerationResponse, []string, error) {
	l, err := e.localPolicy()
	if err != nil {
		return nil, nil, err
	}
	judged := []string{CategoryPII, CategorySecrets, CategoryInjection}
	if l.classifier {
		judged = append(judged, guardrails.DefaultModerationCategories...)
	}
	out := &providers.ModerationResponse{Model: LocalModerationModel, Results: make([]providers.ModerationResult, len(inputs))}
	for i, in := range inputs {
		req := &providers.ChatRequest{Model: LocalModerationModel,
			Messages: []providers.Message{{Role: providers.RoleUser, Content: []providers.Part{providers.TextPart(in)}}}}
		res, err := l.eng.CheckInput(ctx, l.set, req)
		if err != nil && !errors.Is(err, guardrails.ErrBlocked) {
			return nil, nil, fmt.Errorf("local moderation: %w", err)
		}
		r := providers.ModerationResult{Categories: map[string]bool{}, Scores: map[string]float64{}}
		for _, c := range judged {
			r.Categories[c], r.Scores[c] = false, 0
		}
		if res != nil {
			for _, v := range res.Verdicts {
				if v.Action == guardrails.ActionError {
					return nil, nil, fmt.Errorf("%w: the moderation classifier failed (%s)", ErrUnavailable, v.Error)
				}
				if v.Count == 0 && len(v.Categories) == 0 {
					continue
				}
				switch v.Kind {
				case guardrails.KindPII:
					r.Categories[CategoryPII], r.Scores[CategoryPII] = true, 1
				case guardrails.KindSecrets:
					r.Categories[CategorySecrets], r.Scores[CategorySecrets] = true, 1
				case guardrails.KindInjection:
					r.Categories[CategoryInjection], r.Scores[CategoryInjection] = true, min(max(v.Score, 0.5), 1)
				case guardrails.KindModeration:
					for _, c := range v.Categories {
						r.Categories[c], r.Scores[c] = true, 1
					}
				}
			}
		}
		for _, c := range judged {
			r.Flagged = r.Flagged || r.Categories[c]
		}
		out.Results[i] = r
	}
	return out, judged, nil
}
