package factory

import (
	"maps"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/providers/openai"
)

// The OpenAI-compatible presets: hosted APIs and self-hosted servers that
// speak Chat Completions, each a provider type of its own so that
// "--type groq --credential-env GROQ_API_KEY" is the whole configuration.
const (
	TypeMistral    = "mistral"
	TypeGroq       = "groq"
	TypeDeepSeek   = "deepseek"
	TypeTogether   = "together"
	TypeFireworks  = "fireworks"
	TypeOpenRouter = "openrouter"
	TypeXAI        = "xai"
	TypeCerebras   = "cerebras"
	TypePerplexity = "perplexity"
	TypeOllama     = "ollama"
	TypeVLLM       = "vllm"
	TypeLlamaCpp   = "llama_cpp"
	TypeLMStudio   = "lm_studio"
	TypeTGI        = "tgi"
)

// Preset is an OpenAI-compatible upstream's defaults: where it is and how
// it differs from OpenAI. A provider's own base URL and settings win over
// the preset's.
type Preset struct {
	// BaseURL is the API base URL ("/chat/completions" is appended).
	BaseURL string
	// SelfHosted servers take no API key by default (one given is sent as
	// "Authorization: Bearer <key>", as to the hosted APIs) and read
	// OpenAI-compatible extensions (top_k).
	SelfHosted bool
	// Settings are the adapter settings the upstream needs (see package
	// openai): max_tokens_field, stream_usage, stream_options, list_models.
	Settings map[string]string
}

// presets is the table of OpenAI-compatible presets. The quirks:
//   - max_tokens_field "max_tokens": the upstream does not know
//     max_completion_tokens (it ignores or rejects it).
//   - stream_options "false": the upstream rejects the stream_options
//     member (Mistral: extra fields are forbidden) or ignores it, and ends
//     every stream with usage anyway.
//   - stream_usage "false": streams carry no usage; the gateway estimates.
//   - Groq reports stream usage in x_groq.usage (the adapter reads it);
//     Perplexity repeats cumulative usage in every chunk (the last wins).
//   - list_models "false": no GET /models.
//   - completions "false": no legacy /completions API; Tollgate's
//     /v1/completions is translated to chat for these.
var presets = map[string]Preset{
	TypeMistral: {BaseURL: "https://api.mistral.ai/v1",
		Settings: map[string]string{"max_tokens_field": "max_tokens", "stream_options": "false", "completions": "false"}},
	TypeGroq: {BaseURL: "https://api.groq.com/openai/v1",
		Settings: map[string]string{"stream_options": "false", "completions": "false"}},
	TypeDeepSeek: {BaseURL: "https://api.deepseek.com/v1",
		Settings: map[string]string{"max_tokens_field": "max_tokens", "completions": "false"}},
	TypeTogether: {BaseURL: "https://api.together.xyz/v1",
		Settings: map[string]string{"max_tokens_field": "max_tokens"}},
	TypeFireworks: {BaseURL: "https://api.fireworks.ai/inference/v1",
		Settings: map[string]string{"max_tokens_field": "max_tokens", "stream_options": "false"}},
	TypeOpenRouter: {BaseURL: "https://openrouter.ai/api/v1",
		Settings: map[string]string{"max_tokens_field": "max_tokens"}},
	TypeXAI: {BaseURL: "https://api.x.ai/v1",
		Settings: map[string]string{"max_tokens_field": "max_tokens"}},
	TypeCerebras: {BaseURL: "https://api.cerebras.ai/v1",
		Settings: map[string]string{"stream_options": "false"}},
	TypePerplexity: {BaseURL: "https://api.perplexity.ai",
		Settings: map[string]string{"max_tokens_field": "max_tokens", "stream_options": "false", "list_models": "false", "completions": "false"}},
	TypeOllama: {BaseURL: "http://localhost:11434/v1", SelfHosted: true,
		Settings: map[string]string{"max_tokens_field": "max_tokens"}},
	TypeVLLM: {BaseURL: "http://localhost:8000/v1", SelfHosted: true,
		Settings: map[string]string{"max_tokens_field": "max_tokens"}},
	TypeLlamaCpp: {BaseURL: "http://localhost:8080/v1", SelfHosted: true,
		Settings: map[string]string{"max_tokens_field": "max_tokens", "stream_usage": "false"}},
	TypeLMStudio: {BaseURL: "http://localhost:1234/v1", SelfHosted: true,
		Settings: map[string]string{"max_tokens_field": "max_tokens"}},
	TypeTGI: {BaseURL: "http://localhost:8080/v1", SelfHosted: true,
		Settings: map[string]string{"max_tokens_field": "max_tokens", "stream_usage": "false"}},
}

// presetOrder is the order the API numbers the presets in.
var presetOrder = []string{TypeMistral, TypeGroq, TypeDeepSeek, TypeTogether, TypeFireworks, TypeOpenRouter,
	TypeXAI, TypeCerebras, TypePerplexity, TypeOllama, TypeVLLM, TypeLlamaCpp, TypeLMStudio, TypeTGI}

// PresetOf returns the preset of provider type t, false for a type that
// is not a preset. The returned Settings map is a copy.
func PresetOf(t string) (Preset, bool) {
	p, ok := presets[t]
	p.Settings = maps.Clone(p.Settings)
	return p, ok
}

// newPreset builds the OpenAI adapter for a preset type: the preset's
// base URL and settings under the provider's own.
func newPreset(cfg providers.Config, p Preset) (providers.Provider, error) {
	if cfg.BaseURL == "" {
		cfg.BaseURL = p.BaseURL
	}
	settings := maps.Clone(p.Settings)
	if settings == nil {
		settings = map[string]string{}
	}
	maps.Copy(settings, cfg.Settings)
	cfg.Settings = settings
	cfg.Type = openai.TypeCompatible
	if !p.SelfHosted {
		cfg.Type = TypeOpenAI
	}
	return openai.New(cfg)
}
