package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/tollgate-dev/tollgate/service/store"
)

const budgetColumns = "id, scope, team_id, service_id, key_id, period, time_zone, limit_nanos, limit_tokens, alert_thresholds, created_at, updated_at, version"

func scanBudget(r scanner) (store.Budget, error) {
	var b store.Budget
	var scope, period, thresholds string
	var created, updated int64
	if err := r.Scan(&b.ID, &scope, &b.TeamID, &b.ServiceID, &b.KeyID, &period, &b.TimeZone, &b.LimitNanos, &b.LimitTokens,
		&thresholds, &created, &updated, &b.Version); err != nil {
		return b, err
	}
	b.Scope, b.Period = store.Scope(scope), store.Period(period)
	b.CreatedAt, b.UpdatedAt = fromMicros(created), fromMicros(updated)
	var ts []int
	if err := json.Unmarshal([]byte(thresholds), &ts); err != nil {
		return b, fmt.Errorf("decode alert thresholds: %w", err)
	}
	if len(ts) > 0 {
		b.AlertThresholds = ts
	}
	return b, nil
}

// thresholdsJSON returns alert thresholds as a JSON array ([] for none).
func thresholdsJSON(ts []int) string {
	if len(ts) == 0 {
		return "[]"
	}
	s, _ := jsonText(ts)
	return s
}

// PutBudget creates or replaces b by id; with a non-zero b.Version it
// only replaces that version (ErrNotFound if missing, ErrVersionMismatch
// if changed).
func (s *Store) PutBudget(ctx context.Context, b *store.Budget) error {
	entity := fmt.Sprintf("put budget %q", b.ID)
	now := s.clock()
	return s.write(ctx, func(t *tx) error {
		v, err := t.nextVersion(ctx)
		if err != nil {
			return err
		}
		args := []any{string(b.Scope), b.TeamID, b.ServiceID, b.KeyID, string(b.Period), b.TimeZone, b.LimitNanos, b.LimitTokens,
			thresholdsJSON(b.AlertThresholds), micros(now), v, b.ID}
		q := `INSERT INTO budgets (scope, team_id, service_id, key_id, period, time_zone, limit_nanos, limit_tokens,
				alert_thresholds, updated_at, version, id, created_at)
			VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?10)
			ON CONFLICT (id) DO UPDATE SET scope = excluded.scope, team_id = excluded.team_id,
				service_id = excluded.service_id, key_id = excluded.key_id, period = excluded.period,
				time_zone = excluded.time_zone, limit_nanos = excluded.limit_nanos, limit_tokens = excluded.limit_tokens,
				alert_thresholds = excluded.alert_thresholds, updated_at = excluded.updated_at, version = excluded.version
			RETURNING created_at`
		if b.Version != 0 {
			q = `UPDATE budgets SET scope = ?1, team_id = ?2, service_id = ?3, key_id = ?4, period = ?5, time_zone = ?6,
				limit_nanos = ?7, limit_tokens = ?8, alert_thresholds = ?9, updated_at = ?10, version = ?11
				WHERE id = ?12 AND version = ?13
				RETURNING created_at`
			args = append(args, b.Version)
		}
		var created int64
		err = t.QueryRowContext(ctx, q, args...).Scan(&created)
		if b.Version != 0 && errors.Is(err, sql.ErrNoRows) {
			return conditionalMiss(ctx, t, "budgets", "id", b.ID, entity)
		}
		if err != nil {
			return mapErr(entity, err, nil)
		}
		b.CreatedAt, b.UpdatedAt, b.Version = fromMicros(created), now, v
		t.changed(store.ChangeBudget, b.ID)
		return nil
	})
}

// GetBudget returns the budget or ErrNotFound.
func (s *Store) GetBudget(ctx context.Context, id string) (*store.Budget, error) {
	b, err := scanBudget(s.r.QueryRowContext(ctx, "SELECT "+budgetColumns+" FROM budgets WHERE id = ?", id))
	if err != nil {
		return nil, mapErr(fmt.Sprintf("budget %q", id), err, nil)
	}
	return &b, nil
}

// ListBudgets returns every budget, or one team's, ordered by id.
func (s *Store) ListBudgets(ctx context.Context, teamID string) ([]store.Budget, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT "+budgetColumns+" FROM budgets WHERE ?1 = '' OR team_id = ?1 ORDER BY id", teamID)
	bs, err := collect(rows, err, scanBudget)
	if err != nil {
		return nil, fmt.Errorf("list budgets: %w", err)
	}
	return bs, nil
}

// PageBudgets returns a page of ListBudgets(teamID).
func (s *Store) PageBudgets(ctx context.Context, teamID string, p store.Page) ([]store.Budget, string, error) {
	q := keyPage{columns: budgetColumns, table: "budgets", key: "id"}
	if teamID != "" {
		q.w.add("team_id = ?", teamID)
	}
	return pageRows(ctx, s, q, p, scanBudget, func(b store.Budget) string { return b.ID })
}

