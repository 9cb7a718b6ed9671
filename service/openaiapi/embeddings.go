package openaiapi

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"net/http"
	"strconv"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/edge"
)

// embeddingRequest is the body of POST /v1/embeddings. Input is a string,
// an array of strings, or token arrays (not supported).
type embeddingRequest struct {
	Model          string          `json:"model"`
	Input          json.RawMessage `json:"input"`
	EncodingFormat string          `json:"encoding_format"`
	Dimensions     *int            `json:"dimensions"`
	User           string          `json:"user"`
}

type embeddingList struct {
	Object string          `json:"object"`
	Data   []embeddingItem `json:"data"`
	Model  string          `json:"model"`
	Usage  struct {
		PromptTokens int64 `json:"prompt_tokens"`
		TotalTokens  int64 `json:"total_tokens"`
	} `json:"usage"`
}

type embeddingItem struct {
	Object    string          `json:"object"`
	Index     int             `json:"index"`
	Embedding json.RawMessage `json:"embedding"`
}

// decodeEmbed decodes an embeddings body and reports whether the answer
// should be base64.
func decodeEmbed(body []byte) (*providers.EmbedRequest, bool, error) {
	var w embeddingRequest
	if err := json.Unmarshal(body, &w); err != nil {
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
	req := &providers.EmbedRequest{Model: w.Model, Dimensions: w.Dimensions, User: w.User}
	in := w.Input
	switch {
	case isNull(in):
		return nil, false, bad("input", "is required")
	case in[0] == '"':
		var s string
		if err := json.Unmarshal(in, &s); err != nil {
			return nil, false, bad("input", "must be a string or an array of strings")
		}
		req.Inputs = []string{s}
	case in[0] == '[':
		if first := skipSpace(in, 1); first < len(in) && (in[first] == '[' || in[first] == '-' || in[first] >= '0' && in[first] <= '9') {
			return nil, false, bad("input", "token arrays are not supported by this gateway; send the text as a string or an array of strings")
		}
		if err := json.Unmarshal(in, &req.Inputs); err != nil {
			return nil, false, bad("input", "must be a string or an array of strings")
		}
	default:
		return nil, false, bad("input", "must be a string or an array of strings")
	}
	return req, b64, nil
}

// encodeVector renders v as a JSON float array, or as a base64 string of
// little-endian float32 values (what the SDKs request by default).
func encodeVector(dst []byte, v []float32, b64 bool) []byte {
	if b64 {
		raw := make([]byte, 4*len(v))
		for i, f := range v {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(f))
		}
		dst = append(dst, '"')
		dst = base64.StdEncoding.AppendEncode(dst, raw)
		return append(dst, '"')
	}
	dst = append(dst, '[')
	for i, f := range v {
		if i > 0 {
			dst = append(dst, ',')
		}
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			f = 0 // not representable in JSON
		}
		dst = strconv.AppendFloat(dst, float64(f), 'g', -1, 32)
	}
	return append(dst, ']')
}

func (h *Handler) embeddings(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	req, b64, err := decodeEmbed(body)
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
	out := embeddingList{Object: "list", Model: requested, Data: make([]embeddingItem, len(res.Response.Vectors))}
	for i, v := range res.Response.Vectors {
		out.Data[i] = embeddingItem{Object: "embedding", Index: i, Embedding: encodeVector(nil, v, b64)}
	}
	out.Usage.PromptTokens = res.Response.Usage.InputTokens
	out.Usage.TotalTokens = res.Response.Usage.InputTokens
	edge.SetServedHeaders(w.Header(), res.Provider, res.Model, res.Route, res.Attempts)
	h.writeJSON(w, r, &out)
}
