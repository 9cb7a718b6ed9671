package gemini

import (
	"context"
	"fmt"
	"strconv"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/gemini"

	"github.com/tollgate-dev/tollgate/providers"
)

// maxBatchEmbed is the most requests one batchEmbedContents call takes.
const maxBatchEmbed = 100

// Embed returns one vector per input, in input order. A single input uses
// :embedContent; more use :batchEmbedContents in batches of 100. The Gemini
// API reports no token usage for embeddings, so Usage is zero.
func (p *Provider) Embed(ctx context.Context, req *providers.EmbedRequest) (*providers.EmbedResponse, error) {
	if req == nil {
		return nil, p.invalid("nil embed request")
	}
	if req.Model == "" {
		return nil, p.invalid("embed request without model")
	}
	if len(req.Tokens) > 0 {
		return nil, &providers.Error{Provider: p.id, Kind: providers.KindInvalidRequest, Param: "input",
			Message: "token-array input is not supported by Gemini embeddings (model " + req.Model + "); send the text as strings, or use an OpenAI-dialect model"}
	}
	if len(req.Inputs) == 0 {
		return nil, p.invalid("embed request without inputs")
	}
	if req.Source.Passthrough(Dialect) {
		return p.embedPassthrough(ctx, req)
	}
	out := &providers.EmbedResponse{Model: req.Model, Vectors: make([][]float32, 0, len(req.Inputs))}
	if len(req.Inputs) == 1 {
		v, err := p.embedOne(ctx, req)
		if err != nil {
			return nil, err
		}
		out.Vectors = append(out.Vectors, v)
		return out, nil
	}
	for start := 0; start < len(req.Inputs); start += maxBatchEmbed {
		end := min(start+maxBatchEmbed, len(req.Inputs))
		vs, err := p.embedBatch(ctx, req, req.Inputs[start:end])
		if err != nil {
			return nil, err
		}
		out.Vectors = append(out.Vectors, vs...)
	}
	return out, nil
}

func (p *Provider) embedRequest(req *providers.EmbedRequest, input string, withModel bool) schema.EmbedContentRequest {
	r := schema.EmbedContentRequest{
		Content:              schema.Content{Parts: []schema.Part{{Text: input}}},
		TaskType:             p.embedTaskType,
		OutputDimensionality: req.Dimensions,
	}
	if withModel {
		r.Model = modelResource(req.Model)
	}
	return r
}

func (p *Provider) embedOne(ctx context.Context, req *providers.EmbedRequest) ([]float32, error) {
	body, err := marshalCompact(p.embedRequest(req, req.Inputs[0], false))
	if err != nil {
		return nil, p.invalid("encode embedding request: %v", err)
	}
	status, b, err := p.post(ctx, req.Model, methodEmbed, body)
	if err != nil {
		return nil, err
	}
	var w schema.EmbedContentResponse
	if err := unmarshal(b, &w); err != nil {
		return nil, p.up.BadResponse(status, "embedding", err)
	}
	if w.Embedding == nil || len(w.Embedding.Values) == 0 {
		return nil, p.up.BadResponse(status, "embedding", fmt.Errorf("no vector"))
	}
	return w.Embedding.Values, nil
}

func (p *Provider) embedBatch(ctx context.Context, req *providers.EmbedRequest, inputs []string) ([][]float32, error) {
	br := schema.BatchEmbedContentsRequest{Requests: make([]schema.EmbedContentRequest, len(inputs))}
	for i, in := range inputs {
		br.Requests[i] = p.embedRequest(req, in, true)
	}
	body, err := marshalCompact(&br)
	if err != nil {
		return nil, p.invalid("encode embedding request: %v", err)
	}
	status, b, err := p.post(ctx, req.Model, methodBatchEmbed, body)
	if err != nil {
		return nil, err
	}
	var w schema.BatchEmbedContentsResponse
	if err := unmarshal(b, &w); err != nil {
		return nil, p.up.BadResponse(status, "embeddings", err)
	}
	if len(w.Embeddings) != len(inputs) {
		return nil, p.up.BadResponse(status, "embeddings", fmt.Errorf("%d vectors for %d inputs", len(w.Embeddings), len(inputs)))
	}
	out := make([][]float32, len(inputs))
	for i, e := range w.Embeddings {
		if len(e.Values) == 0 {
			return nil, p.up.BadResponse(status, "embeddings", fmt.Errorf("no vector at index %d", i))
		}
		out[i] = e.Values
	}
	return out, nil
}

// embedPassthrough sends the body of a Gemini-dialect embedding request as
// the client wrote it (taskType, title and all): to :batchEmbedContents
// when it holds "requests" (each request's model set to the upstream
// model), else to :embedContent, and returns the answer as it came.
func (p *Provider) embedPassthrough(ctx context.Context, req *providers.EmbedRequest) (*providers.EmbedResponse, error) {
	body := req.Source.Body
	method := methodEmbed
	if rs := gjson.GetBytes(body, "requests"); rs.IsArray() {
		method = methodBatchEmbed
		var err error
		for i := range len(rs.Array()) {
			if body, err = sjson.SetBytes(body, "requests."+strconv.Itoa(i)+".model", modelResource(req.Model)); err != nil {
				return nil, p.invalid("set model: %v", err)
			}
		}
	}
	status, b, err := p.post(ctx, req.Model, method, body)
	if err != nil {
		return nil, err
	}
	out := &providers.EmbedResponse{Raw: b, Model: req.Model}
	if method == methodEmbed {
		var w schema.EmbedContentResponse
		if err := unmarshal(b, &w); err != nil || w.Embedding == nil {
			return nil, p.up.BadResponse(status, "embedding", fmt.Errorf("no vector (%v)", err))
		}
		out.Vectors = [][]float32{w.Embedding.Values}
		return out, nil
	}
	var w schema.BatchEmbedContentsResponse
	if err := unmarshal(b, &w); err != nil {
		return nil, p.up.BadResponse(status, "embeddings", err)
	}
	for _, e := range w.Embeddings {
		out.Vectors = append(out.Vectors, e.Values)
	}
	return out, nil
}
