// Package governance enforces budgets and rate limits across gateway
// replicas without a database round trip per request.
//
// # Leases
//
// Every budget period and rate window has a shared counter in Postgres
// (store.Counters): what replicas reported spent (used), and the leases
// they hold. A replica leases a slice of a counter's room with one lease
// call (one statement under the counter row's lock) that never grants more
// than the limit leaves: used + Σ live leases ≤ limit after every grant.
// It then admits requests from the slice in memory: it reserves a
// request's worst case at admission and settles the actual usage at the
// end, releasing the difference into its lease.
//
// One lease call per counter is in flight at a time (single flight). A
// request its lease cannot cover queues its need and waits for the call in
// flight, or starts one; a call asks for everything queued when it starts,
// so one round trip serves every waiting request. Leases are sized by
// demand: besides what is in flight and queued, a lease keeps one sync
// interval (default 1s) of recent reservations free — the rate rises at
// once with a burst and decays by half per fold, and statistics survive
// lease calls and carry over to a counter's next window — and a lease
// call starts in the background when less than half of that is left, so
// requests wait for the store only when demand jumps. Usage is reported
// at least every sync interval; a free lease larger than twice its target
// is trimmed then; an idle one (no request for a sync interval) is given
// back.
//
// # Sharing: no starvation
//
// Room to spare is granted only up to a fair share of what is left:
// (room − need) / (2 · (other holders + 1)). A need is granted in full, or
// the room left when the smallest waiting request fits in it, or not at
// all: a part no request can use never sits in a lease. When a need falls
// short, the counter is marked starved and the shortage announced
// (store.LeaseWatcher); every holder then gives back the free part of its
// lease at once. When the unleased room is down to a few requests per
// holder, leases keep only what is in flight and give the rest back every
// tick, so whichever replica needs the room finds it: a budget is used to
// within one request's reservation even when other replicas went idle
// holding slices of it.
//
// # When a request is refused
//
// Admit refuses a request with a *LimitError (budget exceeded, rate
// limited) only when the store has just answered a lease call and the
// counter has no room for the request's reservation: either what is
// reported spent plus what this replica has reserved and spent leaves
// less than the reservation (certain), or, after other replicas were told
// to give back free room and the request waited for it (at most the
// maximum wait, default 2s), all the room under the limit was still spent
// or reserved by requests in flight. A request far below the limit is
// therefore never refused: every lease call it waits for can grant what
// all waiting requests need. When the store cannot be reached, or does
// not answer within the maximum wait, the request is served from the
// outage runway (below) or refused with an *UnavailableError
// (ErrUnavailable, with retry-after: 503 at the edges) — never with a
// quota error, and never as an internal error.
//
// # Overshoot bound
//
// Grants never exceed the limit and reservations never exceed the lease
// (outside the runway), so spend can exceed a limit only by
//
//  1. what admitted requests spend beyond their reservation, Σ over
//     requests of (actual − reserved)⁺. Package gateway reserves n ×
//     max_tokens of output (a true bound, reasoning included) plus a prompt
//     bound of one token per byte of text with framing allowances (a true
//     bound for every byte-level tokenizer; images are estimated), so the
//     term is 0 for requests that set max_tokens. Streams without
//     max_tokens top their reservation up before their output reaches it
//     (TopUp) and are cut when the budget cannot cover more, so the term
//     is 0 for them too, except for hidden reasoning tokens the upstream
//     does not stream. A unary request without max_tokens reserves a
//     default output per choice (see gateway.WithDefaultOutputTokens): its
//     term is n × (output − default)⁺ at the output price;
//  2. during a Postgres outage, nothing more when the whole fleet is cut
//     off: each replica spends at most its lease plus a runway allowance of
//     free / holders of the room the store last reported free. A replica
//     cut off alone while the others still reach the store can spend its
//     allowance twice over: the bound grows by that allowance, and by no
//     more than what the replica spends within the runway;
//  3. for a replica killed without shutdown, what it settled but had not
//     reported yet (at most one sync interval of its spend) and what the
//     upstream bills for the requests it had in flight.
//
// A lowered limit does not revoke leases already granted, but every
// replica gives back its free lease as soon as the change arrives (well
// under a second through LISTEN/NOTIFY): from then on requests are checked
// against the new limit; requests already admitted complete. Requests a
// replica admits before a new or changed limit reaches it are not checked
// against it.
//
// # Spend comes from reports, not from leases
//
// Spend (used) grows only by what replicas report of settled requests. A
// lease whose replica died expires after its lifetime — max(5s, 4 sync
// intervals, runway + 2 sync intervals), 17s by default — and its room
// returns to the pool unspent; an expired rate-window lease is counted as
// used (the window resets within a minute anyway), and concurrency slots
// come back free.
//
// # Outage runway
//
// When lease calls fail (Postgres unreachable) or do not answer within the
// maximum wait, a replica keeps admitting from memory for the runway
// (WithOutageRunway, default 15s) after its last successful call: from
// the lease it holds, and beyond it from its allowance (see the bound
// above; for a window that started after the store was last reached, the
// window's limit shared among the replicas that held the previous one).
// After the runway, requests fail closed with ErrUnavailable. Leases live
// longer than the runway, so no other replica can be granted room this one
// may still spend. A zero runway serves only from the lease held, for at
// most its lifetime less two sync intervals.
//
// Concurrency slots are leased like the rest and come back to the lease
// when a request ends.
//
// # Periods
//
// Budgets are calendar-aligned in their time zone (UTC by default): days
// start at midnight, weeks on Monday, months on the 1st; lifetime budgets
// never reset. A new period is a new counter, so spend starts from zero.
package governance
