package governance

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync/atomic"
	"time"

	"github.com/tollgate-dev/tollgate/service/store"
)

// ruleKind is what a counter part enforces.
type ruleKind uint8

const (
	kindBudget ruleKind = iota
	kindRate            // requests and tokens per minute
	kindConc            // concurrent requests
)

// rule is a budget or a rate limit, ready for the request path.
type rule struct {
	budget *store.Budget
	loc    *time.Location
	rate   *store.RateLimit
	// names are the counters' names: the budget's, or the rate window's
	// and the concurrency slots'.
	names [2]string
	// period caches the budget's current period.
	period atomic.Pointer[span]
	// cur caches the counter of each part's current window, so that the
	// request path finds it without the manager's map.
	cur [2]atomic.Pointer[counter]
}

// span is a period: [start, end), end zero for none.
type span struct{ start, end time.Time }

// rules is an immutable index of the budgets and rate limits.
type rules struct {
	budgets map[string]*store.Budget
	rates   map[string]*store.RateLimit
	byKey   map[string][]*rule
	byTeam  map[string][]*rule
	bySvc   map[[2]string][]*rule
}

func newRules(bs []store.Budget, ls []store.RateLimit) *rules {
	b := make(map[string]*store.Budget, len(bs))
	for i := range bs {
		b[bs[i].ID] = &bs[i]
	}
	l := make(map[string]*store.RateLimit, len(ls))
	for i := range ls {
		l[ls[i].ID] = &ls[i]
	}
	return index(b, l)
}

