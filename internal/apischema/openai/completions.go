package openai

import (
	"errors"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/tollgate-dev/tollgate/internal/apischema"
)

// CompletionRequest is the body of POST /v1/completions, the legacy
// (text) completions API that OpenAI's instruct models and
// OpenAI-compatible servers (vLLM, llama.cpp, TGI) serve.
type CompletionRequest struct {
	Model string `json:"model"`
	// Prompt is a string, an array of strings, an array of token ids or
	// an array of token-id arrays.
	Prompt           Prompt         `json:"prompt"`
	Suffix           *string        `json:"suffix,omitzero"`
	MaxTokens        *int           `json:"max_tokens,omitzero"`
	Temperature      *float64       `json:"temperature,omitzero"`
	TopP             *float64       `json:"top_p,omitzero"`
	N                *int           `json:"n,omitzero"`
	Stream           bool           `json:"stream,omitzero"`
	StreamOptions    *StreamOptions `json:"stream_options,omitzero"`
	Logprobs         *int           `json:"logprobs,omitzero"`
	Echo             bool           `json:"echo,omitzero"`
	Stop             *Stop          `json:"stop,omitzero"`
	PresencePenalty  *float64       `json:"presence_penalty,omitzero"`
	FrequencyPenalty *float64       `json:"frequency_penalty,omitzero"`
	BestOf           *int           `json:"best_of,omitzero"`
	LogitBias        jsontext.Value `json:"logit_bias,omitzero"`
	Seed             *int64         `json:"seed,omitzero"`
	User             string         `json:"user,omitzero"`
	Unknown          jsontext.Value `json:",embed"`
}

// Prompt is "prompt": a string, an array of strings, an array of token ids
// or an array of token-id arrays. Exactly one of Texts and Tokens is set.
type Prompt struct {
	// Texts holds the prompts given as text; Single is true when the JSON
	// was (and is written as) one string.
	Texts  []string
	Single bool
	// Tokens holds the prompts given as token ids; Flat is true when the
	// JSON was one array of ids.
	Tokens [][]int64
	Flat   bool
}

var errPrompt = errors.New("prompt must be a string, an array of strings, an array of token ids or an array of token-id arrays")

// IsZero implements json's omitzero.
func (p *Prompt) IsZero() bool { return p.Texts == nil && p.Tokens == nil }

// MarshalJSONTo implements json.MarshalerTo.
func (p *Prompt) MarshalJSONTo(enc *jsontext.Encoder) error {
	switch {
	case p.Single && len(p.Texts) == 1:
		return enc.WriteToken(jsontext.String(p.Texts[0]))
	case p.Texts != nil:
		return json.MarshalEncode(enc, &p.Texts)
	case p.Flat && len(p.Tokens) == 1:
		return json.MarshalEncode(enc, &p.Tokens[0])
	case p.Tokens != nil:
		return json.MarshalEncode(enc, &p.Tokens)
	}
	return enc.WriteToken(jsontext.Null)
}

// UnmarshalJSONFrom implements json.UnmarshalerFrom.
func (p *Prompt) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	*p = Prompt{}
	v, err := readStringOrArray(dec, errPrompt)
	if err != nil {
		return err
	}
	if v.single {
		p.Texts, p.Single = []string{v.s}, true
		return nil
	}
	switch v.first {
	case 0:
		p.Texts = []string{}
	case '"':
		return json.Unmarshal(v.array, &p.Texts)
	case '0':
		var ids []int64
		if err := json.Unmarshal(v.array, &ids); err != nil {
			return errPrompt
		}
		p.Tokens, p.Flat = [][]int64{ids}, true
	case '[':
		if err := json.Unmarshal(v.array, &p.Tokens); err != nil {
			return errPrompt
		}
	default:
		return errPrompt
	}
	return nil
}

// stringOrArray is a member that is a string (single, s) or an array:
// its bytes and the kind of its first element (0 when it is empty).
type stringOrArray struct {
	s      string
	single bool
	array  jsontext.Value
	first  jsontext.Kind
}

// readStringOrArray reads a string-or-array member; bad is the error for
// any other value.
func readStringOrArray(dec *jsontext.Decoder, bad error) (stringOrArray, error) {
	switch dec.PeekKind() {
	case '"':
		tok, err := dec.ReadToken()
		if err != nil {
			return stringOrArray{}, err
		}
		return stringOrArray{s: tok.String(), single: true}, nil
	case '[':
	default:
		return stringOrArray{}, bad
	}
	v, err := dec.ReadValue()
	if err != nil {
		return stringOrArray{}, err
	}
	var items []jsontext.Value
	if err := json.Unmarshal(v, &items); err != nil {
		return stringOrArray{}, err
	}
	out := stringOrArray{array: v}
	if len(items) > 0 {
		out.first = items[0].Kind()
	}
	return out, nil
}

// Completion is the answer of /v1/completions ("object":
// "text_completion"), and each event of its stream.
type Completion struct {
	ID                string                     `json:"id"`
	Object            string                     `json:"object"`
	Created           int64                      `json:"created"`
	Model             string                     `json:"model"`
	Choices           []CompletionChoice         `json:"choices"`
	Usage             *Usage                     `json:"usage,omitzero"`
	SystemFingerprint apischema.Nullable[string] `json:"system_fingerprint,omitzero"`
	Error             *ErrorObject               `json:"error,omitzero"`
	Unknown           jsontext.Value             `json:",embed"`
}

// CompletionChoice is one generated text. Logprobs is null unless asked
// for; FinishReason is null on stream events before the last.
type CompletionChoice struct {
	Text         string                     `json:"text"`
	Index        int                        `json:"index"`
	Logprobs     jsontext.Value             `json:"logprobs"`
	FinishReason apischema.Nullable[string] `json:"finish_reason"`
	Unknown      jsontext.Value             `json:",embed"`
}
