// Package governance enforces budgets and rate limits across gateway
// replicas without a database round trip per request.
//
// # Leases
//
// Every budget period and rate window has a shared counter in Postgres
// (store.Counters). A replica leases a slice of a counter's room with one
// atomic statement-group that never grants more than the limit leaves:
// used + Σ live leases ≤ limit. It then admits requests from the slice in
// memory (reserve the worst-case estimate at admission, settle the actual
// usage at the end, releasing the difference). When less than half of the
// last slice is left, it refills in the background, so the request path
// waits for the database only when a slice runs dry. Usage is reported
// (and leases renewed) at least every second; idle leases are returned after
// a few seconds and at shutdown. A lease whose replica died expires after
// its TTL and then counts as spent (budgets, rate windows) or free again
// (concurrency slots).
//
// Slices are adaptive: min(limit/(4·replicas), max(2·largest recent need,
// the recent spend per second)), and never less than one request's need.
//
// # Overshoot
//
// Grants never exceed the limit, so spend can exceed a budget only by what
// requests spend beyond their reservation: Σ over requests in flight of
// (actual − estimate)⁺. The estimate is the prompt estimate plus max_tokens
// (or the model's max output, or 4096) priced at the model's prices, so the
// output side is a true worst case; the prompt side is an estimate (four
// bytes a token) and a request can exceed it by its prompt's estimation
// error. A lowered limit does not revoke leases already granted, but every
// replica returns its unreserved lease as soon as the change arrives (well
// under a second through LISTEN/NOTIFY): from then on requests are checked
// against the new limit; requests already admitted complete.
//
// A new or changed limit reaches the other replicas through the store's
// change notifications (milliseconds, at most about a second); requests
// they admit before it arrives are not checked against it. Concurrency
// slots are leased like the rest: a replica keeps slots it leased until it
// has been idle for three sync intervals, so another replica can be refused
// while a quiet one still holds free slots.
//
// When the store cannot be reached and a lease runs dry, requests are
// refused with an internal error (fail closed): budgets are hard limits.
//
// # Periods
//
// Budgets are calendar-aligned in their time zone (UTC by default): days
// start at midnight, weeks on Monday, months on the 1st; lifetime budgets
// never reset. A new period is a new counter, so spend starts from zero.
package governance
