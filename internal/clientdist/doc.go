// Package clientdist builds the client packages Tollgate releases beside
// the gateway's binaries, from the working tree and without reaching any
// package registry:
//
//   - the Python wheel and sdist of clients/python, with Debian's build
//     tooling (python3 -m build --no-isolation);
//   - the npm tarball of clients/ts (npm pack, whose prepack script
//     compiles the TypeScript), using the packages already installed in
//     clients/ts/node_modules;
//   - the Go modules gen/ and clients/go/ as a GOPROXY directory
//     (module zips made like the Go module proxy makes them from the tags
//     gen/vX.Y.Z and clients/go/vX.Y.Z).
//
// All three carry the gateway's release version (see [VersionsOf]) and are
// reproducible: the same commit gives the same bytes. `make release` and
// `make clients` run it through cmd/clientdist; the client tests in
// test/clients install from what it builds.
package clientdist
