// Package console serves Tollgate's web console: a single-page application
// written in TypeScript (console/ at the repository root), built by
// `make console` into dist/ and embedded in the binary with go:embed, so
// the gateway serves it with no other files and `go build` needs no
// Node.js.
//
// The console is served under /ui/. It has no API of its own: the page
// talks to the gateway's Connect APIs (CatalogService, TeamService,
// PolicyService, UsageService) on the same origin, with the credential the
// person logged in with.
//
// Responses:
//
//	/ui/assets/NAME-HASH.EXT  content-addressed files, cached for a year
//	                          ("immutable"); 404 when unknown
//	/ui/ and every other path index.html, never cached ("no-cache"), so a
//	                          new release is picked up on the next load
//
// Each file is stored precompressed (brotli and gzip beside the original);
// the handler picks the best encoding the client accepts. Every answer
// carries a strict Content-Security-Policy: scripts, styles, images and
// connections from the gateway's own origin only, no inline code, no
// frames.
package console
