package openai

import (
	"context"
	"fmt"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/openai"
	"github.com/tollgate-dev/tollgate/providers"
)

// Embed returns one vector per input, in input order. A request of this
// dialect is passed through with only its model set; token-array input
// (Tokens) is sent as it is.
func (p *Provider) Embed(ctx context.Context, req *providers.EmbedRequest) (*providers.EmbedResponse, error) {
	if req == nil {
		return nil, p.invalid("nil embed request")
	}
	body, err := p.embedBody(req)
	if err != nil {
		return nil, err
	}
	resp, err := p.send(ctx, OpEmbeddings, req.Model, body, "application/json", p.requestHeader(req.Source))
	if err != nil {
		return nil, err
	}
	b, err := p.up.ReadBody(ctx, resp)
	if err != nil {
		return nil, err
	}
	var w schema.EmbeddingList
	if err := apischema.UnmarshalLenient(b, &w); err != nil {
		return nil, p.up.BadResponse(resp.StatusCode, "embeddings", err)
	}
	n := req.Count()
	out := &providers.EmbedResponse{Model: w.Model, Vectors: make([][]float32, n)}
	if len(w.Data) != n {
		return nil, p.up.BadResponse(resp.StatusCode, "embeddings", fmt.Errorf("%d vectors for %d inputs", len(w.Data), n))
	}
	for _, d := range w.Data {
		if d.Index < 0 || d.Index >= n || out.Vectors[d.Index] != nil {
			return nil, p.up.BadResponse(resp.StatusCode, "embeddings", fmt.Errorf("bad or repeated index %d", d.Index))
		}
		if d.Embedding.Values == nil {
			return nil, p.up.BadResponse(resp.StatusCode, "embeddings", fmt.Errorf("no vector at index %d", d.Index))
		}
		out.Vectors[d.Index] = d.Embedding.Values
	}
	if w.Usage != nil {
		out.Usage = providers.Usage{InputTokens: w.Usage.PromptTokens}
	}
	if req.Source.Passthrough(Dialect) {
		out.Raw = b
	}
	return out, nil
}

// embedBody returns the client's body with the model set, or the
// translation of req.
func (p *Provider) embedBody(req *providers.EmbedRequest) ([]byte, error) {
	if src := req.Source; src.Passthrough(Dialect) {
		if gjson.GetBytes(src.Body, "model").String() == req.Model {
			return src.Body, nil
		}
		b, err := sjson.SetBytes(src.Body, "model", req.Model)
		if err != nil {
			return nil, p.invalid("set model: %v", err)
		}
		return b, nil
	}
	w := schema.EmbeddingRequest{Model: req.Model, Dimensions: req.Dimensions, User: req.User, EncodingFormat: "float",
		Input: schema.EmbeddingInput{Texts: req.Inputs, Tokens: req.Tokens}}
	body, err := apischema.Marshal(&w)
	if err != nil {
		return nil, p.invalid("encode embedding request: %v", err)
	}
	return body, nil
}
