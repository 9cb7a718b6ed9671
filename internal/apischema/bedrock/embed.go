package bedrock

import "github.com/go-json-experiment/json/jsontext"

// Embedding models are called through InvokeModel (POST
// /model/{modelId}/invoke) with the model's own body.

// TitanEmbedRequest is the body for amazon.titan-embed-text-v1/v2: one
// text per call.
type TitanEmbedRequest struct {
	InputText  string         `json:"inputText"`
	Dimensions *int           `json:"dimensions,omitzero"`
	Normalize  *bool          `json:"normalize,omitzero"`
	Unknown    jsontext.Value `json:",embed"`
}

// TitanEmbedResponse is a Titan embedding.
type TitanEmbedResponse struct {
	Embedding           []float32      `json:"embedding"`
	InputTextTokenCount int64          `json:"inputTextTokenCount"`
	Unknown             jsontext.Value `json:",embed"`
}

// CohereEmbedRequest is the body for cohere.embed-*: up to 96 texts.
type CohereEmbedRequest struct {
	Texts          []string       `json:"texts"`
	InputType      string         `json:"input_type"`
	Truncate       string         `json:"truncate,omitzero"`
	EmbeddingTypes []string       `json:"embedding_types,omitzero"`
	Unknown        jsontext.Value `json:",embed"`
}

// CohereEmbedResponse holds one float embedding per text.
type CohereEmbedResponse struct {
	ID           string         `json:"id,omitzero"`
	Embeddings   [][]float32    `json:"embeddings"`
	Texts        []string       `json:"texts,omitzero"`
	ResponseType string         `json:"response_type,omitzero"`
	Unknown      jsontext.Value `json:",embed"`
}

// FoundationModelList is the body of the control plane's GET
// /foundation-models (host bedrock.REGION.amazonaws.com).
type FoundationModelList struct {
	ModelSummaries []FoundationModel `json:"modelSummaries"`
	Unknown        jsontext.Value    `json:",embed"`
}

// FoundationModel summarises one model.
type FoundationModel struct {
	ModelID                    string         `json:"modelId"`
	ProviderName               string         `json:"providerName,omitzero"`
	InferenceTypesSupported    []string       `json:"inferenceTypesSupported,omitzero"`
	ResponseStreamingSupported *bool          `json:"responseStreamingSupported,omitzero"`
	Unknown                    jsontext.Value `json:",embed"`
}