func index(bs map[string]*store.Budget, ls map[string]*store.RateLimit) *rules {
	r := &rules{budgets: bs, rates: ls, byKey: map[string][]*rule{}, byTeam: map[string][]*rule{}, bySvc: map[[2]string][]*rule{}}
	// Sorted so that every replica checks (and refuses on) the same rule first.
	for _, id := range slices.Sorted(maps.Keys(bs)) {
		b := bs[id]
		loc, err := LoadZone(b.TimeZone)
		if err != nil {
			loc = time.UTC // validated on write; a zone unknown here falls back to UTC
		}
		ru := &rule{budget: b, loc: loc, names: [2]string{budgetCounter(b.ID)}}
		switch b.Scope {
		case store.ScopeKey:
			r.byKey[b.KeyID] = append(r.byKey[b.KeyID], ru)
		case store.ScopeTeam:
			r.byTeam[b.TeamID] = append(r.byTeam[b.TeamID], ru)
		case store.ScopeService:
			k := [2]string{b.TeamID, b.ServiceID}
			r.bySvc[k] = append(r.bySvc[k], ru)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(ls)) {
		l := ls[id]
		ru := &rule{rate: l, names: [2]string{rateCounter(l.ID), concCounter(l.ID)}}
		switch l.Scope {
		case store.ScopeKey:
			r.byKey[l.KeyID] = append(r.byKey[l.KeyID], ru)
		case store.ScopeTeam:
			r.byTeam[l.TeamID] = append(r.byTeam[l.TeamID], ru)
		}
	}
	return r
}

func (r *rules) withBudget(id string, b *store.Budget) *rules {
	bs := maps.Clone(r.budgets)
	delete(bs, id)
	if b != nil {
		bs[id] = b
	}
	return index(bs, r.rates)
}

func (r *rules) withRateLimit(id string, l *store.RateLimit) *rules {
	ls := maps.Clone(r.rates)
	delete(ls, id)
	if l != nil {
		ls[id] = l
	}
	return index(r.budgets, ls)
}

// match returns the rules that apply to s: key, then team, then service.
func (r *rules) match(s Subject) []*rule {
	k, t := r.byKey[s.KeyID], r.byTeam[s.TeamID]
	var sv []*rule
	if s.ServiceID != "" {
		sv = r.bySvc[[2]string{s.TeamID, s.ServiceID}]
	}
	switch {
	case len(t) == 0 && len(sv) == 0:
		return k
	case len(k) == 0 && len(sv) == 0:
		return t
	}
	out := make([]*rule, 0, len(k)+len(t)+len(sv))
	return append(append(append(out, k...), t...), sv...)
}

// Budgets returns the budgets that apply to s, or every budget of team
// teamID when s is zero, ordered by id.
func (m *Manager) Budgets(s Subject, teamID string) []store.Budget {
	rs := m.rules.Load()
	var out []store.Budget
	for _, b := range rs.budgets {
		if (s == Subject{} && (teamID == "" || b.TeamID == teamID)) ||
			(s != Subject{} && appliesTo(b, s)) {
			out = append(out, *b)
		}
	}
	slices.SortFunc(out, func(a, b store.Budget) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

func appliesTo(b *store.Budget, s Subject) bool {
	switch b.Scope {
	case store.ScopeKey:
		return b.KeyID == s.KeyID
	case store.ScopeTeam:
		return b.TeamID == s.TeamID
	case store.ScopeService:
		return b.TeamID == s.TeamID && b.ServiceID == s.ServiceID && s.ServiceID != ""
	}
	return false
}

// part is one counter a rule checks for one request.
type part struct {
	kind          ruleKind
	slot          uint8 // index in rule.cur
	id            counterID
	window, end   time.Time
	limit, want   store.Amount
	expiredIsUsed bool
}

func budgetCounter(id string) string { return "budget:" + id }
func rateCounter(id string) string   { return "rate:" + id }
func concCounter(id string) string   { return "conc:" + id }

// appendParts appends the counters r checks for a request of demand d at
// now to ps; a part's slot (see rule.cur) is its index among r's parts.
func (r *rule) appendParts(ps []part, now time.Time, d Demand) []part {
	if b := r.budget; b != nil {
		sp := r.period.Load()
		if sp == nil || now.Before(sp.start) || (!sp.end.IsZero() && !now.Before(sp.end)) {
			start, end, _ := PeriodBounds(b.Period, r.loc, now)
			sp = &span{start: start.UTC(), end: end}
			if start.IsZero() {
				sp.start = time.Time{}
			}
			r.period.Store(sp)
		}
		return append(ps, part{kind: kindBudget, id: counterID{r.names[0], unixNano(sp.start)}, window: sp.start, end: sp.end,
			limit: store.Amount{A: b.LimitNanos, B: b.LimitTokens}, want: store.Amount{A: d.Nanos, B: d.Tokens}})
	}
	l := r.rate
	if l.RequestsPerMinute > 0 || l.TokensPerMinute > 0 {
		win := now.UTC().Truncate(time.Minute)
		ps = append(ps, part{kind: kindRate, id: counterID{r.names[0], win.UnixNano()}, window: win, end: win.Add(time.Minute),
			limit: store.Amount{A: l.RequestsPerMinute, B: l.TokensPerMinute}, want: store.Amount{A: 1, B: d.Tokens}, expiredIsUsed: true})
	}
	if l.MaxConcurrent > 0 {
		ps = append(ps, part{kind: kindConc, slot: 1, id: counterID{r.names[1], 0},
			limit: store.Amount{A: l.MaxConcurrent}, want: store.Amount{A: 1}})
	}
	return ps
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// actualFor is what a finished request charges to a counter of kind k.
func actualFor(k ruleKind, d Demand) store.Amount {
	switch k {
	case kindBudget:
		return store.Amount{A: max(d.Nanos, 0), B: max(d.Tokens, 0)}
	case kindRate:
		return store.Amount{A: 1, B: max(d.Tokens, 0)}
	}
	return store.Amount{} // a concurrency slot is free again
}

// limitError describes a refusal by r of a request wanting want from c
// (a part of kind k whose window ends at end); err is errNoRoom, an
// *UnavailableError or the request context's error.
func (r *rule) limitError(k ruleKind, end time.Time, want store.Amount, c *counter, now time.Time, err error) error {
	var ue *UnavailableError
	if errors.As(err, &ue) {
		ue.Budget = r.budget != nil
		if ue.Budget {
			ue.ID = r.budget.ID
		} else {
			ue.ID = r.rate.ID
		}
		return ue
	}
	if err != errNoRoom {
		return fmt.Errorf("governance: checking limits: %w", err)
	}
	rem := c.remaining()
	e := &LimitError{Reset: end}
	if b := r.budget; b != nil {
		e.Budget, e.ID, e.Scope, e.Subject, e.Period = true, b.ID, string(b.Scope), subjectOf(b.Scope, b.TeamID, b.ServiceID, b.KeyID), string(b.Period)
		e.Dimension, e.Limit, e.Remaining, e.Want = DimCost, b.LimitNanos, rem.A, want.A
		if b.LimitNanos == 0 || (b.LimitTokens > 0 && want.B > rem.B && want.A <= rem.A) {
			e.Dimension, e.Limit, e.Remaining, e.Want = DimTokens, b.LimitTokens, rem.B, want.B
		}
		return e
	}
	l := r.rate
	e.ID, e.Scope, e.Subject = l.ID, string(l.Scope), subjectOf(l.Scope, l.TeamID, "", l.KeyID)
	switch k {
	case kindConc:
		e.Dimension, e.Limit, e.Remaining, e.RetryAfter = DimConcurrent, l.MaxConcurrent, rem.A, time.Second
	default:
		e.Dimension, e.Limit, e.Remaining = DimRequests, l.RequestsPerMinute, rem.A
		if l.RequestsPerMinute == 0 || (l.TokensPerMinute > 0 && want.B > rem.B && rem.A > 0) {
			e.Dimension, e.Limit, e.Remaining, e.Want = DimTokens, l.TokensPerMinute, rem.B, want.B
		}
		e.RetryAfter = max(end.Sub(now), time.Millisecond)
	}
	return e
}

func subjectOf(s store.Scope, team, service, key string) string {
	switch s {
	case store.ScopeKey:
		return key
	case store.ScopeService:
		return team + "/" + service
	}
	return team
}
