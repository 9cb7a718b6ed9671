// Package tollgate is the Go client of the Tollgate AI gateway.
//
// A [Client] bundles the generated Connect clients of the gateway's API
// (see proto/tollgate/v1): [Client.Inference] for model calls,
// [Client.Admin] for configuration (the catalog, team and policy services,
// see [AdminClient]) and [Client.Usage] for reporting. Every
// call carries the client's credential as "Authorization: Bearer <key>":
// a virtual key ("tg-...") for inference and usage, the admin token for
// admin calls and any usage.
//
//	c := tollgate.NewClient("http://localhost:8080", os.Getenv("TOLLGATE_KEY"))
//	reply, err := c.Chat(ctx, "gpt-4o-mini", "Say hello")
//
// The client speaks the Connect protocol by default; [WithGRPC] and
// [WithGRPCWeb] switch protocols (gRPC works over plain-text http:// URLs
// too, using HTTP/2 without TLS). Unary calls get a default deadline of
// [DefaultTimeout] unless their context already has one; streams are never
// cut by it.
//
// Errors are *connect.Error values: use connect.CodeOf(err) to tell an
// unauthenticated call (connect.CodeUnauthenticated) from a rate limit
// (connect.CodeResourceExhausted) and so on.
//
// This is a module of its own (github.com/tollgate-dev/tollgate/clients/go,
// tagged clients/go/vX.Y.Z with every gateway release): it depends on
// Connect, protobuf, gRPC and the generated API module
// github.com/tollgate-dev/tollgate/gen, not on the gateway.
package tollgate
