package store

import (
	"context"
	"time"
)

// Change kinds of governance entities (see Watch).
const (
	ChangeBudget    ChangeKind = "budget"
	ChangeRateLimit ChangeKind = "rate_limit"
)

// Scope names what a budget or rate limit applies to.
type Scope string

// The scopes. Rate limits apply to keys and teams only.
const (
	// ScopeKey applies to one virtual key (SubjectKey).
	ScopeKey Scope = "key"
	// ScopeTeam applies to every key of a team.
	ScopeTeam Scope = "team"
	// ScopeService applies to the keys of one service of one team.
	ScopeService Scope = "service"
)

// Period is how often a budget resets.
type Period string

// The periods. Periods are calendar-aligned in the budget's time zone:
// days start at midnight, weeks on Monday, months on the 1st.
const (
	PeriodDaily    Period = "daily"
	PeriodWeekly   Period = "weekly"
	PeriodMonthly  Period = "monthly"
	PeriodLifetime Period = "lifetime"
)

// Budget is a hard limit on spend over a period. Every budget that applies
// to a request must have room for it, and the request is charged to each.
type Budget struct {
	ID    string
	Scope Scope
	// TeamID is set for team and service budgets; KeyID for key budgets;
	// ServiceID (with TeamID) for service budgets.
	TeamID    string
	ServiceID string
	KeyID     string
	Period    Period
	// TimeZone is an IANA zone name for the period boundaries; "" is UTC.
	TimeZone string
	// LimitNanos is the money limit in nano-USD; 0 means none.
	LimitNanos int64
	// LimitTokens is the token limit (input + output); 0 means none.
	LimitTokens int64
	// AlertThresholds are the spend percentages of the limit at which an
	// alert fires; empty means DefaultAlertThresholds().
	AlertThresholds []int
	CreatedAt       time.Time
	UpdatedAt       time.Time
	// Version changes on every write (see Versions).
	Version int64
}

// DefaultAlertThresholds returns the alert thresholds of a budget that sets
// none: 50, 80 and 100 percent.
func DefaultAlertThresholds() []int { return []int{50, 80, 100} }

// RateLimit limits the rate and concurrency of a key's or a team's
// requests. A zero field means no limit of that kind.
type RateLimit struct {
	ID    string
	Scope Scope
	// TeamID is set for team limits, KeyID for key limits.
	TeamID            string
	KeyID             string
	RequestsPerMinute int64
	TokensPerMinute   int64
	MaxConcurrent     int64
	CreatedAt         time.Time
	UpdatedAt         time.Time
	// Version changes on every write (see Versions).
	Version int64
}

// Budgets stores budgets and rate limits.
type Budgets interface {
	// PutBudget creates or replaces b (by ID) and notifies ChangeBudget.
	// With a non-zero b.Version it only replaces that version of an
	// existing budget (see Versions). Timestamps and Version are set by
	// the store.
	PutBudget(ctx context.Context, b *Budget) error
	// GetBudget returns the budget or ErrNotFound.
	GetBudget(ctx context.Context, id string) (*Budget, error)
	// ListBudgets returns every budget, or a team's (its team, service and
	// key budgets) when teamID is not "", ordered by id.
	ListBudgets(ctx context.Context, teamID string) ([]Budget, error)
	// PageBudgets returns a page of ListBudgets(teamID) and the cursor of
	// the next page ("" at the end).
	PageBudgets(ctx context.Context, teamID string, p Page) ([]Budget, string, error)
	// DeleteBudget deletes it and its counters if ifVersion matches (see
	// Versions); ErrNotFound if missing.
	DeleteBudget(ctx context.Context, id string, ifVersion int64) error
	// PutRateLimit creates or replaces l (by ID) and notifies
	// ChangeRateLimit; a non-zero l.Version works as in PutBudget.
	PutRateLimit(ctx context.Context, l *RateLimit) error
	// GetRateLimit returns the rate limit or ErrNotFound.
	GetRateLimit(ctx context.Context, id string) (*RateLimit, error)
	// ListRateLimits returns every rate limit, or a team's, ordered by id.
	ListRateLimits(ctx context.Context, teamID string) ([]RateLimit, error)
	// PageRateLimits returns a page of ListRateLimits(teamID) and the
	// cursor of the next page ("" at the end).
	PageRateLimits(ctx context.Context, teamID string, p Page) ([]RateLimit, string, error)
	// DeleteRateLimit deletes it if ifVersion matches (see Versions);
	// ErrNotFound if missing.
	DeleteRateLimit(ctx context.Context, id string, ifVersion int64) error
}

