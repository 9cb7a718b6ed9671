package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-dev/tollgate/service/store"
)

// budgetRow is a row of budgets.
type budgetRow struct {
	ID          string    `db:"id"`
	Scope       string    `db:"scope"`
	TeamID      string    `db:"team_id"`
	ServiceID   string    `db:"service_id"`
	KeyID       string    `db:"key_id"`
	Period      string    `db:"period"`
	TimeZone    string    `db:"time_zone"`
	LimitNanos  int64     `db:"limit_nanos"`
	LimitTokens int64     `db:"limit_tokens"`
	Thresholds  []int32   `db:"alert_thresholds"`
	CreatedAt   time.Time `db:"created_at"`
	UpdatedAt   time.Time `db:"updated_at"`
	Version     int64     `db:"version"`
}

func (r budgetRow) budget() store.Budget {
	return store.Budget{
		ID: r.ID, Scope: store.Scope(r.Scope), TeamID: r.TeamID, ServiceID: r.ServiceID, KeyID: r.KeyID,
		Period: store.Period(r.Period), TimeZone: r.TimeZone, LimitNanos: r.LimitNanos, LimitTokens: r.LimitTokens,
		AlertThresholds: thresholdsFromDB(r.Thresholds), CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
		Version: r.Version,
	}
}

// thresholdsFromDB converts stored alert thresholds (nil when none).
func thresholdsFromDB(ts []int32) []int {
	if len(ts) == 0 {
		return nil
	}
	out := make([]int, len(ts))
	for i, t := range ts {
		out[i] = int(t)
	}
	return out
}

// thresholdsToDB converts alert thresholds for storage (never nil).
func thresholdsToDB(ts []int) []int32 {
	out := make([]int32, len(ts))
	for i, t := range ts {
		out[i] = int32(t)
	}
	return out
}

const budgetColumns = "id, scope, team_id, service_id, key_id, period, time_zone, limit_nanos, limit_tokens, alert_thresholds, created_at, updated_at, version"

// PutBudget creates or replaces b by id; with a non-zero b.Version it
// only replaces that version (ErrNotFound if missing, ErrVersionMismatch
// if changed).
func (s *Store) PutBudget(ctx context.Context, b *store.Budget) error {
	entity := fmt.Sprintf("put budget %q", b.ID)
	args := []any{b.ID, string(b.Scope), b.TeamID, b.ServiceID, b.KeyID, string(b.Period), b.TimeZone, b.LimitNanos, b.LimitTokens,
		thresholdsToDB(b.AlertThresholds)}
	sql := `
		INSERT INTO budgets (id, scope, team_id, service_id, key_id, period, time_zone, limit_nanos, limit_tokens, alert_thresholds)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (id) DO UPDATE SET scope = excluded.scope, team_id = excluded.team_id,
			service_id = excluded.service_id, key_id = excluded.key_id, period = excluded.period,
			time_zone = excluded.time_zone, limit_nanos = excluded.limit_nanos,
			limit_tokens = excluded.limit_tokens, alert_thresholds = excluded.alert_thresholds, updated_at = now()
		RETURNING created_at, updated_at, version`
	if b.Version != 0 {
		sql = `
		UPDATE budgets SET scope = $2, team_id = $3, service_id = $4, key_id = $5, period = $6, time_zone = $7,
			limit_nanos = $8, limit_tokens = $9, alert_thresholds = $10, updated_at = now()
		WHERE id = $1 AND version = $11
		RETURNING created_at, updated_at, version`
		args = append(args, b.Version)
	}
	err := s.pool.QueryRow(ctx, sql, args...).Scan(&b.CreatedAt, &b.UpdatedAt, &b.Version)
	if b.Version != 0 && errors.Is(err, pgx.ErrNoRows) {
		return conditionalMiss(ctx, s.pool, "budgets", "id", b.ID, entity)
	}
	if err != nil {
		return mapErr(entity, err, nil)
	}
	b.CreatedAt, b.UpdatedAt = b.CreatedAt.UTC(), b.UpdatedAt.UTC()
	return nil
}

