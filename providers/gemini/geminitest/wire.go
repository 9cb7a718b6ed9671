package geminitest

import "encoding/json"

// Wire types of the fake, written from Google's REST reference
// independently of the adapter in providers/gemini, so that tests of one
// against the other check both. Requests are decoded with unknown fields
// disallowed, like the real API, which answers 400 "Unknown name" for a
// field it does not know; the request types therefore list every field of
// the reference that a client may send, including ones the fake ignores.

type generateRequest struct {
	Model             string            `json:"model"`
	Contents          []contentIn       `json:"contents"`
	SystemInstruction *contentIn        `json:"systemInstruction"`
	Tools             []toolIn          `json:"tools"`
	ToolConfig        *toolConfigIn     `json:"toolConfig"`
	GenerationConfig  *generationConfig `json:"generationConfig"`
	SafetySettings    []struct {
		Category  string `json:"category"`
		Threshold string `json:"threshold"`
	} `json:"safetySettings"`
	CachedContent string `json:"cachedContent"`
}

type contentIn struct {
	Role  string   `json:"role"`
	Parts []partIn `json:"parts"`
}

type partIn struct {
	Text             *string         `json:"text"`
	Thought          bool            `json:"thought"`
	ThoughtSignature string          `json:"thoughtSignature"`
	InlineData       *blobIn         `json:"inlineData"`
	FileData         *fileDataIn     `json:"fileData"`
	FunctionCall     *functionCallIn `json:"functionCall"`
	FunctionResponse *struct {
		ID       string          `json:"id"`
		Name     string          `json:"name"`
		Response json.RawMessage `json:"response"`
	} `json:"functionResponse"`
	ExecutableCode      json.RawMessage `json:"executableCode"`
	CodeExecutionResult json.RawMessage `json:"codeExecutionResult"`
	VideoMetadata       json.RawMessage `json:"videoMetadata"`
}

type blobIn struct {
	MIMEType string `json:"mimeType"`
	Data     []byte `json:"data"`
}

type fileDataIn struct {
	MIMEType string `json:"mimeType"`
	FileURI  string `json:"fileUri"`
}

type functionCallIn struct {
	ID   string          `json:"id"`
	Name string          `json:"name"`
	Args json.RawMessage `json:"args"`
}

type toolIn struct {
	FunctionDeclarations []struct {
		Name                 string          `json:"name"`
		Description          string          `json:"description"`
		Parameters           *schemaIn       `json:"parameters"`
		ParametersJSONSchema json.RawMessage `json:"parametersJsonSchema"`
		Response             *schemaIn       `json:"response"`
		ResponseJSONSchema   json.RawMessage `json:"responseJsonSchema"`
		Behavior             string          `json:"behavior"`
	} `json:"functionDeclarations"`
	GoogleSearch          json.RawMessage `json:"googleSearch"`
	GoogleSearchRetrieval json.RawMessage `json:"googleSearchRetrieval"`
	CodeExecution         json.RawMessage `json:"codeExecution"`
	URLContext            json.RawMessage `json:"urlContext"`
}

// schemaIn is Gemini's Schema: the OpenAPI subset. Decoding a JSON Schema
// keyword it lacks (additionalProperties, $schema, ...) fails, as upstream.
type schemaIn struct {
	Type             string               `json:"type"`
	Format           string               `json:"format"`
	Title            string               `json:"title"`
	Description      string               `json:"description"`
	Nullable         bool                 `json:"nullable"`
	Enum             []string             `json:"enum"`
	MaxItems         json.Number          `json:"maxItems"`
	MinItems         json.Number          `json:"minItems"`
	Properties       map[string]*schemaIn `json:"properties"`
	Required         []string             `json:"required"`
	MinProperties    json.Number          `json:"minProperties"`
	MaxProperties    json.Number          `json:"maxProperties"`
	MinLength        json.Number          `json:"minLength"`
	MaxLength        json.Number          `json:"maxLength"`
	Pattern          string               `json:"pattern"`
	Example          json.RawMessage      `json:"example"`
	AnyOf            []*schemaIn          `json:"anyOf"`
	PropertyOrdering []string             `json:"propertyOrdering"`
	Default          json.RawMessage      `json:"default"`
	Items            *schemaIn            `json:"items"`
	Minimum          *float64             `json:"minimum"`
	Maximum          *float64             `json:"maximum"`
}

type toolConfigIn struct {
	FunctionCallingConfig *struct {
		Mode                 string   `json:"mode"`
		AllowedFunctionNames []string `json:"allowedFunctionNames"`
	} `json:"functionCallingConfig"`
	RetrievalConfig json.RawMessage `json:"retrievalConfig"`
}

