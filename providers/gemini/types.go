package gemini

import "encoding/json"

// This file holds the wire types of the Gemini API (generativelanguage
// v1beta) as documented in Google's REST reference: GenerateContentRequest,
// GenerateContentResponse, the embedding, token-counting and model-listing
// messages, and the google.rpc.Status error body. Only the fields the
// adapter reads or writes are declared; unknown response fields are ignored.

// generateRequest is the body of models/{model}:generateContent and
// :streamGenerateContent. Model is only set when the request is nested in a
// countTokens request, which requires it.
type generateRequest struct {
	Model             string            `json:"model,omitempty"`
	Contents          []content         `json:"contents"`
	SystemInstruction *content          `json:"systemInstruction,omitempty"`
	Tools             []tool            `json:"tools,omitempty"`
	ToolConfig        *toolConfig       `json:"toolConfig,omitempty"`
	GenerationConfig  *generationConfig `json:"generationConfig,omitempty"`
}

// content is one turn: role "user" or "model" (empty for systemInstruction).
type content struct {
	Role  string `json:"role,omitempty"`
	Parts []part `json:"parts"`
}

// part is a union: exactly one of Text, InlineData, FileData, FunctionCall
// and FunctionResponse is set. Thought marks Text as a thought summary;
// ThoughtSignature is the opaque signature that must be replayed with the
// part it came on (function calls of Gemini 3 models).
type part struct {
	Text             string            `json:"text,omitempty"`
	Thought          bool              `json:"thought,omitempty"`
	ThoughtSignature string            `json:"thoughtSignature,omitempty"`
	InlineData       *blob             `json:"inlineData,omitempty"`
	FileData         *fileData         `json:"fileData,omitempty"`
	FunctionCall     *functionCall     `json:"functionCall,omitempty"`
	FunctionResponse *functionResponse `json:"functionResponse,omitempty"`
}

// blob is inline media; Data is base64 on the wire.
type blob struct {
	MIMEType string `json:"mimeType"`
	Data     []byte `json:"data"`
}

// fileData references media by URI.
type fileData struct {
	MIMEType string `json:"mimeType,omitempty"`
	FileURI  string `json:"fileUri"`
}

// functionCall is a call predicted by the model. ID is only sent by some
// models.
type functionCall struct {
	ID   string          `json:"id,omitempty"`
	Name string          `json:"name"`
	Args json.RawMessage `json:"args,omitempty"`
}

// functionResponse is the result of a call; Response must be a JSON object.
type functionResponse struct {
	ID       string          `json:"id,omitempty"`
	Name     string          `json:"name"`
	Response json.RawMessage `json:"response"`
}

type tool struct {
	FunctionDeclarations []functionDeclaration `json:"functionDeclarations"`
}

// functionDeclaration declares a function. Parameters takes Gemini's
// OpenAPI-subset Schema; ParametersJSONSchema takes full JSON Schema (newer
// models). At most one is set.
type functionDeclaration struct {
	Name                 string          `json:"name"`
	Description          string          `json:"description,omitempty"`
	Parameters           json.RawMessage `json:"parameters,omitempty"`
	ParametersJSONSchema json.RawMessage `json:"parametersJsonSchema,omitempty"`
}

type toolConfig struct {
	FunctionCallingConfig *functionCallingConfig `json:"functionCallingConfig"`
}

// functionCallingConfig.Mode is AUTO, ANY or NONE.
type functionCallingConfig struct {
	Mode                 string   `json:"mode"`
	AllowedFunctionNames []string `json:"allowedFunctionNames,omitempty"`
}

