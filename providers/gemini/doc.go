// Package gemini is the adapter for Google's Gemini API (generativelanguage
// v1beta): generateContent, streamGenerateContent, embedContent,
// batchEmbedContents, countTokens and models.list.
//
// # Configuration
//
// [New] takes a [providers.Config]. BaseURL defaults to [DefaultBaseURL];
// requests go to BaseURL/{api_version}/models/{model}:{method}. APIKey is
// sent in the "x-goog-api-key" header, never in the URL, so keys do not end
// up in access logs; upstream messages that echo it are redacted.
// ChatRequest.Model may be "gemini-2.5-flash", "models/gemini-2.5-flash"
// or "tunedModels/<name>".
//
// Settings:
//
//   - api_version: the API version path segment, default "v1beta".
//   - schema: "openapi" (default) sends tool parameters and response
//     schemas as Gemini's OpenAPI-subset Schema, rewritten from JSON Schema
//     (see sanitizeSchema in schema.go for what is kept, rewritten and
//     dropped); "json_schema" sends them unchanged as parametersJsonSchema
//     and responseJsonSchema, which newer models accept.
//   - thinking: how ReasoningConfig.Effort is sent. "auto" (default) uses
//     thinkingLevel for Gemini 3+ models and thinkingBudget (low 1024,
//     medium 8192, high 24576, minimal 512) for older ones; "level" and
//     "budget" force one form.
//   - thought_signature_fallback: "true" (default) replays function calls
//     that carry no thought signature to Gemini 3+ models with Google's
//     documented "skip_thought_signature_validator" signature.
//   - embed_task_type: a taskType sent with every embedding request, e.g.
//     RETRIEVAL_DOCUMENT.
//
// # Translation
//
// System messages become systemInstruction parts. User turns are "user"
// contents, assistant turns "model" contents; consecutive contents of the
// same role are merged. Text is a text part; inline images and data: URLs
// become inlineData, other image URLs fileData with a MIME type guessed
// from the extension ("image/*" when unknown). Assistant tool calls become
// functionCall parts (arguments must be a JSON object); reasoning parts are
// not replayed.
//
// A tool message becomes a functionResponse part of a "user" content.
// Gemini needs the function's name, which a canonical tool message lacks:
// it is recovered from the nearest preceding assistant tool call with the
// same ToolCallID (or taken from the message's Name). Content that is a
// JSON object is sent as the response, anything else as
// {"result":"<text>"}.
//
// Tools become one tools entry with functionDeclarations; ToolChoice maps
// to toolConfig.functionCallingConfig (auto → AUTO, none → NONE, required →
// ANY, a named function → ANY with allowedFunctionNames).
// ParallelToolCalls and User have no Gemini equivalent and are ignored.
// Temperature, TopP, TopK, MaxTokens, Stop, N, Seed, PresencePenalty and
// FrequencyPenalty map to generationConfig; json_object and json_schema
// response formats set responseMimeType "application/json" (plus the
// schema); ReasoningConfig maps to thinkingConfig with includeThoughts.
// Documents become inlineData (base64) or fileData (a URL or a Gemini
// file URI) parts with their media type; plain-text documents text parts.
// Images and documents of a tool result follow its functionResponse in the
// same user turn. ParallelToolCalls=false cannot be honoured and is
// refused unless dropping is allowed, like the fields of another dialect's
// request that the canonical model lacks (see [Provider.Unsupported]).
//
// A request whose Source is of the Gemini dialect is sent as the client
// wrote it (the model is in the URL), byte for byte, and the answer's
// bytes are returned in ChatResponse.Raw and Chunk.Raw.
//
// Candidates become choices. Thought parts become reasoning, text parts
// text, function calls tool calls. Calls without an id get "call_<n>", and
// a call's thought signature is folded into its id (see ids.go) so that it
// survives clients that only echo ids. Finish reasons map as documented on
// finishReason; a prompt blocked by promptFeedback becomes one empty choice
// finished with content_filter. Usage: promptTokenCount (plus
// toolUsePromptTokenCount) is input, candidatesTokenCount plus
// thoughtsTokenCount output, thoughtsTokenCount also ReasoningTokens and
// cachedContentTokenCount CachedInputTokens. responseId and modelVersion
// become ID and Model.
//
// # Streams
//
// Streams use alt=sse. Every event is a GenerateContentResponse with the
// new text of each candidate, so each becomes a chunk with text and
// reasoning deltas; function calls arrive whole and become one complete
// ToolCallDelta each. Usage rides on the chunk that finishes the last
// candidate. There is no end marker: a body that ends before every
// candidate has a finish reason fails with KindConnection, and an error
// object inside the stream becomes a [*providers.Error].
//
// # Errors
//
// Non-2xx answers carry a google.rpc.Status body and become
// [*providers.Error] with Type set to the Google status (e.g.
// RESOURCE_EXHAUSTED), Code to the ErrorInfo reason (e.g.
// API_KEY_INVALID) and the kind from the status: INVALID_ARGUMENT and
// FAILED_PRECONDITION → invalid request (context length when the message
// says the input exceeds the maximum number of tokens, authentication for
// an invalid or expired API key), UNAUTHENTICATED → authentication,
// PERMISSION_DENIED → permission denied, NOT_FOUND → not found,
// RESOURCE_EXHAUSTED → rate limited with RetryAfter from the RetryInfo
// retryDelay, UNAVAILABLE → overloaded, DEADLINE_EXCEEDED → timeout,
// INTERNAL → server.
package gemini
