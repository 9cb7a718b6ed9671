// Package anthropictest is a fake Anthropic API for tests, demos and
// benchmarks. It speaks the Messages wire format (unary answers and
// server-sent event streams), token counting and the Models list through
// the shared schema (internal/apischema/anthropic), and injects failures
// on demand.
//
// Requests need an anthropic-version header (400 invalid_request_error
// without one) and, with [WithAPIKey], the matching x-api-key (401
// authentication_error otherwise). Messages requests need model,
// max_tokens and non-empty messages; the fake also enforces the rules
// clients most often break: roles, non-empty text blocks, image and
// document sources (base64 PDF, URL, plain text, content, file),
// tool_result blocks answering a tool_use of the previous message, tool
// choices naming declared tools, thinking budgets of at least 1024 tokens
// and below max_tokens, no thinking with a forced tool choice, and
// thinking blocks sent back with the signature the fake gave them. Server
// tools, search results and server-tool blocks are accepted (the fake
// calls only client tools). count_tokens rejects generation parameters
// such as max_tokens.
//
// Replies are deterministic. A request answers "echo: <last user text>"
// (or the text of [WithReply]). When the request declares tools and the
// last user text says "call <tool>" (or tool_choice forces a tool), the
// answer is a tool_use of that tool with input {"text":"<last user
// text>"}. When the last user message carries tool_result blocks the
// answer is "The tool <name> returned: <content>". Documents of the last
// user message are acknowledged as " [document: <title or source>]". With
// thinking enabled the answer starts with a signed thinking block.
// stop_sequences and max_tokens cut the text with the matching
// stop_reason.
//
// Streams send message_start, then for each content block
// content_block_start, deltas (text_delta, input_json_delta starting with
// an empty fragment, thinking_delta and signature_delta) split into
// [WithChunks] pieces, content_block_stop, with one ping after the first
// block start, then message_delta and message_stop, framed as
// "event: <type>\ndata: <json>\n\n". [WithLatency] delays the first byte,
// [WithChunkDelay] every following event.
//
// Usage counts each message as 3 tokens plus one token per 4 bytes of its
// content (100 per image) and tool definitions by their size. The prompt
// cache is simulated: the prefix up to the last cache_control breakpoint
// is reported as cache_creation_input_tokens the first time and as
// cache_read_input_tokens afterwards, and input_tokens counts the rest.
//
// Failures come from a queue ([Server.Enqueue], [Server.FailNext])
// consumed one per request, or from a function ([WithFaultFunc]): error
// statuses with Anthropic error bodies and headers ([StatusFault],
// [RateLimitFault], [OverloadedFault], [PromptTooLongFault]), hangs,
// connection resets, streams that die after some events and in-stream
// error events ([StreamErrorFault]).
//
// Every request is recorded ([Server.Requests]); [Server.InFlight] and
// [Server.Cancelled] let tests assert that clients abort upstream calls.
// Use [Start] in tests.
package anthropictest
