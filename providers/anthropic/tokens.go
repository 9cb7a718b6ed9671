package anthropic

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/tollgate-dev/tollgate/providers"
)

// CountTokens returns the input tokens req would consume, counted by
// POST /v1/messages/count_tokens. The request is translated exactly as for
// Chat (system prompt, tools, thinking, images), without the generation
// parameters the endpoint does not take.
func (p *Provider) CountTokens(ctx context.Context, req *providers.ChatRequest) (int64, error) {
	body, err := p.encodeCountTokens(req)
	if err != nil {
		return 0, err
	}
	resp, err := p.send(ctx, http.MethodPost, pathCountTokens, body, "application/json")
	if err != nil {
		return 0, err
	}
	b, err := p.up.ReadBody(ctx, resp)
	if err != nil {
		return 0, err
	}
	var w countTokensResponse
	if err := json.Unmarshal(b, &w); err != nil {
		return 0, p.up.BadResponse(resp.StatusCode, "token count", err)
	}
	return w.InputTokens, nil
}
