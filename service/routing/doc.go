// Package routing decides which upstream serves a request.
//
// A [Route] is an alias clients ask for (its Name), a [Strategy] and an
// ordered list of [Target]s (provider + upstream model). Optional
// [Condition]s pick a subset of the targets by who is calling. A plain
// configured model is a route with a single target, so every request gets
// retries and a circuit breaker.
//
// A [Router] keeps live statistics per target (peak-EWMA latency, requests
// in flight, a circuit breaker) and orders a route's targets for one request
// with [Router.Plan]. Planning takes no locks on the hot path (per-target
// atomics), allocates one slice, and runs in well under a microsecond for
// routes of a few targets.
//
// The caller (package gateway) drives the attempts:
//
//	plan := router.Plan(route, facts)
//	for _, c := range plan {
//		if !router.Start(c) { continue } // breaker admits one probe at a time
//		resp, err := call(c.Target)
//		router.Done(c, elapsed, err)
//		switch routing.Classify(err) { ... }
//	}
//
// The package does no I/O: it never calls an upstream and never sleeps.
// [Backoff] computes how long to wait before retrying the same target.
package routing
