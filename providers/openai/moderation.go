package openai

import (
	"context"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/openai"
	"github.com/tollgate-dev/tollgate/providers"
)

var _ providers.Moderator = (*Provider)(nil)

// Moderate classifies inputs with the upstream's /moderations. A request
// of this dialect is sent as the client wrote it (images included) with
// only the model patched, and its answer is returned as it came.
func (p *Provider) Moderate(ctx context.Context, req *providers.ModerationRequest) (*providers.ModerationResponse, error) {
	if req == nil || req.Model == "" {
		return nil, p.invalid("moderation request without model")
	}
	var body []byte
	var err error
	pass := req.Source.Passthrough(Dialect)
	if pass {
		body, err = p.patchChat(&providers.ChatRequest{Model: req.Model, Source: req.Source}, false)
	} else {
		body, err = apischema.Marshal(&schema.ModerationRequest{Model: req.Model, Input: schema.ModerationInput{Texts: req.Inputs}})
	}
	if err != nil {
		return nil, p.invalid("encode moderation request: %v", err)
	}
	resp, err := p.send(ctx, OpModerations, req.Model, body, "application/json", p.requestHeader(req.Source))
	if err != nil {
		return nil, err
	}
	b, err := p.up.ReadBody(ctx, resp)
	if err != nil {
		return nil, err
	}
	var w schema.Moderation
	if err := apischema.UnmarshalLenient(b, &w); err != nil {
		return nil, p.up.BadResponse(resp.StatusCode, "moderation", err)
	}
	out := &providers.ModerationResponse{ID: w.ID, Model: w.Model, Results: make([]providers.ModerationResult, len(w.Results))}
	for i, r := range w.Results {
		out.Results[i] = providers.ModerationResult{Flagged: r.Flagged, Categories: r.Categories, Scores: r.CategoryScores}
	}
	if pass {
		out.Raw = b
	}
	return out, nil
}
