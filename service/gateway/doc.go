// Package gateway is Tollgate's request pipeline. Every surface (the RPC
// services, the OpenAI- and Anthropic-compatible HTTP APIs) decodes its
// dialect into the canonical model of package providers and calls the
// Engine, which runs the same steps for all of them:
//
//	authenticate → validate → admit (limits) → resolve → guardrails in →
//	cache → attempts (routing, retries, fallback) → provider call →
//	guardrails out → cost → record
//
// The Engine reads only in-memory state (package registry) and hands
// records to an asynchronous writer; it never touches the database. A
// streamed answer passes through the stream stages of stages.go
// (peeked → guard → cacheRec → meter), composed in that order.
//
// Errors a caller may see are the sentinels in errors.go, wrapped with %w,
// and upstream failures as *providers.Error. Surfaces map them to their own
// codes and error bodies.
package gateway
