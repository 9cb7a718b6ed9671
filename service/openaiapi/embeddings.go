package openaiapi

import (
	"net/http"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/openai"
	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/edge"
)

// decodeEmbed decodes an embeddings body and reports whether the answer
// should be base64. Token-array input is kept as tokens: OpenAI-dialect
// upstreams take it, others refuse it.
func decodeEmbed(body []byte, h http.Header) (*providers.EmbedRequest, bool, error) {
	var w schema.EmbeddingRequest
	if err := apischema.Unmarshal(body, &w); err != nil {
		return nil, false, jsonError(err)
	}
	var b64 bool
	switch w.EncodingFormat {
	case "", "float":
	case "base64":
		b64 = true
	default:
		return nil, false, bad("encoding_format", "must be float or base64; got %q", w.EncodingFormat)
	}
	if w.Input.Len() == 0 {
		return nil, false, bad("input", "is required")
	}
	req := &providers.EmbedRequest{Model: w.Model, Dimensions: w.Dimensions, User: w.User,
		Inputs: w.Input.Texts, Tokens: w.Input.Tokens,
		Source: &providers.Source{Dialect: Dialect, Body: body, Header: apischema.PassHeaders(h, schema.RequestHeaders)}}
	return req, b64, nil
}

func (h *Handler) embeddings(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	req, b64, err := decodeEmbed(body, r.Header)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	call := h.call(r)
	if call.EndUser == "" {
		call.EndUser = req.User
	}
	requested := req.Model
	res, err := h.engine.Embed(r.Context(), call, req)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	edge.SetServedHeaders(w.Header(), res.Provider, res.Model, res.Route, res.Attempts)
	if raw := res.Response.Raw; raw != nil {
		h.writeBody(w, raw)
		return
	}
	out := schema.EmbeddingList{Object: "list", Model: requested, Data: make([]schema.Embedding, len(res.Response.Vectors)),
		Usage: &schema.EmbeddingUsage{PromptTokens: res.Response.Usage.InputTokens, TotalTokens: res.Response.Usage.InputTokens}}
	for i, v := range res.Response.Vectors {
		out.Data[i] = schema.Embedding{Object: "embedding", Index: i, Embedding: schema.Vector{Values: v, Base64: b64}}
	}
	h.writeJSON(w, r, &out)
}
