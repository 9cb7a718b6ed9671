// Package openai is the adapter for OpenAI's Chat Completions, Embeddings
// and Models APIs, and the base for adapters of OpenAI-compatible upstreams.
//
// # Configuration
//
// [New] takes a [providers.Config]. BaseURL defaults to [DefaultBaseURL];
// requests go to BaseURL + "/chat/completions", "/embeddings" and "/models".
// APIKey is sent as "Authorization: Bearer <key>"; with an empty key no
// credential header is sent (self-hosted servers). The key never appears in
// errors: upstream messages that echo it are redacted.
//
// Settings:
//
//   - organization: sent as the OpenAI-Organization header.
//   - project: sent as the OpenAI-Project header.
//   - stream_usage: "false" for upstreams that reject stream_options. Streams
//     are then requested without {"include_usage":true} and
//     Capabilities().StreamUsage is false, so the gateway estimates usage.
//   - stream_options: "false" for upstreams that report usage at the end of
//     every stream but reject the stream_options member (Mistral): usage is
//     read, stream_options is not sent. Ignored when stream_usage is false.
//   - list_models: "false" for upstreams without GET /models (Perplexity):
//     ListModels then fails with KindNotFound without a request.
//   - max_tokens_field: "max_completion_tokens" (default, what OpenAI expects)
//     or "max_tokens" for compatible servers that only know the older field.
//   - client_organization: "true" lets clients' OpenAI-Organization and
//     OpenAI-Project headers choose the billing organization and project
//     (default false: the settings above apply).
//   - completions: "false" for servers without the legacy /completions API;
//     requests of Tollgate's /v1/completions are then translated to chat
//     instead of passed through (default true; see completions.go).
//   - responses_api: "true" for upstreams that serve the Responses API
//     (/v1/responses): requests of the gateway's Responses surface are then
//     passed through to it (responses.go) instead of being translated to
//     Chat Completions.
//
// Unknown settings are ignored so that adapters built on this one can keep
// their own settings in the same map.
//
// # Reuse
//
// Adapters of OpenAI-compatible APIs call New with [WithEndpoint] to build
// other URLs (Azure OpenAI: deployments and api-version) and [WithAuth] to
// send another credential header (Azure: api-key). To report other
// capabilities they embed *Provider and override Capabilities.
//
// Streams also read usage that Groq reports in the final chunk's
// x_groq.usage member instead of usage.
//
// # Translation
//
// A message with a single text part is sent with string content, other
// content as an array of text and image_url parts; inline image bytes become
// data: URLs. An assistant message that only calls tools has null content.
// Reasoning parts are not sent (Chat Completions has no field for them);
// reasoning received as reasoning_content or reasoning (vLLM, DeepSeek,
// OpenRouter) becomes a [providers.PartReasoning] or ChoiceDelta.Reasoning.
// Documents become file parts (inline data as a data: URL with the file
// name, an OpenAI file id as file_id), plain-text documents text parts;
// documents by URL and other providers' file ids cannot be sent. A thinking
// budget becomes reasoning_effort (below 2,048 tokens low, below 8,192
// medium, else high). TopK is sent as top_k to OpenAI-compatible servers
// (type openai_compatible) and refused for OpenAI unless dropping is
// allowed, like the fields of another dialect's request that the canonical
// model lacks (see [Provider.Unsupported]).
//
// # Passthrough
//
// A request whose Source is of this dialect (from the OpenAI surface) is
// sent as the client wrote it, with only the changes listed in
// passthrough.go (model, stream_options.include_usage, the max_tokens
// field setting, the end user), and the answer's bytes are returned in
// ChatResponse.Raw and Chunk.Raw. The client's OpenAI-Beta and
// Idempotency-Key headers pass; OpenAI-Organization and OpenAI-Project
// only with the client_organization setting. Embeddings pass through the
// same way, token-array input included.
//
// # Errors
//
// Non-2xx answers become [*providers.Error] with the upstream's status,
// type, code, param and message, a Kind from the status refined by the
// code (context_length_exceeded → KindContextLength), the retry-after hint
// and the rate-limit headers. A 429 insufficient_quota stays
// KindRateLimited, and so retryable, because another target may still
// serve the request; its Code tells callers not to retry the same target.
// Error objects inside a stream become *providers.Error too, and a stream
// that ends without "data: [DONE]" fails with KindConnection.
package openai
