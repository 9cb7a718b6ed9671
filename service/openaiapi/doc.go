// Package openaiapi is Tollgate's OpenAI-compatible HTTP surface:
// POST /v1/chat/completions (unary and server-sent events),
// POST /v1/embeddings, GET /v1/models and GET /v1/models/{model}, so that
// the official OpenAI SDKs work with only their base URL and key changed.
//
// Like every surface it only decodes, calls the [gateway.Engine] and
// encodes. A request is decoded in one typed pass into the shared OpenAI
// schema (internal/apischema/openai), which keeps unknown members at every
// level, and translated to the canonical request; the body itself travels
// as the request's [providers.Source], with the OpenAI-Beta,
// OpenAI-Organization, OpenAI-Project and Idempotency-Key headers.
// OpenAI-dialect upstreams receive the body as it was sent (same-dialect
// passthrough) and their answer comes back as they sent it; others get a
// translation, and what it cannot carry (logprobs to Claude, an input_audio
// part, an unknown member) is refused with 400, or dropped and named in
// X-Tollgate-Dropped-Params when the route or key allows dropping.
// Documents arrive as file parts; token-array embedding input passes to
// OpenAI-dialect upstreams.
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
// A passed-through stream relays the upstream's events as they came, but
// for the usage chunk the gateway asked for when the client did not.
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
