// Package fakeupstream is a fake OpenAI-compatible upstream for tests,
// demos and benchmarks. It speaks the Chat Completions (unary and SSE
// streams with the include_usage chunk and "data: [DONE]"), Embeddings and
// Models wire formats through the shared schema
// (internal/apischema/openai), and injects failures on demand.
//
// Replies are deterministic. A chat request answers "echo: <last user
// text>" (or the text set with [WithReply], or {"text":"<last user
// text>"} when response_format asks for JSON) split into [WithChunks]
// stream chunks. When the request declares tools and the last user message says
// "call <tool>" (or tool_choice forces a tool), the answer is a call of
// that tool with arguments {"text":"<last user text>"}, streamed over
// several deltas. When the last message is a tool result the answer
// mentions it. File parts (file_data or file_id) are acknowledged in the
// reply as " [file: <filename or id>]"; logprobs: true answers a logprobs
// object. Usage counts each message as 3 tokens plus one token per 4
// bytes of its text; the reply counts one token per 4 bytes. Unary and
// streamed answers report the same usage.
//
// Embeddings are unit vectors derived from a hash of each input
// ([WithEmbedDimensions], default 8), or come from [WithEmbedFunc]; a
// token array is embedded as the text "tokens:<id>,<id>...".
//
// Failures come from a queue ([OpenAI.Enqueue]) consumed one per request, or
// from a function ([WithFaultFunc]): error statuses with OpenAI error bodies
// and headers ([StatusFault], [RateLimitFault]), hangs, connection resets,
// and streams that die after some chunks.
//
// Every request is recorded ([OpenAI.Requests]); [OpenAI.InFlight] and
// [OpenAI.Cancelled] let tests assert that clients abort upstream calls.
// Use [StartOpenAI] in tests and [Main] to run it as a process.
package fakeupstream
