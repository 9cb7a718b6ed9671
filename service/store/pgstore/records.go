package pgstore

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-dev/tollgate/service/store"
)

// recordColumns lists request_records' columns, in recordValues order.
const recordColumns = "time, request_id, key_id, team_id, service_id, end_user, tags, surface, " +
	"operation, stream, requested_model, provider, model, status, error_code, " +
	"input_tokens, output_tokens, cached_input_tokens, cache_write_tokens, reasoning_tokens, " +
	"usage_estimated, cost_nanos, latency_us, ttft_us, attempts, partial, cache_status, saved_nanos, guardrails, dropped_params, truncated"

// recordRow is a row of request_records.
type recordRow struct {
	Time              time.Time                `db:"time"`
	RequestID         string                   `db:"request_id"`
	KeyID             string                   `db:"key_id"`
	TeamID            string                   `db:"team_id"`
	ServiceID         string                   `db:"service_id"`
	EndUser           string                   `db:"end_user"`
	Tags              []string                 `db:"tags"`
	Surface           string                   `db:"surface"`
	Operation         string                   `db:"operation"`
	Stream            bool                     `db:"stream"`
	RequestedModel    string                   `db:"requested_model"`
	Provider          string                   `db:"provider"`
	Model             string                   `db:"model"`
	Status            int16                    `db:"status"`
	ErrorCode         string                   `db:"error_code"`
	InputTokens       int64                    `db:"input_tokens"`
	OutputTokens      int64                    `db:"output_tokens"`
	CachedInputTokens int64                    `db:"cached_input_tokens"`
	CacheWriteTokens  int64                    `db:"cache_write_tokens"`
	ReasoningTokens   int64                    `db:"reasoning_tokens"`
	UsageEstimated    bool                     `db:"usage_estimated"`
	CostNanos         int64                    `db:"cost_nanos"`
	LatencyUS         int64                    `db:"latency_us"`
	TTFTUS            int64                    `db:"ttft_us"`
	Attempts          int32                    `db:"attempts"`
	Partial           bool                     `db:"partial"`
	CacheStatus       string                   `db:"cache_status"`
	SavedNanos        int64                    `db:"saved_nanos"`
	Guardrails        []store.GuardrailVerdict `db:"guardrails"`
	DroppedParams     []string                 `db:"dropped_params"`
	Truncated         bool                     `db:"truncated"`
}

func (r recordRow) record() store.Record {
	return store.Record{
		RequestID:         r.RequestID,
		Time:              r.Time.UTC(),
		KeyID:             r.KeyID,
		TeamID:            r.TeamID,
		ServiceID:         r.ServiceID,
		EndUser:           r.EndUser,
		Tags:              r.Tags,
		Surface:           r.Surface,
		Operation:         r.Operation,
		Stream:            r.Stream,
		RequestedModel:    r.RequestedModel,
		Provider:          r.Provider,
		Model:             r.Model,
		Status:            store.Status(r.Status),
		ErrorCode:         r.ErrorCode,
		InputTokens:       r.InputTokens,
		OutputTokens:      r.OutputTokens,
		CachedInputTokens: r.CachedInputTokens,
		CacheWriteTokens:  r.CacheWriteTokens,
		ReasoningTokens:   r.ReasoningTokens,
		UsageEstimated:    r.UsageEstimated,
		CostNanos:         r.CostNanos,
		Latency:           time.Duration(r.LatencyUS) * time.Microsecond,
		TTFT:              time.Duration(r.TTFTUS) * time.Microsecond,
		Attempts:          int(r.Attempts),
		Partial:           r.Partial,
		CacheStatus:       r.CacheStatus,
		SavedNanos:        r.SavedNanos,
		Guardrails:        guardrailsOf(r.Guardrails),
		DroppedParams:     r.DroppedParams,
		Truncated:         r.Truncated,
	}
}

// recordValues returns r's values in recordColumns order, in dst's
// storage (COPY encodes a row's values before it asks for the next row's,
// so one slice serves a whole copy).
func recordValues(dst []any, r *store.Record) []any {
	return append(dst[:0],
		r.Time, r.RequestID, r.KeyID, r.TeamID, r.ServiceID, r.EndUser, nonNilSlice(r.Tags), r.Surface,
		r.Operation, r.Stream, r.RequestedModel, r.Provider, r.Model, int16(r.Status), r.ErrorCode,
		r.InputTokens, r.OutputTokens, r.CachedInputTokens, r.CacheWriteTokens, r.ReasoningTokens,
		r.UsageEstimated, r.CostNanos, r.Latency.Microseconds(), r.TTFT.Microseconds(), int32(r.Attempts), r.Partial,
		r.CacheStatus, r.SavedNanos, guardrailsValue(r.Guardrails), r.DroppedParams, r.Truncated,
	)
}

