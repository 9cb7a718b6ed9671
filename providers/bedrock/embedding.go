package bedrock

import (
	"context"
	"errors"
	"strings"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/bedrock"
	"github.com/tollgate-dev/tollgate/providers"
)

// cohereBatch is the most texts Cohere's embedding models take per call.
const cohereBatch = 96

// Embed returns embeddings through InvokeModel: Amazon Titan text
// embedding models (one call per input) and Cohere Embed models (up to 96
// inputs per call). Other models and token-array inputs are refused.
func (p *Provider) Embed(ctx context.Context, req *providers.EmbedRequest) (*providers.EmbedResponse, error) {
	if len(req.Tokens) > 0 {
		return nil, p.invalid("Bedrock embedding models take text, not token arrays")
	}
	out := &providers.EmbedResponse{Model: req.Model}
	switch {
	case strings.Contains(req.Model, "amazon.titan-embed"):
		for _, in := range req.Inputs {
			var w schema.TitanEmbedResponse
			if err := p.invoke(ctx, req.Model, &schema.TitanEmbedRequest{InputText: in, Dimensions: req.Dimensions}, &w); err != nil {
				return nil, err
			}
			out.Vectors = append(out.Vectors, w.Embedding)
			out.Usage.InputTokens += w.InputTextTokenCount
		}
	case strings.Contains(req.Model, "cohere.embed"):
		if req.Dimensions != nil {
			return nil, p.invalid("Cohere embedding models on Bedrock have a fixed dimension")
		}
		for start := 0; start < len(req.Inputs); start += cohereBatch {
			batch := req.Inputs[start:min(start+cohereBatch, len(req.Inputs))]
			var w schema.CohereEmbedResponse
			if err := p.invoke(ctx, req.Model, &schema.CohereEmbedRequest{Texts: batch, InputType: p.embedInputType}, &w); err != nil {
				return nil, err
			}
			if len(w.Embeddings) != len(batch) {
				return nil, p.up.BadResponse(200, "embedding response", errCount)
			}
			out.Vectors = append(out.Vectors, w.Embeddings...)
		}
	default:
		return nil, p.invalid("model %q is not a Titan or Cohere embedding model", req.Model)
	}
	return out, nil
}

var errCount = errors.New("the number of embeddings differs from the number of inputs")

// invoke sends an InvokeModel request and decodes its answer into out.
func (p *Provider) invoke(ctx context.Context, model string, in, out any) error {
	body, err := apischema.Marshal(in)
	if err != nil {
		return p.invalid("encode request: %v", err)
	}
	resp, err := p.post(ctx, p.modelURL(model, "invoke"), body, "application/json")
	if err != nil {
		return err
	}
	b, err := p.up.ReadBody(ctx, resp)
	if err != nil {
		return err
	}
	if err := apischema.UnmarshalLenient(b, out); err != nil {
		return p.up.BadResponse(resp.StatusCode, "invoke response", err)
	}
	return nil
}
