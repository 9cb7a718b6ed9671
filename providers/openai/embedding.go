package openai

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/tollgate-dev/tollgate/providers"
)

// Embed returns one vector per input, in input order.
func (p *Provider) Embed(ctx context.Context, req *providers.EmbedRequest) (*providers.EmbedResponse, error) {
	if req == nil {
		return nil, p.invalid("nil embed request")
	}
	body, err := json.Marshal(&embeddingRequest{
		Model:          req.Model,
		Input:          req.Inputs,
		Dimensions:     req.Dimensions,
		User:           req.User,
		EncodingFormat: "float",
	})
	if err != nil {
		return nil, p.invalid("encode embedding request: %v", err)
	}
	resp, err := p.send(ctx, http.MethodPost, OpEmbeddings, req.Model, body, "application/json")
	if err != nil {
		return nil, err
	}
	b, err := p.up.ReadBody(ctx, resp)
	if err != nil {
		return nil, err
	}
	var w embeddingResponse
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, p.up.BadResponse(resp.StatusCode, "embeddings", err)
	}
	out := &providers.EmbedResponse{Model: w.Model, Vectors: make([][]float32, len(req.Inputs))}
	if len(w.Data) != len(req.Inputs) {
		return nil, p.up.BadResponse(resp.StatusCode, "embeddings",
			fmt.Errorf("%d vectors for %d inputs", len(w.Data), len(req.Inputs)))
	}
	for _, d := range w.Data {
		if d.Index < 0 || d.Index >= len(out.Vectors) || out.Vectors[d.Index] != nil {
			return nil, p.up.BadResponse(resp.StatusCode, "embeddings", fmt.Errorf("bad or repeated index %d", d.Index))
		}
		if d.Embedding == nil {
			return nil, p.up.BadResponse(resp.StatusCode, "embeddings", fmt.Errorf("no vector at index %d", d.Index))
		}
		out.Vectors[d.Index] = d.Embedding
	}
	if w.Usage != nil {
		out.Usage = providers.Usage{InputTokens: w.Usage.PromptTokens}
	}
	return out, nil
}
