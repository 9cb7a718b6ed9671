// Package release holds the checks of what Tollgate ships: that every
// package declares the one licence the repository carries, and (a long
// test, run by `make test-long`) that `make release` is reproducible from a
// clean clone. The build itself is scripts/release.sh, run by `make release`.
package release