// DeleteBudget deletes the budget and its counters if ifVersion is 0 or
// its version; ErrNotFound if missing, ErrVersionMismatch if changed.
func (s *Store) DeleteBudget(ctx context.Context, id string, ifVersion int64) error {
	entity := fmt.Sprintf("delete budget %q", id)
	return s.write(ctx, func(t *tx) error {
		res, err := t.ExecContext(ctx, "DELETE FROM budgets WHERE id = ? AND (?2 = 0 OR version = ?2)", id, ifVersion)
		if err != nil {
			return mapErr(entity, err, nil)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return conditionalMiss(ctx, t, "budgets", "id", id, entity)
		}
		if _, err := t.ExecContext(ctx, "DELETE FROM governance_counters WHERE counter = ?", BudgetCounter(id)); err != nil {
			return fmt.Errorf("delete budget %q counters: %w", id, err)
		}
		t.changed(store.ChangeBudget, id)
		return nil
	})
}

// BudgetCounter is the name of a budget's counter (the same as pgstore's).
func BudgetCounter(id string) string { return "budget:" + id }

const rateLimitColumns = "id, scope, team_id, key_id, requests_per_minute, tokens_per_minute, max_concurrent, created_at, updated_at, version"

func scanRateLimit(r scanner) (store.RateLimit, error) {
	var l store.RateLimit
	var scope string
	var created, updated int64
	err := r.Scan(&l.ID, &scope, &l.TeamID, &l.KeyID, &l.RequestsPerMinute, &l.TokensPerMinute, &l.MaxConcurrent,
		&created, &updated, &l.Version)
	l.Scope, l.CreatedAt, l.UpdatedAt = store.Scope(scope), fromMicros(created), fromMicros(updated)
	return l, err
}

// PutRateLimit creates or replaces l by id; with a non-zero l.Version it
// only replaces that version (ErrNotFound if missing, ErrVersionMismatch
// if changed).
func (s *Store) PutRateLimit(ctx context.Context, l *store.RateLimit) error {
	entity := fmt.Sprintf("put rate limit %q", l.ID)
	now := s.clock()
	return s.write(ctx, func(t *tx) error {
		v, err := t.nextVersion(ctx)
		if err != nil {
			return err
		}
		args := []any{string(l.Scope), l.TeamID, l.KeyID, l.RequestsPerMinute, l.TokensPerMinute, l.MaxConcurrent, micros(now), v, l.ID}
		q := `INSERT INTO rate_limits (scope, team_id, key_id, requests_per_minute, tokens_per_minute, max_concurrent,
				updated_at, version, id, created_at)
			VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?7)
			ON CONFLICT (id) DO UPDATE SET scope = excluded.scope, team_id = excluded.team_id, key_id = excluded.key_id,
				requests_per_minute = excluded.requests_per_minute, tokens_per_minute = excluded.tokens_per_minute,
				max_concurrent = excluded.max_concurrent, updated_at = excluded.updated_at, version = excluded.version
			RETURNING created_at`
		if l.Version != 0 {
			q = `UPDATE rate_limits SET scope = ?1, team_id = ?2, key_id = ?3, requests_per_minute = ?4,
				tokens_per_minute = ?5, max_concurrent = ?6, updated_at = ?7, version = ?8
				WHERE id = ?9 AND version = ?10
				RETURNING created_at`
			args = append(args, l.Version)
		}
		var created int64
		err = t.QueryRowContext(ctx, q, args...).Scan(&created)
		if l.Version != 0 && errors.Is(err, sql.ErrNoRows) {
			return conditionalMiss(ctx, t, "rate_limits", "id", l.ID, entity)
		}
		if err != nil {
			return mapErr(entity, err, nil)
		}
		l.CreatedAt, l.UpdatedAt, l.Version = fromMicros(created), now, v
		t.changed(store.ChangeRateLimit, l.ID)
		return nil
	})
}

// GetRateLimit returns the rate limit or ErrNotFound.
func (s *Store) GetRateLimit(ctx context.Context, id string) (*store.RateLimit, error) {
	l, err := scanRateLimit(s.r.QueryRowContext(ctx, "SELECT "+rateLimitColumns+" FROM rate_limits WHERE id = ?", id))
	if err != nil {
		return nil, mapErr(fmt.Sprintf("rate limit %q", id), err, nil)
	}
	return &l, nil
}

// ListRateLimits returns every rate limit, or one team's, ordered by id.
func (s *Store) ListRateLimits(ctx context.Context, teamID string) ([]store.RateLimit, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT "+rateLimitColumns+" FROM rate_limits WHERE ?1 = '' OR team_id = ?1 ORDER BY id", teamID)
	ls, err := collect(rows, err, scanRateLimit)
	if err != nil {
		return nil, fmt.Errorf("list rate limits: %w", err)
	}
	return ls, nil
}

// PageRateLimits returns a page of ListRateLimits(teamID).
func (s *Store) PageRateLimits(ctx context.Context, teamID string, p store.Page) ([]store.RateLimit, string, error) {
	q := keyPage{columns: rateLimitColumns, table: "rate_limits", key: "id"}
	if teamID != "" {
		q.w.add("team_id = ?", teamID)
	}
	return pageRows(ctx, s, q, p, scanRateLimit, func(l store.RateLimit) string { return l.ID })
}

// DeleteRateLimit deletes it if ifVersion is 0 or its version; ErrNotFound
// if missing, ErrVersionMismatch if changed.
func (s *Store) DeleteRateLimit(ctx context.Context, id string, ifVersion int64) error {
	return s.deleteIf(ctx, "rate_limits", "id", id, ifVersion, fmt.Sprintf("delete rate limit %q", id), nil, store.ChangeRateLimit)
}
