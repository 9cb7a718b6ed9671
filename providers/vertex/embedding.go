package vertex

import (
	"context"
	"net/http"
	"net/url"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/vertex"
	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/providers/internal/upstream"
)

// maxInstances is the most texts one :predict call takes.
const maxInstances = 250

// Embed embeds texts with a Vertex text embedding model
// (publishers/google/models/M:predict).
func (p *Provider) Embed(ctx context.Context, req *providers.EmbedRequest) (*providers.EmbedResponse, error) {
	if len(req.Tokens) > 0 {
		return nil, &providers.Error{Provider: p.id, Kind: providers.KindInvalidRequest, Message: "Vertex embedding models take text, not token arrays"}
	}
	target := p.base + "/v1/projects/" + url.PathEscape(p.project) + "/locations/" + url.PathEscape(p.location) +
		"/publishers/google/models/" + url.PathEscape(req.Model) + ":predict"
	out := &providers.EmbedResponse{Model: req.Model}
	for start := 0; start < len(req.Inputs); start += maxInstances {
		batch := req.Inputs[start:min(start+maxInstances, len(req.Inputs))]
		w := schema.PredictRequest{Instances: make([]schema.EmbedInstance, len(batch))}
		for i, in := range batch {
			w.Instances[i].Content = in
		}
		if req.Dimensions != nil {
			w.Parameters = &schema.PredictParameters{OutputDimensionality: req.Dimensions}
		}
		body, err := apischema.Marshal(&w)
		if err != nil {
			return nil, &providers.Error{Provider: p.id, Kind: providers.KindInvalidRequest, Message: "encode request: " + err.Error()}
		}
		resp, err := p.up.Send(ctx, http.MethodPost, target, body, "application/json")
		if err != nil {
			return nil, err
		}
		b, err := p.up.ReadBody(ctx, resp)
		if err != nil {
			return nil, err
		}
		var r schema.PredictResponse
		if err := apischema.UnmarshalLenient(b, &r); err != nil {
			return nil, p.up.BadResponse(resp.StatusCode, "predict response", err)
		}
		if len(r.Predictions) != len(batch) {
			return nil, &providers.Error{Provider: p.id, Status: resp.StatusCode, Kind: providers.KindBadResponse,
				Message: "the number of predictions differs from the number of inputs"}
		}
		for _, pr := range r.Predictions {
			out.Vectors = append(out.Vectors, pr.Embeddings.Values)
			out.Usage.InputTokens += pr.Embeddings.Statistics.TokenCount
		}
	}
	return out, nil
}

// statusError maps a non-2xx answer of :predict: Google's error object.
func (p *Provider) statusError(status int, h http.Header, body []byte) *providers.Error {
	var w struct {
		Error struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
			Status  string `json:"status"`
		} `json:"error"`
	}
	msg := upstream.StatusMessage(status, body, 512)
	typ := ""
	if apischema.UnmarshalLenient(body, &w) == nil && w.Error.Message != "" {
		msg, typ = w.Error.Message, w.Error.Status
	}
	return &providers.Error{Provider: p.id, Status: status, Kind: providers.KindForStatus(status), Type: typ, Message: msg,
		RetryAfter: providers.ParseRetryAfter(h, p.now()), Header: providers.RateLimitHeaders(h)}
}
