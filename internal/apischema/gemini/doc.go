// Package gemini is the wire schema of the Gemini API (generativelanguage
// v1beta) as documented in Google's REST reference: GenerateContentRequest
// and GenerateContentResponse (also the events of streamGenerateContent),
// embedding, token-counting and model-listing messages, and the
// google.rpc.Status error body. It is the one definition the Gemini
// adapter, the fake Gemini upstream and a Gemini-native surface share.
//
// The REST API speaks proto3 JSON: members are camelCase, zero values are
// omitted, and parsers accept the snake_case spelling too; decode with
// [Unmarshal], which matches both. Every object type keeps the members it
// does not declare in its Unknown field (see package apischema); the real
// API refuses unknown members ("Unknown name"), which a fake checks with
// apischema.FirstUnknown.
package gemini
