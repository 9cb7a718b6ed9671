package fakeupstream

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"hash/fnv"
	"math"
)

func (x *exchange) embeddings() {
	var req embeddingRequest
	if err := json.Unmarshal(x.body, &req); err != nil {
		x.badRequest("", "We could not parse the JSON body of your request: %v", err)
		return
	}
	if req.Model == "" {
		x.badRequest("model", "you must provide a model parameter")
		return
	}
	var inputs []string
	if len(req.Input) > 0 && req.Input[0] == '"' {
		var s string
		if err := json.Unmarshal(req.Input, &s); err != nil {
			x.badRequest("input", "invalid input: %v", err)
			return
		}
		inputs = []string{s}
	} else if err := json.Unmarshal(req.Input, &inputs); err != nil {
		x.badRequest("input", "the fake upstream accepts a string or an array of strings")
		return
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
	out := embeddingOut{Object: "list", Model: req.Model, Data: make([]embeddingItem, len(inputs))}
	for i, in := range inputs {
		var v []float32
		if x.s.embed != nil {
			v = x.s.embed(in)
		} else {
			v = HashVector(in, dims)
		}
		item := embeddingItem{Object: "embedding", Index: i, Embedding: v}
		if req.EncodingFormat == "base64" {
			item.Embedding = encodeBase64(v)
		}
		out.Data[i] = item
		out.Usage.PromptTokens += tokens(in)
	}
	out.Usage.TotalTokens = out.Usage.PromptTokens
	x.respond(out)
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

// encodeBase64 renders v as base64 of little-endian float32 values.
func encodeBase64(v []float32) string {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return base64.StdEncoding.EncodeToString(b)
}

func (x *exchange) models() {
	out := modelListOut{Object: "list", Data: make([]modelOut, len(x.s.models))}
	for i, id := range x.s.models {
		out.Data[i] = modelOut{ID: id, Object: "model", Created: 1700000000, OwnedBy: "tollgate-fake"}
	}
	x.respond(out)
}
