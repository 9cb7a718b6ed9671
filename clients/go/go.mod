module github.com/tollgate-dev/tollgate/clients/go

go 1.26.8

require (
	connectrpc.com/connect v1.21.1
	github.com/tollgate-dev/tollgate/gen v0.0.0-00010101000000-000000000000
)

require (
	golang.org/x/net v0.62.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/text v0.43.0 // indirect
	google.golang.org/genproto v0.0.0-20260128011058-8636f8732409 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260817212433-ac3dfec99bb1 // indirect
	google.golang.org/grpc v1.85.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

// The generated API packages, from this repository's gen/ module. A
// release tags gen/vX.Y.Z and clients/go/vX.Y.Z together and sets the
// requirement above to the same version; applications resolve it from the
// tag and ignore this replace, which only keeps development in one tree.
replace github.com/tollgate-dev/tollgate/gen => ../../gen
