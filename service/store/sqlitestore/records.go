package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/tollgate-dev/tollgate/service/store"
)

// recordColumns lists request_records' columns, in recordValues order.
const recordColumns = "time, request_id, key_id, team_id, service_id, end_user, tags, surface, " +
	"operation, stream, requested_model, provider, model, status, error_code, " +
	"input_tokens, output_tokens, cached_input_tokens, cache_write_tokens, reasoning_tokens, " +
	"usage_estimated, cost_nanos, latency_us, ttft_us, attempts, partial, cache_status, saved_nanos, guardrails, dropped_params, truncated"

// insertRecordSQL inserts one record.
var insertRecordSQL = "INSERT INTO request_records (" + recordColumns + ") VALUES (" +
	strings.TrimSuffix(strings.Repeat("?, ", strings.Count(recordColumns, ",")+1), ", ") + ")"

// recordValues returns r's values in recordColumns order.
func recordValues(r *store.Record) ([]any, error) {
	gs := r.Guardrails
	if gs == nil {
		gs = []store.GuardrailVerdict{}
	}
	guardrails, err := json.Marshal(gs)
	if err != nil {
		return nil, fmt.Errorf("encode guardrails: %w", err)
	}
	return []any{
		micros(r.Time), r.RequestID, r.KeyID, r.TeamID, r.ServiceID, r.EndUser, listJSON(r.Tags), r.Surface,
		r.Operation, r.Stream, r.RequestedModel, r.Provider, r.Model, int64(r.Status), r.ErrorCode,
		r.InputTokens, r.OutputTokens, r.CachedInputTokens, r.CacheWriteTokens, r.ReasoningTokens,
		r.UsageEstimated, r.CostNanos, r.Latency.Microseconds(), r.TTFT.Microseconds(), r.Attempts, r.Partial,
		r.CacheStatus, r.SavedNanos, string(guardrails), droppedParams(r.DroppedParams), r.Truncated,
	}, nil
}

func scanRecord(row scanner) (store.Record, error) {
	var r store.Record
	var at, latency, ttft int64
	var status int16
	var tags, guardrails string
	var dropped sql.NullString
	if err := row.Scan(&at, &r.RequestID, &r.KeyID, &r.TeamID, &r.ServiceID, &r.EndUser, &tags, &r.Surface,
		&r.Operation, &r.Stream, &r.RequestedModel, &r.Provider, &r.Model, &status, &r.ErrorCode,
		&r.InputTokens, &r.OutputTokens, &r.CachedInputTokens, &r.CacheWriteTokens, &r.ReasoningTokens,
		&r.UsageEstimated, &r.CostNanos, &latency, &ttft, &r.Attempts, &r.Partial,
		&r.CacheStatus, &r.SavedNanos, &guardrails, &dropped, &r.Truncated); err != nil {
		return r, err
	}
	r.Time, r.Status = fromMicros(at), store.Status(status)
	r.Latency, r.TTFT = time.Duration(latency)*time.Microsecond, time.Duration(ttft)*time.Microsecond
	var err error
	if r.Tags, err = parseList(tags); err != nil {
		return r, err
	}
	if err := json.Unmarshal([]byte(guardrails), &r.Guardrails); err != nil {
		return r, fmt.Errorf("decode guardrails: %w", err)
	}
	if len(r.Guardrails) == 0 {
		r.Guardrails = nil
	}
	if dropped.Valid {
		if r.DroppedParams, err = parseList(dropped.String); err != nil {
			return r, err
		}
	}
	return r, nil
}

// droppedParams returns ps as a JSON array, NULL when nil.
func droppedParams(ps []string) any {
	if ps == nil {
		return nil
	}
	return listJSON(ps)
}