type generationConfig struct {
	StopSequences      []string        `json:"stopSequences,omitempty"`
	ResponseMIMEType   string          `json:"responseMimeType,omitempty"`
	ResponseSchema     json.RawMessage `json:"responseSchema,omitempty"`
	ResponseJSONSchema json.RawMessage `json:"responseJsonSchema,omitempty"`
	CandidateCount     *int            `json:"candidateCount,omitempty"`
	MaxOutputTokens    *int            `json:"maxOutputTokens,omitempty"`
	Temperature        *float64        `json:"temperature,omitempty"`
	TopP               *float64        `json:"topP,omitempty"`
	TopK               *int            `json:"topK,omitempty"`
	Seed               *int64          `json:"seed,omitempty"`
	PresencePenalty    *float64        `json:"presencePenalty,omitempty"`
	FrequencyPenalty   *float64        `json:"frequencyPenalty,omitempty"`
	ThinkingConfig     *thinkingConfig `json:"thinkingConfig,omitempty"`
}

// thinkingConfig sets either ThinkingBudget (Gemini 2.5) or ThinkingLevel
// (Gemini 3: MINIMAL, LOW, MEDIUM, HIGH), never both.
type thinkingConfig struct {
	IncludeThoughts bool   `json:"includeThoughts,omitempty"`
	ThinkingBudget  *int   `json:"thinkingBudget,omitempty"`
	ThinkingLevel   string `json:"thinkingLevel,omitempty"`
}

// generateResponse is a GenerateContentResponse: the whole answer of
// generateContent, or one event of streamGenerateContent. Error is set when
// a failure is reported inside a stream.
type generateResponse struct {
	Candidates     []candidate     `json:"candidates"`
	PromptFeedback *promptFeedback `json:"promptFeedback"`
	UsageMetadata  *usageMetadata  `json:"usageMetadata"`
	ModelVersion   string          `json:"modelVersion"`
	ResponseID     string          `json:"responseId"`
	Error          *apiError       `json:"error"`
}

type candidate struct {
	Content      *content `json:"content"`
	FinishReason string   `json:"finishReason"`
	Index        int      `json:"index"`
}

type promptFeedback struct {
	BlockReason string `json:"blockReason"`
}

// usageMetadata counts tokens. CandidatesTokenCount excludes
// ThoughtsTokenCount; PromptTokenCount includes CachedContentTokenCount.
type usageMetadata struct {
	PromptTokenCount        int64 `json:"promptTokenCount"`
	CandidatesTokenCount    int64 `json:"candidatesTokenCount"`
	CachedContentTokenCount int64 `json:"cachedContentTokenCount"`
	ThoughtsTokenCount      int64 `json:"thoughtsTokenCount"`
	ToolUsePromptTokenCount int64 `json:"toolUsePromptTokenCount"`
	TotalTokenCount         int64 `json:"totalTokenCount"`
}

// errorBody is a google.rpc.Status error response.
type errorBody struct {
	Error *apiError `json:"error"`
}

type apiError struct {
	Code    int           `json:"code"`
	Message string        `json:"message"`
	Status  string        `json:"status"`
	Details []errorDetail `json:"details"`
}

// errorDetail is one entry of details: RetryInfo carries RetryDelay,
// ErrorInfo carries Reason.
type errorDetail struct {
	Type       string `json:"@type"`
	RetryDelay string `json:"retryDelay"`
	Reason     string `json:"reason"`
}

// embedRequest is the body of :embedContent and one entry of
// :batchEmbedContents (where Model is required).
type embedRequest struct {
	Model                string  `json:"model,omitempty"`
	Content              content `json:"content"`
	TaskType             string  `json:"taskType,omitempty"`
	OutputDimensionality *int    `json:"outputDimensionality,omitempty"`
}

type batchEmbedRequest struct {
	Requests []embedRequest `json:"requests"`
}

type embedding struct {
	Values []float32 `json:"values"`
}

type embedResponse struct {
	Embedding *embedding `json:"embedding"`
}

type batchEmbedResponse struct {
	Embeddings []embedding `json:"embeddings"`
}

type countTokensRequest struct {
	GenerateContentRequest *generateRequest `json:"generateContentRequest"`
}

// countTokensResponse omits totalTokens when it is zero (proto3 JSON).
type countTokensResponse struct {
	TotalTokens int64 `json:"totalTokens"`
}

type modelList struct {
	Models []struct {
		Name string `json:"name"`
	} `json:"models"`
	NextPageToken string `json:"nextPageToken"`
}