type generationConfig struct {
	StopSequences              []string        `json:"stopSequences"`
	ResponseMIMEType           string          `json:"responseMimeType"`
	ResponseSchema             *schemaIn       `json:"responseSchema"`
	ResponseJSONSchema         json.RawMessage `json:"responseJsonSchema"`
	ResponseModalities         []string        `json:"responseModalities"`
	CandidateCount             *int            `json:"candidateCount"`
	MaxOutputTokens            *int            `json:"maxOutputTokens"`
	Temperature                *float64        `json:"temperature"`
	TopP                       *float64        `json:"topP"`
	TopK                       *int            `json:"topK"`
	Seed                       *int64          `json:"seed"`
	PresencePenalty            *float64        `json:"presencePenalty"`
	FrequencyPenalty           *float64        `json:"frequencyPenalty"`
	ResponseLogprobs           bool            `json:"responseLogprobs"`
	Logprobs                   *int            `json:"logprobs"`
	EnableEnhancedCivicAnswers bool            `json:"enableEnhancedCivicAnswers"`
	SpeechConfig               json.RawMessage `json:"speechConfig"`
	MediaResolution            string          `json:"mediaResolution"`
	ThinkingConfig             *struct {
		IncludeThoughts bool   `json:"includeThoughts"`
		ThinkingBudget  *int   `json:"thinkingBudget"`
		ThinkingLevel   string `json:"thinkingLevel"`
	} `json:"thinkingConfig"`
}

type responseOut struct {
	Candidates     []candidateOut     `json:"candidates,omitempty"`
	PromptFeedback *promptFeedbackOut `json:"promptFeedback,omitempty"`
	UsageMetadata  *usageOut          `json:"usageMetadata,omitempty"`
	ModelVersion   string             `json:"modelVersion"`
	ResponseID     string             `json:"responseId"`
}

type candidateOut struct {
	Content      contentOut `json:"content"`
	FinishReason string     `json:"finishReason,omitempty"`
	// Index is omitted for 0, as proto3 JSON does.
	Index int `json:"index,omitempty"`
}

type contentOut struct {
	Parts []partOut `json:"parts"`
	Role  string    `json:"role"`
}

type partOut struct {
	Text             string           `json:"text,omitempty"`
	Thought          bool             `json:"thought,omitempty"`
	FunctionCall     *functionCallOut `json:"functionCall,omitempty"`
	ThoughtSignature string           `json:"thoughtSignature,omitempty"`
}

type functionCallOut struct {
	ID   string          `json:"id,omitempty"`
	Name string          `json:"name"`
	Args json.RawMessage `json:"args"`
}

type promptFeedbackOut struct {
	BlockReason string `json:"blockReason"`
}

type usageOut struct {
	PromptTokenCount     int `json:"promptTokenCount"`
	CandidatesTokenCount int `json:"candidatesTokenCount,omitempty"`
	TotalTokenCount      int `json:"totalTokenCount"`
	ThoughtsTokenCount   int `json:"thoughtsTokenCount,omitempty"`
}

// errorOut is a google.rpc.Status.
type errorOut struct {
	Code    int              `json:"code"`
	Message string           `json:"message"`
	Status  string           `json:"status"`
	Details []map[string]any `json:"details,omitempty"`
}

type errorEnvelope struct {
	Error errorOut `json:"error"`
}

type embedRequest struct {
	Model                string    `json:"model"`
	Content              contentIn `json:"content"`
	TaskType             string    `json:"taskType"`
	Title                string    `json:"title"`
	OutputDimensionality *int      `json:"outputDimensionality"`
}

type batchEmbedRequest struct {
	Requests []embedRequest `json:"requests"`
}

type embeddingOut struct {
	Values []float32 `json:"values"`
}

type countTokensRequest struct {
	Contents               []contentIn      `json:"contents"`
	GenerateContentRequest *generateRequest `json:"generateContentRequest"`
}

type modelOut struct {
	Name                       string   `json:"name"`
	Version                    string   `json:"version"`
	DisplayName                string   `json:"displayName"`
	InputTokenLimit            int      `json:"inputTokenLimit"`
	OutputTokenLimit           int      `json:"outputTokenLimit"`
	SupportedGenerationMethods []string `json:"supportedGenerationMethods"`
}

type modelListOut struct {
	Models        []modelOut `json:"models"`
	NextPageToken string     `json:"nextPageToken,omitempty"`
}
