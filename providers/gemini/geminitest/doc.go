// Package geminitest is a fake Gemini API (generativelanguage v1beta) for
// tests of the Gemini adapter and of the gateway.
//
// It serves POST /{version}/models/{model}:generateContent,
// :streamGenerateContent (server-sent events with ?alt=sse, a JSON array
// without), :embedContent, :batchEmbedContents and :countTokens, and GET
// /{version}/models with paging. Requests are decoded with unknown fields
// rejected and validated as upstream does (contents present, valid roles,
// one data field per part, object args and responses, as many function
// responses as the preceding turn made calls, the OpenAPI Schema subset in
// function parameters), answering google.rpc.Status errors.
//
// Replies are deterministic. A request answers "echo: <last user text>"
// (or the text set with [WithReply], or {"text":"<last user text>"} when
// responseMimeType is application/json), split into [WithChunks] stream
// events. When tools are declared and the last user text says "call
// <name>" (or functionCallingConfig mode is ANY), the answer is a call of
// that function with args {"text":"<last user text>"}. When the last turn
// holds function responses the answer is "The tool <name> returned:
// <response>". [WithThoughts] adds thinking, [WithThoughtSignatures]
// Gemini 3's signed function calls and their validation, [WithCallIDs]
// call ids. Usage counts each content as 3 tokens plus one token per 4
// bytes of its text; the reply counts one token per 4 bytes.
//
// Embeddings are unit vectors derived from a hash of each input
// ([WithEmbedDimensions], default 8, or outputDimensionality), or come
// from [WithEmbedFunc].
//
// [WithAPIKey] requires the key in the x-goog-api-key header: a request
// without one gets 403 PERMISSION_DENIED, a wrong one 400 with reason
// API_KEY_INVALID. Failures come from a queue ([Gemini.Enqueue]) consumed
// one per request, or from a function ([WithFaultFunc]): error statuses
// with Google error bodies ([StatusFault], [RateLimitFault] with a
// RetryInfo delay), hangs, connection resets, streams that die or report
// an error after some events, blocked prompts and forced finish reasons.
//
// Every request is recorded ([Gemini.Requests]); [Gemini.InFlight] and
// [Gemini.Cancelled] let tests assert that clients abort upstream calls.
package geminitest
