// Package openai is the wire schema of the OpenAI API dialect as
// documented in OpenAI's API reference: Chat Completions (requests,
// responses and stream chunks), Embeddings, Models and error bodies. It is
// the one definition the OpenAI-compatible surface, the OpenAI and Azure
// adapters and the fake OpenAI upstream share.
//
// Every object type keeps the members it does not declare in its Unknown
// field (see package apischema), so a body survives a decode and an
// encode without loss. Unions the API defines (a message's content, stop,
// tool_choice, embedding input, an embedding vector) are types with their
// own JSON methods.
//
// Room is left for the Responses API: its types will live in this package
// beside Chat Completions and share ContentPart-like unions where the
// reference does.
package openai
