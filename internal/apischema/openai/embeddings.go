package openai

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"math"
	"strconv"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// EmbeddingRequest is the body of POST /v1/embeddings.
type EmbeddingRequest struct {
	Model string         `json:"model"`
	Input EmbeddingInput `json:"input"`
	// EncodingFormat is "float" (the default) or "base64".
	EncodingFormat string         `json:"encoding_format,omitzero"`
	Dimensions     *int           `json:"dimensions,omitzero"`
	User           string         `json:"user,omitzero"`
	Unknown        jsontext.Value `json:",embed"`
}

var errInput = errors.New("must be a string, an array of strings, an array of tokens or an array of token arrays")

// EmbeddingInput is "input": a string, an array of strings, an array of
// token ids, or an array of token-id arrays.
type EmbeddingInput struct {
	// Texts is the text input (one element for a string).
	Texts []string `json:"-"`
	// Tokens is the token input (one array for a flat token array).
	Tokens [][]int64 `json:"-"`
	// Single is true when the JSON was one string or one flat token array.
	Single bool `json:"-"`
}

// Len returns the number of inputs.
func (in EmbeddingInput) Len() int { return len(in.Texts) + len(in.Tokens) }

// MarshalJSONTo implements json.MarshalerTo.
func (in *EmbeddingInput) MarshalJSONTo(enc *jsontext.Encoder) error {
	switch {
	case in.Tokens != nil && in.Single && len(in.Tokens) == 1:
		return json.MarshalEncode(enc, &in.Tokens[0])
	case in.Tokens != nil:
		return json.MarshalEncode(enc, &in.Tokens)
	case in.Single && len(in.Texts) == 1:
		return enc.WriteToken(jsontext.String(in.Texts[0]))
	}
	if in.Texts == nil {
		return enc.WriteToken(jsontext.Null)
	}
	return json.MarshalEncode(enc, &in.Texts)
}

// UnmarshalJSONFrom implements json.UnmarshalerFrom.
func (in *EmbeddingInput) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	*in = EmbeddingInput{}
	v, err := dec.ReadValue()
	if err != nil {
		return err
	}
	switch v.Kind() {
	case '"':
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return err
		}
		in.Texts, in.Single = []string{s}, true
		return nil
	case '[':
	default:
		return errInput
	}
	// An array: of strings, of numbers (one token array) or of arrays.
	switch firstKind(v) {
	case '"', ']':
		return json.Unmarshal(v, &in.Texts)
	case '0':
		var toks []int64
		if err := json.Unmarshal(v, &toks); err != nil {
			return errInput
		}
		in.Tokens, in.Single = [][]int64{toks}, true
		return nil
	case '[':
		if err := json.Unmarshal(v, &in.Tokens); err != nil {
			return errInput
		}
		return nil
	}
	return errInput
}

// firstKind returns the kind of the first element of the array v, ']' for
// an empty one.
func firstKind(v jsontext.Value) jsontext.Kind {
	for _, c := range v[1:] {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '"', '[', ']', '{':
			return jsontext.Kind(c)
		case 'n', 't', 'f':
			return jsontext.Kind(c)
		}
		return '0'
	}
	return 0
}

// EmbeddingList is the answer of POST /v1/embeddings.
type EmbeddingList struct {
	Object  string          `json:"object"`
	Data    []Embedding     `json:"data"`
	Model   string          `json:"model"`
	Usage   *EmbeddingUsage `json:"usage,omitzero"`
	Unknown jsontext.Value  `json:",embed"`
}

// EmbeddingUsage counts the tokens of an embeddings request.
type EmbeddingUsage struct {
	PromptTokens int64          `json:"prompt_tokens"`
	TotalTokens  int64          `json:"total_tokens"`
	Unknown      jsontext.Value `json:",embed"`
}

// Embedding is one vector of an EmbeddingList.
type Embedding struct {
	Object    string         `json:"object"`
	Index     int            `json:"index"`
	Embedding Vector         `json:"embedding"`
	Unknown   jsontext.Value `json:",embed"`
}

// Vector is an embedding: a JSON array of floats, or with
// encoding_format=base64 a string of little-endian float32 values.
// Base64 says which form is written.
type Vector struct {
	Values []float32 `json:"-"`
	Base64 bool      `json:"-"`
}

var errBase64Vector = errors.New("base64 embedding length is not a multiple of 4")

// MarshalJSONTo implements json.MarshalerTo.
func (v *Vector) MarshalJSONTo(enc *jsontext.Encoder) error {
	return enc.WriteValue(v.AppendJSON(nil))
}

// AppendJSON appends the JSON of v to dst. Values that JSON cannot
// represent (NaN, ±Inf) are written as 0.
func (v Vector) AppendJSON(dst []byte) []byte {
	if v.Base64 {
		raw := make([]byte, 4*len(v.Values))
		for i, f := range v.Values {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(f))
		}
		dst = append(dst, '"')
		dst = base64.StdEncoding.AppendEncode(dst, raw)
		return append(dst, '"')
	}
	dst = append(dst, '[')
	for i, f := range v.Values {
		if i > 0 {
			dst = append(dst, ',')
		}
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			f = 0
		}
		dst = strconv.AppendFloat(dst, float64(f), 'g', -1, 32)
	}
	return append(dst, ']')
}

// UnmarshalJSONFrom implements json.UnmarshalerFrom.
func (v *Vector) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	if dec.PeekKind() != '"' {
		v.Base64 = false
		return json.UnmarshalDecode(dec, &v.Values)
	}
	tok, err := dec.ReadToken()
	if err != nil {
		return err
	}
	raw, err := base64.StdEncoding.DecodeString(tok.String())
	if err != nil {
		return err
	}
	if len(raw)%4 != 0 {
		return errBase64Vector
	}
	v.Base64 = true
	v.Values = make([]float32, len(raw)/4)
	for i := range v.Values {
		v.Values[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return nil
}