// GetBudget returns the budget or ErrNotFound.
func (s *Store) GetBudget(ctx context.Context, id string) (*store.Budget, error) {
	rows, _ := s.pool.Query(ctx, "SELECT "+budgetColumns+" FROM budgets WHERE id = $1", id)
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[budgetRow])
	if err != nil {
		return nil, mapErr(fmt.Sprintf("budget %q", id), err, nil)
	}
	b := r.budget()
	return &b, nil
}

// ListBudgets returns every budget, or one team's, ordered by id.
func (s *Store) ListBudgets(ctx context.Context, teamID string) ([]store.Budget, error) {
	rows, _ := s.pool.Query(ctx, "SELECT "+budgetColumns+" FROM budgets WHERE $1 = '' OR team_id = $1 ORDER BY id", teamID)
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByName[budgetRow])
	if err != nil {
		return nil, fmt.Errorf("list budgets: %w", err)
	}
	out := make([]store.Budget, len(rs))
	for i, r := range rs {
		out[i] = r.budget()
	}
	return out, nil
}

// PageBudgets returns a page of ListBudgets(teamID).
func (s *Store) PageBudgets(ctx context.Context, teamID string, p store.Page) ([]store.Budget, string, error) {
	q := keyPage{columns: budgetColumns, table: "budgets", key: "id"}
	if teamID != "" {
		q.where, q.args = "team_id = $1", []any{teamID}
	}
	rs, next, err := pageRows(ctx, s, q, p, func(r budgetRow) string { return r.ID })
	if err != nil {
		return nil, "", err
	}
	out := make([]store.Budget, len(rs))
	for i, r := range rs {
		out[i] = r.budget()
	}
	return out, next, nil
}

// DeleteBudget deletes the budget and its counters if ifVersion is 0 or
// its version; ErrNotFound if missing, ErrVersionMismatch if changed.
func (s *Store) DeleteBudget(ctx context.Context, id string, ifVersion int64) error {
	entity := fmt.Sprintf("delete budget %q", id)
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "DELETE FROM budgets WHERE id = $1 AND ($2::bigint = 0 OR version = $2)", id, ifVersion)
		if err != nil {
			return mapErr(entity, err, nil)
		}
		if tag.RowsAffected() == 0 {
			return conditionalMiss(ctx, tx, "budgets", "id", id, entity)
		}
		if _, err := tx.Exec(ctx, "DELETE FROM governance_counters WHERE counter = $1", BudgetCounter(id)); err != nil {
			return fmt.Errorf("delete budget %q counters: %w", id, err)
		}
		return nil
	})
}

// BudgetCounter is the name of a budget's counter.
func BudgetCounter(id string) string { return "budget:" + id }

// rateLimitRow is a row of rate_limits.
type rateLimitRow struct {
	ID                string    `db:"id"`
	Scope             string    `db:"scope"`
	TeamID            string    `db:"team_id"`
	KeyID             string    `db:"key_id"`
	RequestsPerMinute int64     `db:"requests_per_minute"`
	TokensPerMinute   int64     `db:"tokens_per_minute"`
	MaxConcurrent     int64     `db:"max_concurrent"`
	CreatedAt         time.Time `db:"created_at"`
	UpdatedAt         time.Time `db:"updated_at"`
	Version           int64     `db:"version"`
}

func (r rateLimitRow) rateLimit() store.RateLimit {
	return store.RateLimit{
		ID: r.ID, Scope: store.Scope(r.Scope), TeamID: r.TeamID, KeyID: r.KeyID,
		RequestsPerMinute: r.RequestsPerMinute, TokensPerMinute: r.TokensPerMinute, MaxConcurrent: r.MaxConcurrent,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), Version: r.Version,
	}
}

const rateLimitColumns = "id, scope, team_id, key_id, requests_per_minute, tokens_per_minute, max_concurrent, created_at, updated_at, version"

