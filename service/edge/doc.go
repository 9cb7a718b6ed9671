// Package edge is where Tollgate meets its callers' dialects: it turns a
// domain error into the error each API speaks, and reads and writes the
// HTTP headers the gateway exchanges with callers. Domain packages
// (gateway, governance, guardrails, semcache, store) return plain values
// and sentinel or typed errors; only this package knows status codes,
// error bodies and header names.
//
// # Errors: described once, rendered per dialect
//
// [Describe] is the one place that classifies an error: it returns a
// [Problem] holding the kind of failure, a message safe to show, the
// offending parameter, whether a retry may succeed and when, and the
// details of the refusing budget or rate limit, guardrail or upstream.
// Thin encoders render a Problem without deciding anything of their own
// beyond the dialect's vocabulary:
//
//   - [ConnectError] for Connect, gRPC and gRPC-Web (status code and
//     google.rpc error details: BadRequest, QuotaFailure, ErrorInfo,
//     RetryInfo, tollgate.v1.GuardrailViolation);
//   - [OpenAI] for the OpenAI surface ({"error":{"message","type","param",
//     "code"}}, x-ratelimit-*, retry-after, x-should-retry);
//   - [Anthropic] for the Anthropic surface ({"type":"error","error":
//     {"type","message"}}, anthropic-ratelimit-*, retry-after,
//     x-should-retry);
//   - [Gemini] for a Gemini surface ({"error":{"code","message","status",
//     "details"}}).
//
// A new error of a domain package gets one case in Describe, and every
// dialect answers it; a new dialect gets one encoder.
//
// # Headers
//
// The headers callers send (Authorization, X-Tollgate-End-User,
// X-Tollgate-Tags, Cache-Control and the X-Tollgate-Cache-* directives)
// and the ones the gateway answers with (X-Tollgate-Provider, -Model,
// -Route, -Attempts, -Cache, -Cache-Score, -Guardrails, and the dialects'
// rate-limit headers) are read and written here only.
//
// # Streams
//
// [SSE] writes a streamed answer's events for the OpenAI, Responses and
// Anthropic surfaces: a surface holds the events of chunks that arrived
// together and flushes them in one write, and a timer sends the dialect's
// keep-alive frame when nothing was flushed for a while.
// [SetStreamHeaders] sets a stream's answer headers.
package edge
