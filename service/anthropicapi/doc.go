// Package anthropicapi serves Anthropic's Messages API on top of the
// gateway engine, so that Anthropic SDKs (and tools built on them) can use
// any configured model, whatever its provider speaks.
//
// Routes (see [Handler.Register]):
//
//	POST /v1/messages               unary or streamed (SSE) messages
//	POST /v1/messages/count_tokens  input token count
//	GET  /v1/models                 models the key may use, Anthropic-shaped
//	GET  /v1/models/{model_id}      one model
//
// # Requests
//
// A Messages request is decoded into the shared Anthropic schema
// (internal/apischema/anthropic), which keeps unknown members at every
// level, and translated to the canonical [providers.ChatRequest]; the body
// travels as the request's [providers.Source] with the anthropic-version,
// anthropic-beta and Idempotency-Key headers, so Anthropic upstreams
// receive it as it was sent (same-dialect passthrough) and their answer
// comes back as they sent it. For other upstreams:
//
//   - system (string or text blocks) becomes one system message; a block's
//     cache_control becomes [providers.Part.CacheBreakpoint].
//   - tool_result blocks become tool messages (ids preserved) placed before
//     the rest of their user message, which follows as a user message.
//     is_error results are marked by an "error: " prefix on their text,
//     because the canonical model has no error flag.
//   - tool_use blocks become assistant tool calls; thinking and
//     redacted_thinking become reasoning parts (signature and data kept).
//   - document blocks become documents (base64 PDF, URL, plain text,
//     custom content as text, Files API ids), translated for each
//     upstream where it can take them.
//   - Server tools, search results, server-tool blocks, Files API images,
//     container and MCP settings have no canonical form: an upstream of
//     another dialect refuses them with invalid_request_error naming the
//     field and the model (parameters may be dropped when allowed).
//   - output_config.format becomes a JSON-schema response format,
//     output_config.effort the reasoning effort when thinking says none.
//   - tool_choice any → required, tool → function, none → none;
//     disable_parallel_tool_use → parallel tool calls off; thinking
//     enabled → reasoning budget; metadata.user_id → end user (unless the
//     x-tollgate-end-user header names one).
//
// # Responses
//
// The model field echoes the requested name. Anthropic's input_tokens
// excludes cache reads and writes, whereas canonical InputTokens includes
// them, so input_tokens = InputTokens − CachedInputTokens − CacheWriteTokens.
// Finish reasons map stop → end_turn, length → max_tokens, tool_calls →
// tool_use, content_filter → refusal. The canonical model does not say
// whether a stop sequence ended generation, so stop_sequence is always null
// and a stop sequence ending is reported as end_turn.
//
// A passed-through stream relays the upstream's events as they came.
// Other streams follow Anthropic's event grammar: message_start, ping, then
// content blocks opened lazily (text, thinking, tool_use), each closed by
// content_block_stop when the next one starts or at the end, message_delta
// with the stop reason and cumulative usage, message_stop. A ping is sent
// whenever the stream has been idle for the ping interval (15s by
// default). A failure after the first event is reported as an error event.
//
// # Errors
//
// Errors use Anthropic's shape {"type":"error","error":{"type","message"},
// "request_id"}; see [StatusOf] for the mapping.
package anthropicapi
