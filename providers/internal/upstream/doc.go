// Package upstream holds the HTTP plumbing the provider adapters share:
// the tuned [http.Client], redaction of the API key from upstream text and
// transport errors, bounded reading of response bodies, one-line messages
// made of non-JSON error bodies, and the bookkeeping of a streamed body.
//
// The server-sent events reader lives in the sse subpackage.
//
// The package knows nothing of any dialect: adapters decode and classify
// upstream answers themselves and call these helpers for the parts that do
// not differ between APIs.
package upstream
