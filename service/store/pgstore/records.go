package pgstore

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-dev/tollgate/service/store"
)

// recordColumns lists request_records' columns, in recordValues order.
const recordColumns = "time, request_id, key_id, team_id, service_id, end_user, tags, surface, " +
	"operation, stream, requested_model, provider, model, status, error_code, " +
	"input_tokens, output_tokens, cached_input_tokens, cache_write_tokens, reasoning_tokens, " +
	"usage_estimated, cost_nanos, latency_us, ttft_us, attempts, partial, cache_status, saved_nanos, guardrails"

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
	}
}

// recordValues returns r's values in recordColumns order.
func recordValues(r *store.Record) []any {
	return []any{
		r.Time, r.RequestID, r.KeyID, r.TeamID, r.ServiceID, r.EndUser, nonNilSlice(r.Tags), r.Surface,
		r.Operation, r.Stream, r.RequestedModel, r.Provider, r.Model, int16(r.Status), r.ErrorCode,
		r.InputTokens, r.OutputTokens, r.CachedInputTokens, r.CacheWriteTokens, r.ReasoningTokens,
		r.UsageEstimated, r.CostNanos, r.Latency.Microseconds(), r.TTFT.Microseconds(), int32(r.Attempts), r.Partial,
		r.CacheStatus, r.SavedNanos, guardrailsValue(r.Guardrails),
	}
}

// InsertRecords stores rs in one transaction: it copies them into a
// temporary table and inserts from there, skipping records already stored
// (same RequestID and Time), so a failed batch may be retried as it is.
// It first creates the partitions of the batch's days it has not seen yet;
// if that fails, the rows go to the default partition and the failure is
// logged. Times are stored with microsecond precision.
func (s *Store) InsertRecords(ctx context.Context, rs []store.Record) error {
	if len(rs) == 0 {
		return nil
	}
	var missing []time.Time
	for i := range rs {
		if d := dayOf(rs[i].Time); !s.parts.has(d) && !slices.ContainsFunc(missing, d.Equal) {
			missing = append(missing, d)
		}
	}
	if err := s.ensureDays(ctx, missing); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("insert records: %w", err)
		}
		// The default partition takes the rows, and the next batch tries
		// again: failing the batch would only make the caller retry it.
		s.logger.WarnContext(ctx, "pgstore: insert records: rows go to the default partition",
			slog.Any("error", err))
	}

	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `CREATE TEMPORARY TABLE request_records_batch
			(LIKE request_records INCLUDING DEFAULTS) ON COMMIT DROP`); err != nil {
			return fmt.Errorf("create batch table: %w", err)
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"request_records_batch"}, strings.Split(recordColumns, ", "),
			pgx.CopyFromSlice(len(rs), func(i int) ([]any, error) { return recordValues(&rs[i]), nil }),
		); err != nil {
			return fmt.Errorf("copy: %w", err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO request_records ("+recordColumns+") SELECT "+recordColumns+
			" FROM request_records_batch ON CONFLICT DO NOTHING"); err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("insert %d records: %w", len(rs), err)
	}
	return nil
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
		at, id, err := decodeCursor(f.After)
		if err != nil {
			return q, err
		}
		q.add("(time, request_id) < (%s, %s)", at, id)
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

// ListRecords returns a page of records, newest first, and the cursor of the
// next page ("" at the end). Model filters on the requested model. A Limit
// outside [1, 1000] means 100 or 1000.
func (s *Store) ListRecords(ctx context.Context, f store.RecordFilter) ([]store.Record, string, error) {
	limit := pageSize(f.Limit)
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
		next = encodeCursor(last.Time, last.RequestID)
	}
	out := make([]store.Record, len(rs))
	for i, r := range rs {
		out[i] = r.record()
	}
	return out, next, nil
}

// dimensionColumn returns the column of dimension d. Only these names are
// ever put into summary SQL.
func dimensionColumn(d store.Dimension) (string, bool) {
	switch d {
	case store.DimTeam:
		return "team_id", true
	case store.DimService:
		return "service_id", true
	case store.DimKey:
		return "key_id", true
	case store.DimModel:
		return "requested_model", true
	case store.DimProvider:
		return "provider", true
	case store.DimEndUser:
		return "end_user", true
	case store.DimTag:
		return "tag", true
	case store.DimGuardrail:
		return "guardrail", true
	}
	return "", false
}

