// Package interop holds service-mesh interoperability tests: a plain
// grpc-go client with the generated stubs, as a mesh sidecar or a Go
// service without Connect would use them, against the real gateway in
// plain-text HTTP/2 (h2c) and over TLS, plus deadline and cancellation
// propagation to the upstream. It also runs every recipe of
// docs/grpcurl.md so that the document cannot rot.
package interop
