// Package vertex is the wire schema of Vertex AI's text embedding
// models (:predict), shared by the adapter (providers/vertex) and its fake
// (providers/vertex/vertextest). Generation uses the Gemini and Anthropic
// schemas (internal/apischema/gemini, internal/apischema/anthropic).
package vertex

import "github.com/go-json-experiment/json/jsontext"

// PredictRequest is the body of a text embedding model's :predict.
type PredictRequest struct {
	Instances  []EmbedInstance    `json:"instances"`
	Parameters *PredictParameters `json:"parameters,omitzero"`
	Unknown    jsontext.Value     `json:",embed"`
}

// EmbedInstance is one text to embed.
type EmbedInstance struct {
	Content  string         `json:"content"`
	TaskType string         `json:"task_type,omitzero"`
	Unknown  jsontext.Value `json:",embed"`
}

// PredictParameters are the embedding parameters.
type PredictParameters struct {
	OutputDimensionality *int           `json:"outputDimensionality,omitzero"`
	AutoTruncate         *bool          `json:"autoTruncate,omitzero"`
	Unknown              jsontext.Value `json:",embed"`
}

// PredictResponse holds one prediction per instance.
type PredictResponse struct {
	Predictions []Prediction   `json:"predictions"`
	Unknown     jsontext.Value `json:",embed"`
}

// Prediction is one input's embedding.
type Prediction struct {
	Embeddings Embedding      `json:"embeddings"`
	Unknown    jsontext.Value `json:",embed"`
}

// Embedding holds the vector and how many tokens the input had.
type Embedding struct {
	Values     []float32 `json:"values"`
	Statistics struct {
		TokenCount int64 `json:"token_count"`
		Truncated  bool  `json:"truncated"`
	} `json:"statistics"`
	Unknown jsontext.Value `json:",embed"`
}