// PutRateLimit creates or replaces l by id; with a non-zero l.Version it
// only replaces that version (ErrNotFound if missing, ErrVersionMismatch
// if changed).
func (s *Store) PutRateLimit(ctx context.Context, l *store.RateLimit) error {
	entity := fmt.Sprintf("put rate limit %q", l.ID)
	args := []any{l.ID, string(l.Scope), l.TeamID, l.KeyID, l.RequestsPerMinute, l.TokensPerMinute, l.MaxConcurrent}
	sql := `
		INSERT INTO rate_limits (id, scope, team_id, key_id, requests_per_minute, tokens_per_minute, max_concurrent)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (id) DO UPDATE SET scope = excluded.scope, team_id = excluded.team_id, key_id = excluded.key_id,
			requests_per_minute = excluded.requests_per_minute, tokens_per_minute = excluded.tokens_per_minute,
			max_concurrent = excluded.max_concurrent, updated_at = now()
		RETURNING created_at, updated_at, version`
	if l.Version != 0 {
		sql = `
		UPDATE rate_limits SET scope = $2, team_id = $3, key_id = $4, requests_per_minute = $5,
			tokens_per_minute = $6, max_concurrent = $7, updated_at = now()
		WHERE id = $1 AND version = $8
		RETURNING created_at, updated_at, version`
		args = append(args, l.Version)
	}
	err := s.pool.QueryRow(ctx, sql, args...).Scan(&l.CreatedAt, &l.UpdatedAt, &l.Version)
	if l.Version != 0 && errors.Is(err, pgx.ErrNoRows) {
		return conditionalMiss(ctx, s.pool, "rate_limits", "id", l.ID, entity)
	}
	if err != nil {
		return mapErr(entity, err, nil)
	}
	l.CreatedAt, l.UpdatedAt = l.CreatedAt.UTC(), l.UpdatedAt.UTC()
	return nil
}

// GetRateLimit returns the rate limit or ErrNotFound.
func (s *Store) GetRateLimit(ctx context.Context, id string) (*store.RateLimit, error) {
	rows, _ := s.pool.Query(ctx, "SELECT "+rateLimitColumns+" FROM rate_limits WHERE id = $1", id)
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[rateLimitRow])
	if err != nil {
		return nil, mapErr(fmt.Sprintf("rate limit %q", id), err, nil)
	}
	l := r.rateLimit()
	return &l, nil
}

// ListRateLimits returns every rate limit, or one team's, ordered by id.
func (s *Store) ListRateLimits(ctx context.Context, teamID string) ([]store.RateLimit, error) {
	rows, _ := s.pool.Query(ctx, "SELECT "+rateLimitColumns+" FROM rate_limits WHERE $1 = '' OR team_id = $1 ORDER BY id", teamID)
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByName[rateLimitRow])
	if err != nil {
		return nil, fmt.Errorf("list rate limits: %w", err)
	}
	out := make([]store.RateLimit, len(rs))
	for i, r := range rs {
		out[i] = r.rateLimit()
	}
	return out, nil
}

// PageRateLimits returns a page of ListRateLimits(teamID).
func (s *Store) PageRateLimits(ctx context.Context, teamID string, p store.Page) ([]store.RateLimit, string, error) {
	q := keyPage{columns: rateLimitColumns, table: "rate_limits", key: "id"}
	if teamID != "" {
		q.where, q.args = "team_id = $1", []any{teamID}
	}
	rs, next, err := pageRows(ctx, s, q, p, func(r rateLimitRow) string { return r.ID })
	if err != nil {
		return nil, "", err
	}
	out := make([]store.RateLimit, len(rs))
	for i, r := range rs {
		out[i] = r.rateLimit()
	}
	return out, next, nil
}

// DeleteRateLimit deletes it if ifVersion is 0 or its version; ErrNotFound
// if missing, ErrVersionMismatch if changed.
func (s *Store) DeleteRateLimit(ctx context.Context, id string, ifVersion int64) error {
	return s.deleteIf(ctx, "rate_limits", "id", id, ifVersion, fmt.Sprintf("delete rate limit %q", id), nil)
}