// summaryQuery returns SummarizeUsage's SQL and arguments for q.
func summaryQuery(q store.SummaryQuery) (string, []any, error) {
	dims := make([]string, len(q.GroupBy))
	for i, d := range q.GroupBy {
		col, ok := dimensionColumn(d)
		if !ok {
			return "", nil, fmt.Errorf("unknown dimension %q", d)
		}
		dims[i] = col
	}
	var w queryArgs
	if !q.Start.IsZero() {
		w.add("time >= %s", q.Start)
	}
	if !q.End.IsZero() {
		w.add("time < %s", q.End)
	}
	if q.TeamID != "" {
		w.add("team_id = %s", q.TeamID)
	}
	from := " FROM request_records"
	if slices.Contains(q.GroupBy, store.DimTag) {
		// Every tag of a record is a group; untagged records are the group "".
		from += " CROSS JOIN LATERAL unnest(CASE WHEN cardinality(tags) = 0 THEN '{\"\"}'::text[] ELSE tags END) AS t(tag)"
	}
	if slices.Contains(q.GroupBy, store.DimGuardrail) {
		from += guardrailJoin
	}
	switch q.Bucket {
	case store.BucketNone:
	case store.BucketHour, store.BucketDay:
		// A literal unit and time zone keep the expression plannable.
		dims = append([]string{fmt.Sprintf("date_trunc('%s', time, 'UTC')", q.Bucket)}, dims...)
	default:
		return "", nil, fmt.Errorf("unknown bucket %q", q.Bucket)
	}
	sel := append(slices.Clone(dims), fmt.Sprintf(`count(*),
		count(*) FILTER (WHERE status <> %d),
		coalesce(sum(input_tokens), 0)::bigint,
		coalesce(sum(output_tokens), 0)::bigint,
		coalesce(sum(cached_input_tokens), 0)::bigint,
		coalesce(sum(cost_nanos), 0)::bigint,
		count(*) FILTER (WHERE cache_status LIKE 'hit-%%'),
		coalesce(sum(saved_nanos), 0)::bigint`, store.StatusOK))
	sql := "SELECT " + strings.Join(sel, ", ") + from + w.clause()
	order := "sum(cost_nanos) DESC"
	if q.Bucket != store.BucketNone {
		order = "1, " + order
	}
	if len(dims) > 0 {
		sql += " GROUP BY " + strings.Join(dims, ", ")
		order += ", " + strings.Join(dims, ", ")
	} else {
		sql += " HAVING count(*) > 0"
	}
	return sql + " ORDER BY " + order, w.args, nil
}

// SummarizeUsage returns one group per distinct combination of the GroupBy
// dimensions' values, most expensive first (ties by the values). DimModel
// groups by the requested model. With no GroupBy it returns one group with
// the totals, or none when no record matches.
func (s *Store) SummarizeUsage(ctx context.Context, q store.SummaryQuery) ([]store.UsageGroup, error) {
	sql, args, err := summaryQuery(q)
	if err != nil {
		return nil, fmt.Errorf("summarize usage: %w", err)
	}
	rows, _ := s.pool.Query(ctx, sql, args...)
	groups, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.UsageGroup, error) {
		g := store.UsageGroup{Keys: make([]string, len(q.GroupBy))}
		dest := make([]any, 0, len(q.GroupBy)+9)
		if q.Bucket != store.BucketNone {
			dest = append(dest, &g.BucketStart)
		}
		for i := range g.Keys {
			dest = append(dest, &g.Keys[i])
		}
		dest = append(dest, &g.Requests, &g.Errors, &g.InputTokens, &g.OutputTokens, &g.CachedInputTokens, &g.CostNanos,
			&g.CacheHits, &g.SavedNanos)
		return g, row.Scan(dest...)
	})
	if err != nil {
		return nil, fmt.Errorf("summarize usage: %w", err)
	}
	for i := range groups {
		if !groups[i].BucketStart.IsZero() {
			groups[i].BucketStart = groups[i].BucketStart.UTC()
		}
	}
	return groups, nil
}

// ExportRecords calls fn for every record matching f, oldest first. The
// rows are streamed from one query, so an export of any size uses little
// memory.
func (s *Store) ExportRecords(ctx context.Context, f store.RecordFilter, fn func(*store.Record) error) error {
	f.After = ""
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
