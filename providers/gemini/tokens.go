package gemini

import (
	"context"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/gemini"

	"github.com/tollgate-dev/tollgate/providers"
)

// CountTokens counts the input tokens of req with :countTokens, sending
// the same contents, system instruction, tools and generation config a
// generateContent call would.
func (p *Provider) CountTokens(ctx context.Context, req *providers.ChatRequest) (int64, error) {
	w, err := p.buildRequest(req)
	if err != nil {
		return 0, err
	}
	w.Model = modelResource(req.Model)
	body, err := marshalCompact(&schema.CountTokensRequest{GenerateContentRequest: w})
	if err != nil {
		return 0, p.invalid("encode count tokens request: %v", err)
	}
	status, b, err := p.post(ctx, req.Model, methodCountTokens, body)
	if err != nil {
		return 0, err
	}
	var r schema.CountTokensResponse
	if err := unmarshal(b, &r); err != nil {
		return 0, p.up.BadResponse(status, "token count", err)
	}
	return r.TotalTokens, nil
}
