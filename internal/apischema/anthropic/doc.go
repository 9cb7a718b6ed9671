// Package anthropic is the wire schema of the Anthropic Messages API as
// documented in Anthropic's API reference: Messages requests and
// responses, the server-sent events of a stream, Token Counting, Models
// and error bodies. It is the one definition the Anthropic surface, the
// Anthropic adapter and the fake Anthropic upstream share.
//
// Every object type keeps the members it does not declare in its Unknown
// field (see package apischema), so a body survives a decode and an encode
// without loss: documents, citations, server tools and their results,
// cache_control with a ttl, container and MCP settings all travel.
// ContentBlock is one type for every block kind, since blocks of all kinds
// share a handful of members; Blocks is the string-or-array union.
package anthropic
