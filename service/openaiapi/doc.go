// Package openaiapi is Tollgate's OpenAI-compatible HTTP surface:
// POST /v1/chat/completions (unary and server-sent events),
// POST /v1/embeddings, GET /v1/models and GET /v1/models/{model}, so that
// the official OpenAI SDKs work with only their base URL and key changed.
//
// Like every surface it only decodes, calls the [gateway.Engine] and
// encodes. A request is decoded in one typed pass; top-level fields the
// canonical model does not know (logprobs, metadata, store, service_tier,
// …) are captured by a light scan of the body as raw JSON into
// ChatRequest.Extra with ExtraDialect "openai", so OpenAI-dialect
// upstreams receive them unchanged and others ignore them.
//
// # Authentication and attribution
//
// The virtual key comes from "Authorization: Bearer tg-…" or, for
// Azure-style clients, the "api-key" header. The end user is the
// X-Tollgate-End-User header or the body's user; X-Tollgate-Tags holds
// comma-separated tags; the body's metadata is recorded too.
//
// # Streams
//
// Each upstream chunk is written as a chat.completion.chunk event and
// flushed at once; the first delta of a choice carries role "assistant".
// With stream_options.include_usage a last chunk with empty choices
// carries the usage; then "data: [DONE]". A ": keep-alive" comment is sent
// when nothing was sent for the keep-alive interval. A failure after the
// first byte becomes an in-stream {"error":{...}} event and the stream ends
// without [DONE]. When the client goes away the request context is
// cancelled, which aborts the upstream call.
//
// # Errors
//
// Errors use OpenAI's body {"error":{"message","type","param","code"}};
// errors.go maps every error to a status and code in one table.
// Upstream failures become 429 (with the upstream's rate-limit headers),
// 400 for context-length and invalid requests, 502/503/504 otherwise; a
// rejected provider credential is a 502, never a 401 to the caller.
package openaiapi
