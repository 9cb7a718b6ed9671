package governance

import (
	"fmt"
	"time"

	"github.com/tollgate-dev/tollgate/service/store"
)

// PeriodBounds returns the period of p that contains t, in loc: [start,
// end). Days start at midnight, weeks on Monday at midnight, months on the
// 1st at midnight, all in loc's wall-clock time, so a period can be 23 or
// 25 hours (days) longer or shorter across a DST change. A lifetime period
// returns two zero times.
func PeriodBounds(p store.Period, loc *time.Location, t time.Time) (start, end time.Time, err error) {
	if loc == nil {
		loc = time.UTC
	}
	y, m, d := t.In(loc).Date()
	switch p {
	case store.PeriodDaily:
		return time.Date(y, m, d, 0, 0, 0, 0, loc), time.Date(y, m, d+1, 0, 0, 0, 0, loc), nil
	case store.PeriodWeekly:
		back := (int(t.In(loc).Weekday()) + 6) % 7 // days since Monday
		return time.Date(y, m, d-back, 0, 0, 0, 0, loc), time.Date(y, m, d-back+7, 0, 0, 0, 0, loc), nil
	case store.PeriodMonthly:
		return time.Date(y, m, 1, 0, 0, 0, 0, loc), time.Date(y, m+1, 1, 0, 0, 0, 0, loc), nil
	case store.PeriodLifetime:
		return time.Time{}, time.Time{}, nil
	}
	return time.Time{}, time.Time{}, fmt.Errorf("unknown budget period %q", p)
}

// LoadZone returns the IANA time zone name; "" is UTC.
func LoadZone(name string) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("time zone %q: %w", name, err)
	}
	return loc, nil
}

// ValidateBudget checks b's scope, subject, period, time zone and limits.
func ValidateBudget(b *store.Budget) error {
	if b.ID == "" {
		return fmt.Errorf("budget id is required")
	}
	switch b.Scope {
	case store.ScopeKey:
		if b.KeyID == "" {
			return fmt.Errorf("budget %q: a key budget needs key_id", b.ID)
		}
	case store.ScopeTeam:
		if b.TeamID == "" {
			return fmt.Errorf("budget %q: a team budget needs team_id", b.ID)
		}
	case store.ScopeService:
		if b.TeamID == "" || b.ServiceID == "" {
			return fmt.Errorf("budget %q: a service budget needs team_id and service_id", b.ID)
		}
	default:
		return fmt.Errorf("budget %q: unknown scope %q", b.ID, b.Scope)
	}
	if _, _, err := PeriodBounds(b.Period, time.UTC, time.Now()); err != nil {
		return fmt.Errorf("budget %q: %w", b.ID, err)
	}
	if _, err := LoadZone(b.TimeZone); err != nil {
		return fmt.Errorf("budget %q: %w", b.ID, err)
	}
	if b.LimitNanos < 0 || b.LimitTokens < 0 || (b.LimitNanos == 0 && b.LimitTokens == 0) {
		return fmt.Errorf("budget %q: set a positive money and/or token limit", b.ID)
	}
	return nil
}

// ValidateRateLimit checks l's scope, subject and limits.
func ValidateRateLimit(l *store.RateLimit) error {
	if l.ID == "" {
		return fmt.Errorf("rate limit id is required")
	}
	switch l.Scope {
	case store.ScopeKey:
		if l.KeyID == "" {
			return fmt.Errorf("rate limit %q: a key limit needs key_id", l.ID)
		}
	case store.ScopeTeam:
		if l.TeamID == "" {
			return fmt.Errorf("rate limit %q: a team limit needs team_id", l.ID)
		}
	default:
		return fmt.Errorf("rate limit %q: scope must be key or team, not %q", l.ID, l.Scope)
	}
	if l.RequestsPerMinute < 0 || l.TokensPerMinute < 0 || l.MaxConcurrent < 0 ||
		l.RequestsPerMinute+l.TokensPerMinute+l.MaxConcurrent == 0 {
		return fmt.Errorf("rate limit %q: set a positive requests_per_minute, tokens_per_minute or max_concurrent", l.ID)
	}
	return nil
}
