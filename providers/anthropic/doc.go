// Package anthropic is the adapter for Anthropic's Messages, Token
// Counting and Models APIs.
//
// # Configuration
//
// [New] takes a [providers.Config]. BaseURL defaults to [DefaultBaseURL];
// requests go to BaseURL + "/v1/messages", "/v1/messages/count_tokens" and
// "/v1/models". APIKey is sent as the x-api-key header ([WithAuth] sends
// another credential); with an empty key no credential header is sent. The
// key never appears in errors: upstream messages that echo it are
// redacted.
//
// Settings:
//
//   - anthropic_version: the anthropic-version header, default
//     [DefaultVersion] ("2023-06-01").
//   - beta: sent verbatim as the anthropic-beta header (comma-separated
//     beta names).
//   - default_max_tokens: the max_tokens sent when a request has no
//     MaxTokens, default [DefaultMaxTokens] (4096). The Messages API
//     requires max_tokens. When reasoning is on, the thinking budget is
//     added to this default because the budget counts against max_tokens.
//   - structured_outputs: how JSON response formats are produced. "prompt"
//     (default) appends an instruction, and for json_schema the schema, to
//     the system prompt; this works with every model but does not
//     guarantee valid output. "native" sends json_schema formats as
//     output_config.format and tool Strict flags as strict, which current
//     models enforce by constrained decoding; json_object is still
//     emulated because structured outputs need a schema. Emulating
//     instructions are appended after the caller's system blocks, so that
//     cache breakpoints placed there keep their prefix.
//
// Unknown settings are ignored.
//
// # Translation
//
// System messages (wherever they appear) become the top-level system
// array of text blocks, in order. Tool messages become user messages of
// tool_result blocks, and consecutive messages of the same role are merged
// into one, so that several tool results answer one assistant turn in one
// user message as the API requires. Empty text parts are dropped (the API
// rejects empty text blocks), and so are messages left without content.
// Part.CacheBreakpoint becomes cache_control {"type":"ephemeral"} on the
// block made from the part.
//
// Images with an http(s) URL are sent as URL sources; data: URLs and
// inline bytes as base64 sources (the media type from the URL, MIMEType or
// content sniffing). Assistant tool calls become tool_use blocks whose
// input is the parsed Arguments; arguments that are not a JSON object fail
// the request with KindInvalidRequest before anything is sent. Reasoning
// parts with a Signature become thinking blocks, parts with RedactedData
// redacted_thinking blocks; reasoning without either (from another
// provider) cannot be replayed and is dropped.
//
// Tools without parameters get the input schema {"type":"object"}. Tool
// choices map auto → auto, required → any, none → none and a named
// function → tool; ParallelToolCalls=false sets disable_parallel_tool_use.
// Stop becomes stop_sequences, User metadata.user_id, TopK top_k.
// Reasoning becomes thinking {"type":"enabled","budget_tokens":N}: N is
// BudgetTokens (at least [MinThinkingBudget], 1024) or, by Effort, 1024
// for "minimal" and "low", 4096 for "medium" or empty, 16384 for "high";
// Effort "none" disables thinking. An explicit MaxTokens must exceed the
// budget, as the API requires; the upstream rejects it otherwise.
//
// Documents ([providers.PartFile]) become document blocks: inline base64
// (a PDF) a base64 source, a URL a url source, plain text a text source,
// an Anthropic Files API id a file source; title (else the file name),
// context and citations carry over. Other media types and other
// providers' file ids cannot be sent.
//
// A JSON response format becomes a tool whose input schema is the
// format's schema ({"type":"object"} for json_object; a schema that is not
// an object is wrapped in {"value": ...}) and the model is forced to call
// it (tool_choice "tool", or "any" when the request has tools of its own):
// Anthropic then enforces the schema, and the call's input is returned as
// the answer's text with finish reason stop, unary and streamed. With
// thinking, which forbids forcing a tool, the tool is offered and asked
// for in the system prompt. The structured_outputs setting "native" sends
// output_config.format instead.
//
// What the Messages API cannot honour is listed by [Provider.Unsupported]
// and refused before anything is sent, unless the request allows dropping
// it (ChatRequest.Drop): N > 1, Seed, PresencePenalty, FrequencyPenalty,
// and the fields of another dialect's request that the canonical model
// does not carry (logprobs, logit_bias, audio, ...).
//
// # Passthrough
//
// A request whose Source is of this dialect (from the Anthropic surface)
// is sent as the client wrote it, with the model set and byte for byte
// otherwise (see passthrough.go), so documents, citations, server tools,
// cache_control with ttl, container and MCP settings reach the upstream
// whatever the canonical model makes of them; the answer's bytes are
// returned in ChatResponse.Raw and Chunk.Raw. The client's
// anthropic-version, anthropic-beta (merged with the beta setting) and
// Idempotency-Key headers pass.
//
// Responses: text blocks become text parts, thinking blocks reasoning
// parts with their signature, redacted_thinking blocks reasoning parts
// with RedactedData, and tool_use blocks tool calls whose Arguments are
// the compact JSON of the input. Stop reasons map end_turn, stop_sequence
// and pause_turn → stop, max_tokens and model_context_window_exceeded →
// length, tool_use → tool_calls, refusal → content_filter. Anthropic's
// input_tokens excludes cache reads and writes; the canonical InputTokens
// is their sum, with CachedInputTokens = cache_read_input_tokens and
// CacheWriteTokens = cache_creation_input_tokens. Anthropic sends no
// creation time, so ChatResponse.Created is the time of decoding.
//
// # Streaming
//
// Streams yield one chunk per event that carries content, as it arrives:
// the role on message_start, text, reasoning and signature deltas, and for
// each tool_use block a first delta with ID and Name followed by its
// input_json_delta fragments. Tool-call indexes count the tool_use blocks
// of the message from 0. A tool call that streamed no fragments gets "{}".
// The chunk made from message_stop carries the finish reason and the
// usage (input counts from message_start, updated by the cumulative counts
// of message_delta). Redacted thinking is not streamed: the canonical
// chunk has no field for it.
//
// # Token counting and models
//
// The Provider implements [providers.TokenCounter] with POST
// /v1/messages/count_tokens, sending the request translated as for Chat
// minus the generation parameters the endpoint rejects, and
// [providers.ModelLister] with GET /v1/models, following its
// has_more/last_id pagination.
//
// # Errors
//
// Non-2xx answers become [*providers.Error] with the upstream's status,
// error type (in Type), details.error_code (in Code) and message, a Kind
// from the documented error type (invalid_request_error, request_too_large
// → KindInvalidRequest, authentication_error → KindAuthentication,
// permission_error → KindPermissionDenied, not_found_error → KindNotFound,
// rate_limit_error → KindRateLimited, api_error → KindServer,
// overloaded_error → KindOverloaded) or else from the status, the
// retry-after hint and the anthropic-ratelimit-* headers. "prompt is too
// long" and similar context-window messages become KindContextLength.
// billing_error stays retryable (KindRateLimited) so that another target
// may serve the request. Error events inside a stream (e.g. an
// overloaded_error) become *providers.Error too, and a stream that ends
// without message_stop fails with KindConnection.
package anthropic
