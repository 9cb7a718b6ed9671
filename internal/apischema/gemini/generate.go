package gemini

import (
	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Unmarshal decodes a Gemini body into v, matching member names in
// camelCase and in snake_case as the API does.
func Unmarshal(data []byte, v any) error {
	return json.Unmarshal(data, v, json.MatchCaseInsensitiveNames(true))
}

// GenerateContentRequest is the body of models/{model}:generateContent and
// :streamGenerateContent. Model is only set when the request is nested in
// a countTokens request, which requires it.
type GenerateContentRequest struct {
	Model             string            `json:"model,omitzero"`
	Contents          []Content         `json:"contents"`
	SystemInstruction *Content          `json:"systemInstruction,omitzero"`
	Tools             []Tool            `json:"tools,omitzero"`
	ToolConfig        *ToolConfig       `json:"toolConfig,omitzero"`
	GenerationConfig  *GenerationConfig `json:"generationConfig,omitzero"`
	SafetySettings    []SafetySetting   `json:"safetySettings,omitzero"`
	CachedContent     string            `json:"cachedContent,omitzero"`
	Labels            map[string]string `json:"labels,omitzero"`
	Unknown           jsontext.Value    `json:",embed"`
}

// Content roles.
const (
	RoleUser  = "user"
	RoleModel = "model"
)

// Content is one turn: role "user" or "model" (empty for a system
// instruction).
type Content struct {
	Role    string         `json:"role,omitzero"`
	Parts   []Part         `json:"parts"`
	Unknown jsontext.Value `json:",embed"`
}

// Part is a union: one of Text, InlineData, FileData, FunctionCall,
// FunctionResponse, ExecutableCode and CodeExecutionResult is set. Thought
// marks Text as a thought summary; ThoughtSignature is the opaque
// signature to replay with the part it came on.
type Part struct {
	Text                string            `json:"text,omitzero"`
	Thought             bool              `json:"thought,omitzero"`
	ThoughtSignature    string            `json:"thoughtSignature,omitzero"`
	InlineData          *Blob             `json:"inlineData,omitzero"`
	FileData            *FileData         `json:"fileData,omitzero"`
	FunctionCall        *FunctionCall     `json:"functionCall,omitzero"`
	FunctionResponse    *FunctionResponse `json:"functionResponse,omitzero"`
	ExecutableCode      jsontext.Value    `json:"executableCode,omitzero"`
	CodeExecutionResult jsontext.Value    `json:"codeExecutionResult,omitzero"`
	VideoMetadata       jsontext.Value    `json:"videoMetadata,omitzero"`
	Unknown             jsontext.Value    `json:",embed"`
}

// Blob is inline media; Data is its base64 text as sent (standard or
// URL-safe alphabet).
type Blob struct {
	MIMEType string         `json:"mimeType"`
	Data     string         `json:"data"`
	Unknown  jsontext.Value `json:",embed"`
}

// FileData references media by URI (Files API, Cloud Storage or HTTP).
type FileData struct {
	MIMEType string         `json:"mimeType,omitzero"`
	FileURI  string         `json:"fileUri"`
	Unknown  jsontext.Value `json:",embed"`
}

// FunctionCall is a call predicted by the model; ID is only sent by some
// models.
type FunctionCall struct {
	ID      string         `json:"id,omitzero"`
	Name    string         `json:"name"`
	Args    jsontext.Value `json:"args,omitzero"`
	Unknown jsontext.Value `json:",embed"`
}

// FunctionResponse is the result of a call; Response must be an object.
type FunctionResponse struct {
	ID       string         `json:"id,omitzero"`
	Name     string         `json:"name"`
	Response jsontext.Value `json:"response"`
	Unknown  jsontext.Value `json:",embed"`
}

// Tool is function declarations or a built-in tool (search, code
// execution, URL context).
type Tool struct {
	FunctionDeclarations  []FunctionDeclaration `json:"functionDeclarations,omitzero"`
	GoogleSearch          jsontext.Value        `json:"googleSearch,omitzero"`
	GoogleSearchRetrieval jsontext.Value        `json:"googleSearchRetrieval,omitzero"`
	CodeExecution         jsontext.Value        `json:"codeExecution,omitzero"`
	URLContext            jsontext.Value        `json:"urlContext,omitzero"`
	Unknown               jsontext.Value        `json:",embed"`
}

// FunctionDeclaration declares a function. Parameters takes Gemini's
// OpenAPI-subset Schema; ParametersJSONSchema full JSON Schema (newer
// models). At most one is set.
type FunctionDeclaration struct {
	Name                 string         `json:"name"`
	Description          string         `json:"description,omitzero"`
	Parameters           jsontext.Value `json:"parameters,omitzero"`
	ParametersJSONSchema jsontext.Value `json:"parametersJsonSchema,omitzero"`
	Response             jsontext.Value `json:"response,omitzero"`
	ResponseJSONSchema   jsontext.Value `json:"responseJsonSchema,omitzero"`
	Behavior             string         `json:"behavior,omitzero"`
	Unknown              jsontext.Value `json:",embed"`
}

// ToolConfig configures tool use.
type ToolConfig struct {
	FunctionCallingConfig *FunctionCallingConfig `json:"functionCallingConfig,omitzero"`
	RetrievalConfig       jsontext.Value         `json:"retrievalConfig,omitzero"`
	Unknown               jsontext.Value         `json:",embed"`
}

// Function calling modes.
const (
	ModeAuto = "AUTO"
	ModeAny  = "ANY"
	ModeNone = "NONE"
)

// FunctionCallingConfig sets the mode (AUTO, ANY, NONE, VALIDATED) and
// the functions ANY may call.
type FunctionCallingConfig struct {
	Mode                 string         `json:"mode,omitzero"`
	AllowedFunctionNames []string       `json:"allowedFunctionNames,omitzero"`
	Unknown              jsontext.Value `json:",embed"`
}

// GenerationConfig holds sampling, output and reasoning settings.
type GenerationConfig struct {
	StopSequences      []string        `json:"stopSequences,omitzero"`
	ResponseMIMEType   string          `json:"responseMimeType,omitzero"`
	ResponseSchema     jsontext.Value  `json:"responseSchema,omitzero"`
	ResponseJSONSchema jsontext.Value  `json:"responseJsonSchema,omitzero"`
	ResponseModalities []string        `json:"responseModalities,omitzero"`
	CandidateCount     *int            `json:"candidateCount,omitzero"`
	MaxOutputTokens    *int            `json:"maxOutputTokens,omitzero"`
	Temperature        *float64        `json:"temperature,omitzero"`
	TopP               *float64        `json:"topP,omitzero"`
	TopK               *int            `json:"topK,omitzero"`
	Seed               *int64          `json:"seed,omitzero"`
	PresencePenalty    *float64        `json:"presencePenalty,omitzero"`
	FrequencyPenalty   *float64        `json:"frequencyPenalty,omitzero"`
	ResponseLogprobs   *bool           `json:"responseLogprobs,omitzero"`
	Logprobs           *int            `json:"logprobs,omitzero"`
	SpeechConfig       jsontext.Value  `json:"speechConfig,omitzero"`
	MediaResolution    string          `json:"mediaResolution,omitzero"`
	ThinkingConfig     *ThinkingConfig `json:"thinkingConfig,omitzero"`
	Unknown            jsontext.Value  `json:",embed"`
}

// ThinkingConfig sets either ThinkingBudget (Gemini 2.5) or ThinkingLevel
// (Gemini 3: MINIMAL, LOW, MEDIUM, HIGH), never both.
type ThinkingConfig struct {
	IncludeThoughts bool           `json:"includeThoughts,omitzero"`
	ThinkingBudget  *int           `json:"thinkingBudget,omitzero"`
	ThinkingLevel   string         `json:"thinkingLevel,omitzero"`
	Unknown         jsontext.Value `json:",embed"`
}

// SafetySetting is a harm category's blocking threshold.
type SafetySetting struct {
	Category  string         `json:"category"`
	Threshold string         `json:"threshold"`
	Unknown   jsontext.Value `json:",embed"`
}

// Schema is Gemini's OpenAPI-subset Schema, as function parameters and
// response schemas take it. Keywords it lacks (additionalProperties,
// $schema, ...) are kept in Unknown; the real API refuses them.
type Schema struct {
	Type             string             `json:"type,omitzero"`
	Format           string             `json:"format,omitzero"`
	Title            string             `json:"title,omitzero"`
	Description      string             `json:"description,omitzero"`
	Nullable         bool               `json:"nullable,omitzero"`
	Enum             []string           `json:"enum,omitzero"`
	MaxItems         jsontext.Value     `json:"maxItems,omitzero"`
	MinItems         jsontext.Value     `json:"minItems,omitzero"`
	Properties       map[string]*Schema `json:"properties,omitzero"`
	Required         []string           `json:"required,omitzero"`
	MinProperties    jsontext.Value     `json:"minProperties,omitzero"`
	MaxProperties    jsontext.Value     `json:"maxProperties,omitzero"`
	MinLength        jsontext.Value     `json:"minLength,omitzero"`
	MaxLength        jsontext.Value     `json:"maxLength,omitzero"`
	Pattern          string             `json:"pattern,omitzero"`
	Example          jsontext.Value     `json:"example,omitzero"`
	AnyOf            []*Schema          `json:"anyOf,omitzero"`
	PropertyOrdering []string           `json:"propertyOrdering,omitzero"`
	Default          jsontext.Value     `json:"default,omitzero"`
	Items            *Schema            `json:"items,omitzero"`
	Minimum          *float64           `json:"minimum,omitzero"`
	Maximum          *float64           `json:"maximum,omitzero"`
	Unknown          jsontext.Value     `json:",embed"`
}