// Amount is a pair of quantities a counter tracks: money and tokens for a
// budget, requests and tokens for a rate window, slots for concurrency.
type Amount struct {
	A, B int64
}

// Add returns a+o.
func (a Amount) Add(o Amount) Amount { return Amount{a.A + o.A, a.B + o.B} }

// Sub returns a-o.
func (a Amount) Sub(o Amount) Amount { return Amount{a.A - o.A, a.B - o.B} }

// LeaseRequest asks a shared counter for a lease: a slice of its room that
// one holder (a gateway replica) may spend from memory. It is applied
// atomically: first Used moves from the holder's lease to the counter's
// used total, then Return is dropped from the lease, then Need is added to
// the lease in full if Limit allows, else the room left if that is at
// least NeedMin, else nothing (a part no request can use would sit idle);
// and Extra (room to spare) only up to a fair share of what is left:
// (room − granted need) / (2 · (other holders + 1)), so that one holder
// never takes the room another needs.
type LeaseRequest struct {
	// Counter names the counter, e.g. "budget:b1"; Window its period or
	// window start (the zero time for none).
	Counter string
	Window  time.Time
	// Holder identifies the lease holder.
	Holder string
	// Limit is the counter's limit per dimension; 0 means unlimited.
	Limit Amount
	// Used, Return, Need, NeedMin and Extra are described above; none may
	// be negative. NeedMin is what the smallest waiting request needs (0:
	// any part of Need is of use).
	Used, Return, Need, NeedMin, Extra Amount
	// TTL is how long the lease lives without being renewed (by any
	// LeaseCounter call of the holder).
	TTL time.Duration
	// ExpiredIsUsed says what an expired lease of another holder becomes:
	// used (true: rate windows, where the holder may have admitted requests
	// it never reported) or free room again (false: budgets, whose spend
	// comes only from what holders report, and concurrency slots).
	ExpiredIsUsed bool
	// StarveFor is how long the counter is marked starved (see
	// LeaseResult.Starved) when Need could not be granted in full.
	StarveFor time.Duration
}

// LeaseResult is the outcome of a LeaseCounter call.
type LeaseResult struct {
	// Granted is what was added to the lease (≤ Need + Extra).
	Granted Amount
	// Held is the holder's lease after the call: max(0, old-Used-Return)+Granted.
	Held Amount
	// Used is the counter's used total after the call.
	Used Amount
	// Leased is the sum of every live lease, the holder's included.
	Leased Amount
	// Holders is the number of live leases, the holder's included.
	Holders int
	// Starved reports that a holder's need was refused in full or in part
	// within the last StarveFor: holders should give back free room.
	Starved bool
}

// Free is the room no lease holds: limit − used − leased per limited
// dimension (0 for an unlimited one), at least 0.
func (r LeaseResult) Free(limit Amount) Amount {
	f := func(limit, used, leased int64) int64 {
		if limit == 0 {
			return 0
		}
		return max(0, limit-used-leased)
	}
	return Amount{f(limit.A, r.Used.A, r.Leased.A), f(limit.B, r.Used.B, r.Leased.B)}
}

// LeaseWatcher is implemented by stores that announce starved counters.
type LeaseWatcher interface {
	// WatchLeases calls fn with a counter's name whenever a lease call of
	// any holder could not be granted what it needed, until ctx is done;
	// it then returns ctx.Err(). Holders of that counter should give back
	// the free part of their leases. Announcements may be lost (while
	// disconnected): LeaseResult.Starved tells the same, later.
	WatchLeases(ctx context.Context, fn func(counter string)) error
}

// CounterState is a counter's totals.
type CounterState struct {
	Used   Amount
	Leased Amount
}

// Counters are the shared counters behind budgets and rate limits.
type Counters interface {
	// LeaseCounter applies r atomically (see LeaseRequest), in one round
	// trip to the store.
	LeaseCounter(ctx context.Context, r LeaseRequest) (LeaseResult, error)
	// ReadCounter returns a counter's totals (zero when it does not exist):
	// Used as reported by holders, Leased the live leases. Expired leases
	// count as neither.
	ReadCounter(ctx context.Context, counter string, window time.Time) (CounterState, error)
}
