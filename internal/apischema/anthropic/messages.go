package anthropic

import "github.com/go-json-experiment/json/jsontext"

// MessagesRequest is the body of POST /v1/messages and, without the
// generation members, of POST /v1/messages/count_tokens.
type MessagesRequest struct {
	Model string `json:"model"`
	// MaxTokens is required by Messages and refused by count_tokens.
	MaxTokens *int           `json:"max_tokens,omitzero"`
	Messages  []MessageParam `json:"messages"`
	// System is a string or an array of text blocks.
	System        *Blocks       `json:"system,omitzero"`
	Metadata      *Metadata     `json:"metadata,omitzero"`
	StopSequences []string      `json:"stop_sequences,omitzero"`
	Stream        *bool         `json:"stream,omitzero"`
	Temperature   *float64      `json:"temperature,omitzero"`
	TopP          *float64      `json:"top_p,omitzero"`
	TopK          *int          `json:"top_k,omitzero"`
	Thinking      *Thinking     `json:"thinking,omitzero"`
	Tools         []Tool        `json:"tools,omitzero"`
	ToolChoice    *ToolChoice   `json:"tool_choice,omitzero"`
	OutputConfig  *OutputConfig `json:"output_config,omitzero"`
	// ServiceTier is "auto" or "standard_only".
	ServiceTier string `json:"service_tier,omitzero"`
	// Container, MCPServers, ContextManagement, CacheControl (automatic
	// caching), InferenceGeo and Speed are passed on as they are.
	Container         jsontext.Value `json:"container,omitzero"`
	MCPServers        jsontext.Value `json:"mcp_servers,omitzero"`
	ContextManagement jsontext.Value `json:"context_management,omitzero"`
	CacheControl      *CacheControl  `json:"cache_control,omitzero"`
	InferenceGeo      string         `json:"inference_geo,omitzero"`
	Speed             string         `json:"speed,omitzero"`

	Unknown jsontext.Value `json:",embed"`
}

// Roles of MessageParam.
const (
	RoleUser      = "user"
	RoleAssistant = "assistant"
)

// MessageParam is one turn of "messages".
type MessageParam struct {
	Role string `json:"role"`
	// Content is a string or an array of content blocks.
	Content Blocks         `json:"content"`
	Unknown jsontext.Value `json:",embed"`
}

// Metadata is the request's metadata.
type Metadata struct {
	UserID  string         `json:"user_id,omitzero"`
	Unknown jsontext.Value `json:",embed"`
}

// Thinking types.
const (
	ThinkingEnabled  = "enabled"
	ThinkingDisabled = "disabled"
	ThinkingAdaptive = "adaptive"
)

// Thinking configures extended thinking: {"type":"enabled",
// "budget_tokens"}, {"type":"adaptive"} or {"type":"disabled"}.
type Thinking struct {
	Type         string `json:"type"`
	BudgetTokens *int   `json:"budget_tokens,omitzero"`
	// Display is "summarized" or "omitted".
	Display string         `json:"display,omitzero"`
	Unknown jsontext.Value `json:",embed"`
}

// Tool is a client tool ({"name","description","input_schema"}, Type
// empty or "custom") or a server tool, whose Type names it and whose own
// settings (max_uses, allowed_domains, ...) ride in Unknown.
type Tool struct {
	Type         string         `json:"type,omitzero"`
	Name         string         `json:"name"`
	Description  string         `json:"description,omitzero"`
	InputSchema  jsontext.Value `json:"input_schema,omitzero"`
	Strict       *bool          `json:"strict,omitzero"`
	CacheControl *CacheControl  `json:"cache_control,omitzero"`
	Unknown      jsontext.Value `json:",embed"`
}

// IsClient reports a tool the client runs (not a server tool).
func (t *Tool) IsClient() bool { return t.Type == "" || t.Type == "custom" }

// Tool choice types.
const (
	ChoiceAuto = "auto"
	ChoiceAny  = "any"
	ChoiceTool = "tool"
	ChoiceNone = "none"
)

// ToolChoice is {"type":"auto"|"any"|"none"} or {"type":"tool","name"}.
type ToolChoice struct {
	Type                   string         `json:"type"`
	Name                   string         `json:"name,omitzero"`
	DisableParallelToolUse *bool          `json:"disable_parallel_tool_use,omitzero"`
	Unknown                jsontext.Value `json:",embed"`
}

// OutputConfig is {"effort", "format":{"type":"json_schema","schema"}}.
type OutputConfig struct {
	// Effort is "low", "medium", "high", "xhigh" or "max".
	Effort  string         `json:"effort,omitzero"`
	Format  *OutputFormat  `json:"format,omitzero"`
	Unknown jsontext.Value `json:",embed"`
}

// OutputFormat is a structured-output format.
type OutputFormat struct {
	Type    string         `json:"type"`
	Schema  jsontext.Value `json:"schema,omitzero"`
	Unknown jsontext.Value `json:",embed"`
}

// CacheControl marks a prompt-cache breakpoint: {"type":"ephemeral","ttl"}.
type CacheControl struct {
	Type    string         `json:"type"`
	TTL     string         `json:"ttl,omitzero"`
	Unknown jsontext.Value `json:",embed"`
}

// Ephemeral returns the only cache_control type, without a ttl.
func Ephemeral() *CacheControl { return &CacheControl{Type: "ephemeral"} }

// CountTokensResponse is the answer of POST /v1/messages/count_tokens.
type CountTokensResponse struct {
	InputTokens int64          `json:"input_tokens"`
	Unknown     jsontext.Value `json:",embed"`
}
