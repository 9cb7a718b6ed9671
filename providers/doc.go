// Package providers defines Tollgate's canonical model of LLM traffic and the
// interface every upstream adapter implements.
//
// The gateway speaks several dialects to callers (its own RPC API, OpenAI's
// and Anthropic's HTTP APIs) and several to upstreams (OpenAI, Anthropic,
// Azure OpenAI, Gemini, OpenAI-compatible servers). Instead of N×M converters
// every surface decodes into the canonical [ChatRequest] and encodes from the
// canonical [ChatResponse] and [Chunk], and every adapter translates between
// the canonical model and exactly one upstream wire format.
//
// The base interface is [Provider]; optional capabilities are small separate
// interfaces ([Embedder], [ModelLister]) discovered by type assertion.
// Adapters report upstream failures as [*Error], which carries the upstream
// status, a dialect-neutral [ErrorKind] and whether a retry may help
// ([IsRetryable]).
package providers
