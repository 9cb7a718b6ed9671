package gemini

import "github.com/go-json-experiment/json/jsontext"

// Finish reasons (the common ones; the API has more).
const (
	FinishStop              = "STOP"
	FinishMaxTokens         = "MAX_TOKENS"
	FinishSafety            = "SAFETY"
	FinishRecitation        = "RECITATION"
	FinishMalformedFunction = "MALFORMED_FUNCTION_CALL"
)

// GenerateContentResponse is the whole answer of generateContent, or one
// event of streamGenerateContent. Error is set when a failure is reported
// inside a stream.
type GenerateContentResponse struct {
	Candidates     []Candidate     `json:"candidates,omitzero"`
	PromptFeedback *PromptFeedback `json:"promptFeedback,omitzero"`
	UsageMetadata  *UsageMetadata  `json:"usageMetadata,omitzero"`
	ModelVersion   string          `json:"modelVersion,omitzero"`
	ResponseID     string          `json:"responseId,omitzero"`
	Error          *Status         `json:"error,omitzero"`
	Unknown        jsontext.Value  `json:",embed"`
}

// Candidate is one generated answer. Index is omitted for 0, as proto3
// JSON does.
type Candidate struct {
	Content           *Content       `json:"content,omitzero"`
	FinishReason      string         `json:"finishReason,omitzero"`
	Index             int            `json:"index,omitzero"`
	SafetyRatings     jsontext.Value `json:"safetyRatings,omitzero"`
	CitationMetadata  jsontext.Value `json:"citationMetadata,omitzero"`
	GroundingMetadata jsontext.Value `json:"groundingMetadata,omitzero"`
	Unknown           jsontext.Value `json:",embed"`
}

// PromptFeedback says why a prompt was blocked.
type PromptFeedback struct {
	BlockReason   string         `json:"blockReason,omitzero"`
	SafetyRatings jsontext.Value `json:"safetyRatings,omitzero"`
	Unknown       jsontext.Value `json:",embed"`
}

// UsageMetadata counts tokens. CandidatesTokenCount excludes
// ThoughtsTokenCount; PromptTokenCount includes CachedContentTokenCount.
type UsageMetadata struct {
	PromptTokenCount        int64          `json:"promptTokenCount,omitzero"`
	CandidatesTokenCount    int64          `json:"candidatesTokenCount,omitzero"`
	CachedContentTokenCount int64          `json:"cachedContentTokenCount,omitzero"`
	ThoughtsTokenCount      int64          `json:"thoughtsTokenCount,omitzero"`
	ToolUsePromptTokenCount int64          `json:"toolUsePromptTokenCount,omitzero"`
	TotalTokenCount         int64          `json:"totalTokenCount,omitzero"`
	Unknown                 jsontext.Value `json:",embed"`
}

// ErrorBody is a google.rpc.Status error response.
type ErrorBody struct {
	Error   *Status        `json:"error,omitzero"`
	Unknown jsontext.Value `json:",embed"`
}

// Status is a google.rpc.Status.
type Status struct {
	Code    int            `json:"code"`
	Message string         `json:"message"`
	Status  string         `json:"status"`
	Details []StatusDetail `json:"details,omitzero"`
	Unknown jsontext.Value `json:",embed"`
}

// StatusDetail is one entry of details: RetryInfo carries RetryDelay,
// ErrorInfo Reason (and Domain, Metadata).
type StatusDetail struct {
	Type       string         `json:"@type"`
	RetryDelay string         `json:"retryDelay,omitzero"`
	Reason     string         `json:"reason,omitzero"`
	Domain     string         `json:"domain,omitzero"`
	Unknown    jsontext.Value `json:",embed"`
}

// EmbedContentRequest is the body of :embedContent and one entry of
// :batchEmbedContents (where Model is required).
type EmbedContentRequest struct {
	Model                string         `json:"model,omitzero"`
	Content              Content        `json:"content"`
	TaskType             string         `json:"taskType,omitzero"`
	Title                string         `json:"title,omitzero"`
	OutputDimensionality *int           `json:"outputDimensionality,omitzero"`
	Unknown              jsontext.Value `json:",embed"`
}

// BatchEmbedContentsRequest is the body of :batchEmbedContents.
type BatchEmbedContentsRequest struct {
	Requests []EmbedContentRequest `json:"requests"`
	Unknown  jsontext.Value        `json:",embed"`
}

// ContentEmbedding is one vector.
type ContentEmbedding struct {
	Values  []float32      `json:"values"`
	Unknown jsontext.Value `json:",embed"`
}

// EmbedContentResponse is the answer of :embedContent.
type EmbedContentResponse struct {
	Embedding *ContentEmbedding `json:"embedding,omitzero"`
	Unknown   jsontext.Value    `json:",embed"`
}

// BatchEmbedContentsResponse is the answer of :batchEmbedContents.
type BatchEmbedContentsResponse struct {
	Embeddings []ContentEmbedding `json:"embeddings"`
	Unknown    jsontext.Value     `json:",embed"`
}

// CountTokensRequest is the body of :countTokens: Contents, or a whole
// GenerateContentRequest (with its model).
type CountTokensRequest struct {
	Contents               []Content               `json:"contents,omitzero"`
	GenerateContentRequest *GenerateContentRequest `json:"generateContentRequest,omitzero"`
	Unknown                jsontext.Value          `json:",embed"`
}

// CountTokensResponse is the answer of :countTokens; TotalTokens is
// omitted when zero (proto3 JSON).
type CountTokensResponse struct {
	TotalTokens             int64          `json:"totalTokens,omitzero"`
	CachedContentTokenCount int64          `json:"cachedContentTokenCount,omitzero"`
	Unknown                 jsontext.Value `json:",embed"`
}

// ModelList is the answer of GET models.
type ModelList struct {
	Models        []Model        `json:"models"`
	NextPageToken string         `json:"nextPageToken,omitzero"`
	Unknown       jsontext.Value `json:",embed"`
}

// Model describes a model.
type Model struct {
	Name                       string         `json:"name"`
	Version                    string         `json:"version,omitzero"`
	DisplayName                string         `json:"displayName,omitzero"`
	Description                string         `json:"description,omitzero"`
	InputTokenLimit            int            `json:"inputTokenLimit,omitzero"`
	OutputTokenLimit           int            `json:"outputTokenLimit,omitzero"`
	SupportedGenerationMethods []string       `json:"supportedGenerationMethods,omitzero"`
	Unknown                    jsontext.Value `json:",embed"`
}
