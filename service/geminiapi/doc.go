// Package geminiapi is the Gemini-native HTTP surface: the generativelanguage
// v1beta REST API that Google's GenAI SDKs call, served in front of every
// provider.
//
// Routes (all under /v1beta):
//
//	POST models/{model}:generateContent
//	POST models/{model}:streamGenerateContent   (?alt=sse, or a JSON array without alt)
//	POST models/{model}:countTokens
//	POST models/{model}:embedContent
//	POST models/{model}:batchEmbedContents
//	GET  models, models/{model}
//
// The virtual key travels as Gemini keys do: the x-goog-api-key header or
// the key query parameter (Authorization: Bearer is accepted too). Errors
// are google.rpc.Status bodies ({"error":{"code","message","status"}})
// rendered by service/edge.
//
// A request is decoded once into the shared wire schema
// (internal/apischema/gemini) and translated into the canonical request the
// engine runs (surface "gemini" in records). Its body rides along as the
// request's providers.Source, so a Gemini upstream receives it byte for byte
// (the model travels in the URL) and its answer comes back as it was sent;
// other upstreams get the canonical translation, and what it cannot carry
// (safety settings, cached content, built-in tools, code execution parts,
// members the schema does not declare) is refused with a 400 naming the
// field, or dropped where the operator allows it (docs/lossless.md).
package geminiapi