// recordWhere returns the conditions of f, its cursor included.
func recordWhere(f store.RecordFilter) (queryArgs, error) {
	var q queryArgs
	if !f.Start.IsZero() {
		q.add("time >= %s", f.Start)
	}
	if !f.End.IsZero() {
		q.add("time < %s", f.End)
	}
	if f.TeamID != "" {
		q.add("team_id = %s", f.TeamID)
	}
	if f.KeyID != "" {
		q.add("key_id = %s", f.KeyID)
	}
	if f.Model != "" {
		q.add("requested_model = %s", f.Model)
	}
	if f.EndUser != "" {
		// The literal lets generic plans use the partial index.
		q.add("end_user = %s AND end_user <> ''", f.EndUser)
	}
	if f.ServiceID != "" {
		q.add("service_id = %s", f.ServiceID)
	}
	if f.Status != store.StatusUnspecified {
		q.add("status = %s", int16(f.Status))
	}
	if f.Tag != "" {
		// Containment lets the GIN index on tags answer.
		q.add("tags @> ARRAY[%s]::text[]", f.Tag)
	}
	if f.RequestID != "" {
		q.add("request_id = %s", f.RequestID)
	}
	if f.After != "" {
		at, id, err := store.DecodeCursor(f.After)
		if err != nil {
			return q, err
		}
		// Spelled out so that time <= at bounds the index scan.
		q.add("time <= %s AND (time < %s OR request_id < %s)", at, at, id)
	}
	return q, nil
}

// listRecordsQuery returns ListRecords' SQL and arguments for f.
func listRecordsQuery(f store.RecordFilter, limit int) (string, []any, error) {
	q, err := recordWhere(f)
	if err != nil {
		return "", nil, err
	}
	sql := "SELECT " + recordColumns + " FROM request_records" + q.clause() +
		" ORDER BY time DESC, request_id DESC LIMIT " + strconv.Itoa(limit+1)
	return sql, q.args, nil
}

// narrowByKey adds its key's team to a filter on a key alone. The result is
// the same, as a key's records are its team's, but the index on team and
// time serves the query (records have no index on key).
func (s *Store) narrowByKey(ctx context.Context, f store.RecordFilter) store.RecordFilter {
	if f.KeyID == "" || f.TeamID != "" {
		return f
	}
	var team string
	if err := s.pool.QueryRow(ctx, "SELECT team_id FROM virtual_keys WHERE id = $1", f.KeyID).Scan(&team); err == nil {
		f.TeamID = team
	}
	return f
}

// ListRecords returns a page of records, newest first, and the cursor of the
// next page ("" at the end). Model filters on the requested model. A Limit
// outside [1, 1000] means 100 or 1000.
func (s *Store) ListRecords(ctx context.Context, f store.RecordFilter) ([]store.Record, string, error) {
	f = s.narrowByKey(ctx, f)
	limit := store.PageSize(f.Limit)
	sql, args, err := listRecordsQuery(f, limit)
	if err != nil {
		return nil, "", fmt.Errorf("list records: %w", err)
	}
	rows, _ := s.pool.Query(ctx, sql, args...)
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByName[recordRow])
	if err != nil {
		return nil, "", fmt.Errorf("list records: %w", err)
	}
	next := ""
	if len(rs) > limit {
		rs = rs[:limit]
		last := rs[limit-1]
		next = store.EncodeCursor(last.Time, last.RequestID)
	}
	out := make([]store.Record, len(rs))
	for i, r := range rs {
		out[i] = r.record()
	}
	return out, next, nil
}

// ExportRecords calls fn for every record matching f, oldest first. The
// rows are streamed from one query, so an export of any size uses little
// memory.
func (s *Store) ExportRecords(ctx context.Context, f store.RecordFilter, fn func(*store.Record) error) error {
	f.After = ""
	f = s.narrowByKey(ctx, f)
	q, err := recordWhere(f)
	if err != nil {
		return fmt.Errorf("export records: %w", err)
	}
	rows, err := s.pool.Query(ctx, "SELECT "+recordColumns+" FROM request_records"+q.clause()+" ORDER BY time, request_id", q.args...)
	if err != nil {
		return fmt.Errorf("export records: %w", err)
	}
	defer rows.Close()
	scan := pgx.RowToStructByName[recordRow]
	for rows.Next() {
		r, err := scan(rows)
		if err != nil {
			return fmt.Errorf("export records: %w", err)
		}
		rec := r.record()
		if err := fn(&rec); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("export records: %w", err)
	}
	return nil
}

// keyUseWindow bounds how far back KeysLastUsed looks, so it reads only
// the recent partitions.
const keyUseWindow = 90 * 24 * time.Hour

// KeysLastUsed returns when each of the keys last made a request, from the
// request records of the last 90 days; keys without a record there are
// absent from the map. One index probe per key and recent partition.
func (s *Store) KeysLastUsed(ctx context.Context, ids []string) (map[string]time.Time, error) {
	out := make(map[string]time.Time, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, _ := s.pool.Query(ctx, `SELECT k.id, u.at FROM unnest($1::text[]) AS k(id)
		CROSS JOIN LATERAL (SELECT max(time) AS at FROM request_records WHERE key_id = k.id AND time > $2) u
		WHERE u.at IS NOT NULL`, ids, time.Now().Add(-keyUseWindow))
	var id string
	var at time.Time
	_, err := pgx.ForEachRow(rows, []any{&id, &at}, func() error {
		out[id] = at
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("keys last used: %w", err)
	}
	return out, nil
}
