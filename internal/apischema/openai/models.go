package openai

import "github.com/go-json-experiment/json/jsontext"

// ModelList is the answer of GET /v1/models.
type ModelList struct {
	Object  string         `json:"object"`
	Data    []Model        `json:"data"`
	Unknown jsontext.Value `json:",embed"`
}

// Model is a model object, also the answer of GET /v1/models/{model}.
type Model struct {
	ID      string         `json:"id"`
	Object  string         `json:"object"`
	Created int64          `json:"created"`
	OwnedBy string         `json:"owned_by"`
	Unknown jsontext.Value `json:",embed"`
}
