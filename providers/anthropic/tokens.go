package anthropic

import (
	"context"
	"net/http"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/anthropic"
	"github.com/tollgate-dev/tollgate/providers"
)

// CountTokens returns the input tokens req would consume, counted by
// POST /v1/messages/count_tokens. A request of this dialect is passed
// through with its model set; others are translated exactly as for Chat
// (system prompt, tools, thinking, images, documents), without the
// generation parameters the endpoint does not take.
func (p *Provider) CountTokens(ctx context.Context, req *providers.ChatRequest) (int64, error) {
	var body []byte
	var err error
	if req.Source.Passthrough(Dialect) {
		body, err = p.patch(req)
	} else {
		body, err = p.encodeCountTokens(req)
	}
	if err != nil {
		return 0, err
	}
	resp, err := p.send(ctx, http.MethodPost, pathCountTokens, body, "application/json", p.requestHeader(req.Source))
	if err != nil {
		return 0, err
	}
	b, err := p.up.ReadBody(ctx, resp)
	if err != nil {
		return 0, err
	}
	var w schema.CountTokensResponse
	if err := apischema.UnmarshalLenient(b, &w); err != nil {
		return 0, p.up.BadResponse(resp.StatusCode, "token count", err)
	}
	return w.InputTokens, nil
}
