package openai

import (
	"errors"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// ModerationRequest is the body of POST /v1/moderations.
type ModerationRequest struct {
	// Model is empty for the server's default (omni-moderation-latest).
	Model   string          `json:"model,omitzero"`
	Input   ModerationInput `json:"input"`
	Unknown jsontext.Value  `json:",embed"`
}

// ModerationInput is "input": a string, an array of strings, or an array
// of text and image_url parts (one input, omni-moderation models).
type ModerationInput struct {
	// Texts holds the string inputs; Single is true when the JSON was one
	// string.
	Texts  []string
	Single bool
	// Parts holds the multi-modal form.
	Parts []ModerationPart
}

// ModerationPart is a part of a multi-modal moderation input.
type ModerationPart struct {
	Type     string         `json:"type"`
	Text     string         `json:"text,omitzero"`
	ImageURL *ImageURL      `json:"image_url,omitzero"`
	Unknown  jsontext.Value `json:",embed"`
}

var errModerationInput = errors.New("input must be a string, an array of strings or an array of text and image_url parts")

// IsZero implements json's omitzero.
func (in *ModerationInput) IsZero() bool { return in.Texts == nil && in.Parts == nil }

// MarshalJSONTo implements json.MarshalerTo.
func (in *ModerationInput) MarshalJSONTo(enc *jsontext.Encoder) error {
	switch {
	case in.Single && len(in.Texts) == 1:
		return enc.WriteToken(jsontext.String(in.Texts[0]))
	case in.Parts != nil:
		return json.MarshalEncode(enc, &in.Parts)
	case in.Texts != nil:
		return json.MarshalEncode(enc, &in.Texts)
	}
	return enc.WriteToken(jsontext.Null)
}

// UnmarshalJSONFrom implements json.UnmarshalerFrom.
func (in *ModerationInput) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	*in = ModerationInput{}
	v, err := readStringOrArray(dec, errModerationInput)
	if err != nil {
		return err
	}
	if v.single {
		in.Texts, in.Single = []string{v.s}, true
		return nil
	}
	switch v.first {
	case 0:
		in.Texts = []string{}
	case '"':
		return json.Unmarshal(v.array, &in.Texts)
	case '{':
		return json.Unmarshal(v.array, &in.Parts)
	default:
		return errModerationInput
	}
	return nil
}

// Moderation is the answer of /v1/moderations.
type Moderation struct {
	ID      string             `json:"id"`
	Model   string             `json:"model"`
	Results []ModerationResult `json:"results"`
	Unknown jsontext.Value     `json:",embed"`
}

// ModerationResult is the classification of one input.
type ModerationResult struct {
	Flagged                   bool                `json:"flagged"`
	Categories                map[string]bool     `json:"categories"`
	CategoryScores            map[string]float64  `json:"category_scores"`
	CategoryAppliedInputTypes map[string][]string `json:"category_applied_input_types,omitzero"`
	Unknown                   jsontext.Value      `json:",embed"`
}

// ModerationCategories are the categories of OpenAI's moderation models.
var ModerationCategories = []string{
	"harassment", "harassment/threatening", "hate", "hate/threatening", "illicit", "illicit/violent",
	"self-harm", "self-harm/intent", "self-harm/instructions", "sexual", "sexual/minors", "violence", "violence/graphic",
}