// InsertRecords stores b in one transaction of the single writer: the
// ledger rows of its lines (record_batches) and the records. Lines of b's
// segment that the ledger already holds are skipped, so a retried or
// replayed batch is stored exactly once (the single writer serialises the
// batches of a segment). A zero Segment has no ledger: such a batch is
// stored as it is, or, with Dedupe, less the records already stored with
// the same RequestID and Time. Records are sanitised
// (store.Record.Sanitize) on a copy if they need it, and times are stored
// with microsecond precision. A constraint or type error wraps
// store.ErrInvalidRecord.
func (s *Store) InsertRecords(ctx context.Context, b store.RecordBatch) error {
	if len(b.Records) == 0 {
		return nil
	}
	rs := sanitizedRecords(b.Records)
	err := s.write(ctx, func(t *tx) error {
		keep := rs
		if !b.Segment.IsZero() {
			var err error
			if keep, err = claimLines(ctx, t, b.Segment, b.First, rs, s.clock()); err != nil || len(keep) == 0 {
				return err
			}
		}
		if b.Dedupe {
			var err error
			if keep, err = withoutStored(ctx, t, keep); err != nil || len(keep) == 0 {
				return err
			}
		}
		stmt, err := t.PrepareContext(ctx, insertRecordSQL)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for i := range keep {
			vals, err := recordValues(&keep[i])
			if err != nil {
				return fmt.Errorf("%w: %w", store.ErrInvalidRecord, err)
			}
			if _, err := stmt.ExecContext(ctx, vals...); err != nil {
				return classify(err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("insert %d records: %w", len(rs), err)
	}
	return nil
}

// sanitizedRecords returns rs with every record sanitised, copying rs
// only if a record needs it.
func sanitizedRecords(rs []store.Record) []store.Record {
	out, copied := rs, false
	for i := range rs {
		if rs[i].Clean() {
			continue
		}
		if !copied {
			out, copied = slices.Clone(rs), true
		}
		out[i].Sanitize()
	}
	return out
}

// claimLines records in the ledger the lines of rs (rs[i] is line
// first+i) that it does not hold yet, one row per run of new lines, and
// returns the records of those lines.
func claimLines(ctx context.Context, t *tx, seg store.SegmentID, first int, rs []store.Record, now time.Time) ([]store.Record, error) {
	n := len(rs)
	rows, err := t.QueryContext(ctx, "SELECT first, count FROM record_batches WHERE segment = ? AND first < ? AND first + count > ?",
		seg[:], first+n, first)
	if err != nil {
		return nil, fmt.Errorf("read the record ledger: %w", err)
	}
	held := make([]bool, n)
	for rows.Next() {
		var f, c int
		if err := rows.Scan(&f, &c); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read the record ledger: %w", err)
		}
		for l := max(f, first); l < min(f+c, first+n); l++ {
			held[l-first] = true
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the record ledger: %w", err)
	}
	keep := make([]store.Record, 0, n)
	for i := 0; i < n; {
		if held[i] {
			i++
			continue
		}
		j := i
		for j < n && !held[j] {
			j++
		}
		if _, err := t.ExecContext(ctx, "INSERT INTO record_batches (segment, first, count, stored_at) VALUES (?, ?, ?, ?)",
			seg[:], first+i, j-i, micros(now)); err != nil {
			return nil, fmt.Errorf("write the record ledger: %w", err)
		}
		keep = append(keep, rs[i:j]...)
		i = j
	}
	return keep, nil
}

// withoutStored returns the records of rs not stored yet with the same
// RequestID and Time, each once.
func withoutStored(ctx context.Context, t *tx, rs []store.Record) ([]store.Record, error) {
	type key struct {
		t  int64
		id string
	}
	have := make(map[key]bool)
	keep := make([]store.Record, 0, len(rs))
	for _, r := range rs {
		k := key{micros(r.Time), r.RequestID}
		if have[k] {
			continue
		}
		have[k] = true
		var one int
		err := t.QueryRowContext(ctx, "SELECT 1 FROM request_records WHERE time = ? AND request_id = ?", k.t, k.id).Scan(&one)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			keep = append(keep, r)
		case err != nil:
			return nil, fmt.Errorf("find stored records: %w", err)
		}
	}
	return keep, nil
}

// InsertDeadLetter stores a record the store rejected, with the reason,
// and marks its line as stored in the ledger; a line already stored is
// skipped, so it may be retried.
func (s *Store) InsertDeadLetter(ctx context.Context, d store.DeadLetter) error {
	r := d.Record
	r.Sanitize()
	body, err := json.Marshal(&r)
	if err != nil {
		return fmt.Errorf("insert dead letter: %w", err)
	}
	at := d.At
	if at.IsZero() {
		at = s.clock()
	}
	err = s.write(ctx, func(t *tx) error {
		if !d.Segment.IsZero() { // a line of no segment has no ledger row
			keep, err := claimLines(ctx, t, d.Segment, d.Line, []store.Record{r}, s.clock())
			if err != nil || len(keep) == 0 {
				return err
			}
		}
		_, err := t.ExecContext(ctx, `INSERT INTO request_records_dead (segment, line, request_id, time, error, code, record, dead_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, d.Segment[:], d.Line, r.RequestID, micros(r.Time),
			textValue(d.Error, 4096), textValue(d.Code, 16), body, micros(at))
		return err
	})
	if err != nil {
		return fmt.Errorf("insert dead letter: %w", err)
	}
	return nil
}

// textValue returns s as valid UTF-8 without NUL, cut to at most limit
// bytes, for a text column.
func textValue(s string, limit int) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
	if len(s) > limit {
		s = strings.ToValidUTF8(s[:limit], "")
	}
	return s
}

// classify wraps err with store.ErrInvalidRecord when SQLite rejected the
// data (a constraint, a value too big or of the wrong type): retrying the
// same batch fails the same way.
func classify(err error) error {
	switch errCode(err) & 0xff {
	case sqlite3.SQLITE_CONSTRAINT, sqlite3.SQLITE_TOOBIG, sqlite3.SQLITE_MISMATCH:
		return fmt.Errorf("%w: %w", store.ErrInvalidRecord, err)
	}
	return err
}

// recordWhere returns the conditions of f, its cursor included.
func recordWhere(f store.RecordFilter) (where, error) {
	var w where
	if !f.Start.IsZero() {
		w.add("time >= ?", micros(f.Start))
	}
	if !f.End.IsZero() {
		w.add("time < ?", micros(f.End))
	}
	if f.TeamID != "" {
		w.add("team_id = ?", f.TeamID)
	}
	if f.KeyID != "" {
		w.add("key_id = ?", f.KeyID)
	}
	if f.Model != "" {
		w.add("requested_model = ?", f.Model)
	}
	if f.EndUser != "" {
		// The literal lets the planner use the partial index.
		w.add("end_user = ? AND end_user <> ''", f.EndUser)
	}
	if f.ServiceID != "" {
		w.add("service_id = ?", f.ServiceID)
	}
	if f.Status != store.StatusUnspecified {
		w.add("status = ?", int64(f.Status))
	}
	if f.Tag != "" {
		w.add("EXISTS (SELECT 1 FROM json_each(tags) WHERE json_each.value = ?)", f.Tag)
	}
	if f.RequestID != "" {
		w.add("request_id = ?", f.RequestID)
	}
	if f.After != "" {
		at, id, err := store.DecodeCursor(f.After)
		if err != nil {
			return w, err
		}
		w.add("(time, request_id) < (?, ?)", micros(at), id)
	}
	return w, nil
}

// ListRecords returns a page of records, newest first, and the cursor of the
// next page ("" at the end). Model filters on the requested model. A Limit
// outside [1, 1000] means 100 or 1000.
func (s *Store) ListRecords(ctx context.Context, f store.RecordFilter) ([]store.Record, string, error) {
	limit := store.PageSize(f.Limit)
	w, err := recordWhere(f)
	if err != nil {
		return nil, "", fmt.Errorf("list records: %w", err)
	}
	rows, err := s.r.QueryContext(ctx, "SELECT "+recordColumns+" FROM request_records"+w.clause()+
		" ORDER BY time DESC, request_id DESC LIMIT "+strconv.Itoa(limit+1), w.args...)
	rs, err := collect(rows, err, scanRecord)
	if err != nil {
		return nil, "", fmt.Errorf("list records: %w", err)
	}
	next := ""
	if len(rs) > limit {
		rs = rs[:limit]
		last := rs[limit-1]
		next = store.EncodeCursor(last.Time, last.RequestID)
	}
	return rs, next, nil
}

// dimensionExpr returns the SQL expression of dimension d. Only these
// expressions are ever put into summary SQL.
func dimensionExpr(d store.Dimension) (string, bool) {
	switch d {
	// The unary + keeps the planner from walking a column's index to
	// group (a random row lookup per record) instead of scanning the
	// time range and grouping in a temporary b-tree.
	case store.DimTeam:
		return "+r.team_id", true
	case store.DimService:
		return "+r.service_id", true
	case store.DimKey:
		return "+r.key_id", true
	case store.DimModel:
		return "+r.requested_model", true
	case store.DimProvider:
		return "+r.provider", true
	case store.DimEndUser:
		return "+r.end_user", true
	case store.DimTag:
		return "t.value", true
	case store.DimGuardrail:
		return "(json_extract(g.value, '$.policy') || '/' || json_extract(g.value, '$.guardrail') || ':' || json_extract(g.value, '$.action'))", true
	}
	return "", false
}

// Microseconds per bucket.
const (
	hourMicros = int64(time.Hour / time.Microsecond)
	dayMicros  = 24 * hourMicros
)

// summaryQuery returns SummarizeUsage's SQL and arguments for q.
func summaryQuery(q store.SummaryQuery) (string, []any, error) {
	dims := make([]string, len(q.GroupBy))
	for i, d := range q.GroupBy {
		expr, ok := dimensionExpr(d)
		if !ok {
			return "", nil, fmt.Errorf("unknown dimension %q", d)
		}
		dims[i] = expr
	}
	var w where
	if !q.Start.IsZero() {
		w.add("r.time >= ?", micros(q.Start))
	}
	if !q.End.IsZero() {
		w.add("r.time < ?", micros(q.End))
	}
	if q.TeamID != "" {
		w.add("r.team_id = ?", q.TeamID)
	}
	from := " FROM request_records r"
	if slices.Contains(q.GroupBy, store.DimTag) {
		// Every tag of a record is a group; untagged records are the group "".
		from += ", json_each(CASE WHEN json_array_length(r.tags) = 0 THEN '[\"\"]' ELSE r.tags END) AS t"
	}
	if slices.Contains(q.GroupBy, store.DimGuardrail) {
		from += ", json_each(r.guardrails) AS g"
	}
	switch q.Bucket {
	case store.BucketNone:
	case store.BucketHour:
		dims = append([]string{fmt.Sprintf("(r.time - (r.time %% %d + %d) %% %d)", hourMicros, hourMicros, hourMicros)}, dims...)
	case store.BucketDay:
		dims = append([]string{fmt.Sprintf("(r.time - (r.time %% %d + %d) %% %d)", dayMicros, dayMicros, dayMicros)}, dims...)
	default:
		return "", nil, fmt.Errorf("unknown bucket %q", q.Bucket)
	}
	sel := append(slices.Clone(dims), fmt.Sprintf(`count(*),
		coalesce(sum(CASE WHEN r.status <> %d THEN 1 ELSE 0 END), 0),
		coalesce(sum(r.input_tokens), 0),
		coalesce(sum(r.output_tokens), 0),
		coalesce(sum(r.cached_input_tokens), 0),
		coalesce(sum(r.cost_nanos), 0),
		coalesce(sum(CASE WHEN r.cache_status LIKE 'hit-%%' THEN 1 ELSE 0 END), 0),
		coalesce(sum(r.saved_nanos), 0)`, store.StatusOK))
	sql := "SELECT " + strings.Join(sel, ", ") + from + w.clause()
	order := "sum(r.cost_nanos) DESC"
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
	rows, err := s.r.QueryContext(ctx, sql, args...)
	groups, err := collect(rows, err, func(row scanner) (store.UsageGroup, error) {
		g := store.UsageGroup{Keys: make([]string, len(q.GroupBy))}
		dest := make([]any, 0, len(q.GroupBy)+9)
		var bucket int64
		if q.Bucket != store.BucketNone {
			dest = append(dest, &bucket)
		}
		for i := range g.Keys {
			dest = append(dest, &g.Keys[i])
		}
		dest = append(dest, &g.Requests, &g.Errors, &g.InputTokens, &g.OutputTokens, &g.CachedInputTokens, &g.CostNanos,
			&g.CacheHits, &g.SavedNanos)
		if err := row.Scan(dest...); err != nil {
			return g, err
		}
		if q.Bucket != store.BucketNone {
			g.BucketStart = fromMicros(bucket)
		}
		return g, nil
	})
	if err != nil {
		return nil, fmt.Errorf("summarize usage: %w", err)
	}
	return groups, nil
}

// ExportRecords calls fn for every record matching f, oldest first. Rows
// are read in pages of 1000 by keyset, so an export of any size holds no
// read transaction open for long and uses little memory.
func (s *Store) ExportRecords(ctx context.Context, f store.RecordFilter, fn func(*store.Record) error) error {
	f.After = ""
	base, err := recordWhere(f)
	if err != nil {
		return fmt.Errorf("export records: %w", err)
	}
	const page = 1000
	var afterTime int64
	var afterID string
	first := true
	for {
		w := base
		w.conds, w.args = slices.Clone(base.conds), slices.Clone(base.args)
		if !first {
			w.add("(time, request_id) > (?, ?)", afterTime, afterID)
		}
		rows, err := s.r.QueryContext(ctx, "SELECT "+recordColumns+" FROM request_records"+w.clause()+
			" ORDER BY time, request_id LIMIT "+strconv.Itoa(page), w.args...)
		rs, err := collect(rows, err, scanRecord)
		if err != nil {
			return fmt.Errorf("export records: %w", err)
		}
		for i := range rs {
			if err := fn(&rs[i]); err != nil {
				return err
			}
		}
		if len(rs) < page {
			return nil
		}
		last := rs[len(rs)-1]
		afterTime, afterID, first = micros(last.Time), last.RequestID, false
	}
}

// retentionBatch is how many records one retention transaction deletes,
// so that the writer is never held for long.
const retentionBatch = 5000

// DeleteRecordsBefore deletes the records older than t in transactions of
// at most 5,000 rows, so that record writes interleave with it, and
// returns how many it deleted. It is the retention job.
func (s *Store) DeleteRecordsBefore(ctx context.Context, t time.Time) (int64, error) {
	var total int64
	for {
		var n int64
		err := s.write(ctx, func(tx *tx) error {
			res, err := tx.ExecContext(ctx, `DELETE FROM request_records WHERE rowid IN (
				SELECT rowid FROM request_records WHERE time < ? ORDER BY time LIMIT ?)`, micros(t), retentionBatch)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return total, fmt.Errorf("sqlitestore: delete records before %s: %w", t.Format(time.RFC3339), err)
		}
		total += n
		if n < retentionBatch {
			return total, nil
		}
	}
}

// keyUseWindow bounds how far back KeysLastUsed looks, as on PostgreSQL.
const keyUseWindow = 90 * 24 * time.Hour

// KeysLastUsed returns when each of the keys last made a request, from the
// request records of the last 90 days; keys without a record there are
// absent from the map. One index probe per key.
func (s *Store) KeysLastUsed(ctx context.Context, ids []string) (map[string]time.Time, error) {
	out := make(map[string]time.Time, len(ids))
	since := micros(s.clock().Add(-keyUseWindow))
	for _, id := range ids {
		var at sql.NullInt64
		if err := s.r.QueryRowContext(ctx, "SELECT max(time) FROM request_records WHERE key_id = ? AND time > ?", id, since).Scan(&at); err != nil {
			return nil, fmt.Errorf("keys last used: %w", err)
		}
		if at.Valid {
			out[id] = fromMicros(at.Int64)
		}
	}
	return out, nil
}
