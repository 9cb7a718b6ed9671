package fakeupstream

import (
	"hash/fnv"
	"math"
	"strconv"
	"strings"

	schema "github.com/tollgate-dev/tollgate/internal/apischema/openai"
)

func (x *exchange) embeddings() {
	var req schema.EmbeddingRequest
	if !x.decode(&req, "input") {
		return
	}
	if req.Model == "" {
		x.badRequest("model", "you must provide a model parameter")
		return
	}
	// Token arrays are embedded as the text of their ids.
	inputs := req.Input.Texts
	for _, toks := range req.Input.Tokens {
		s := make([]string, len(toks))
		for i, t := range toks {
			s[i] = strconv.FormatInt(t, 10)
		}
		inputs = append(inputs, "tokens:"+strings.Join(s, ","))
	}
	if len(inputs) == 0 {
		x.badRequest("input", "'input' must not be empty")
		return
	}
	dims := x.s.dims
	if req.Dimensions != nil {
		dims = *req.Dimensions
	}
	if dims < 1 {
		x.badRequest("dimensions", "dimensions must be at least 1")
		return
	}
	switch req.EncodingFormat {
	case "", "float", "base64":
	default:
		x.badRequest("encoding_format", "encoding_format must be float or base64")
		return
	}
	out := schema.EmbeddingList{Object: "list", Model: req.Model, Data: make([]schema.Embedding, len(inputs)), Usage: &schema.EmbeddingUsage{}}
	for i, in := range inputs {
		var v []float32
		if x.s.embed != nil {
			v = x.s.embed(in)
		} else {
			v = HashVector(in, dims)
		}
		out.Data[i] = schema.Embedding{Object: "embedding", Index: i, Embedding: schema.Vector{Values: v, Base64: req.EncodingFormat == "base64"}}
		if i < len(req.Input.Texts) {
			out.Usage.PromptTokens += int64(tokens(in))
		} else {
			out.Usage.PromptTokens += int64(len(req.Input.Tokens[i-len(req.Input.Texts)]))
		}
	}
	out.Usage.TotalTokens = out.Usage.PromptTokens
	x.respond(&out)
}

// HashVector returns the fake's embedding of input: a deterministic unit
// vector of dims values derived from an FNV-1a hash of input.
func HashVector(input string, dims int) []float32 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(input))
	state := h.Sum64()
	v := make([]float32, dims)
	var norm float64
	for i := range v {
		// splitmix64 step
		state += 0x9e3779b97f4a7c15
		z := state
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
		z = (z ^ (z >> 27)) * 0x94d049bb133111eb
		z ^= z >> 31
		f := float64(z>>11)/float64(1<<53)*2 - 1
		v[i] = float32(f)
		norm += f * f
	}
	if norm > 0 {
		inv := 1 / math.Sqrt(norm)
		for i := range v {
			v[i] = float32(float64(v[i]) * inv)
		}
	}
	return v
}

func (x *exchange) models() {
	out := schema.ModelList{Object: "list", Data: make([]schema.Model, len(x.s.models))}
	for i, id := range x.s.models {
		out.Data[i] = schema.Model{ID: id, Object: "model", Created: 1700000000, OwnedBy: "tollgate-fake"}
	}
	x.respond(&out)
}
