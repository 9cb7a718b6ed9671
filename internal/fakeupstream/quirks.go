package fakeupstream

// Quirks make the fake behave like an OpenAI-compatible server that
// differs from OpenAI in the ways the provider presets know about. The
// zero value is OpenAI's behaviour, except for Prefix: see WithQuirks.
type Quirks struct {
	// Prefix is the path before "/chat/completions", "/embeddings" and
	// "/models": "/v1" for OpenAI, "" for Perplexity, "/openai/v1" for Groq.
	Prefix string
	// RejectStreamOptions answers 422 to a request with stream_options
	// (Mistral forbids extra fields).
	RejectStreamOptions bool
	// RejectMaxCompletionTokens answers 400 to max_completion_tokens
	// (servers that only know max_tokens).
	RejectMaxCompletionTokens bool
	// UsageAlways ends every stream with usage, asked for or not.
	UsageAlways bool
	// GroqUsage reports stream usage in the final chunk's x_groq.usage
	// instead of usage.
	GroqUsage bool
	// UsageEveryChunk repeats the usage so far in every chunk (Perplexity).
	UsageEveryChunk bool
	// NoStreamUsage never reports stream usage (llama.cpp, TGI).
	NoStreamUsage bool
	// NoModels answers 404 to GET /models.
	NoModels bool
}

// WithQuirks makes the fake mimic a compatible server (see Quirks).
func WithQuirks(q Quirks) Option { return func(s *settings) { s.quirks = q } }
