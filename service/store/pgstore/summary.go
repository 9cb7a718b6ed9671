package pgstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-dev/tollgate/service/store"
)

// dimension is how a store.Dimension is read from the raw records and from
// the rollup tables. Only these names are ever put into summary SQL.
type dimension struct {
	raw    string // column or expression over request_records (and its joins)
	rollup string // column of the rollup tables
}

func dimensionOf(d store.Dimension) (dimension, bool) {
	switch d {
	case store.DimTeam:
		return dimension{"team_id", "team_id"}, true
	case store.DimService:
		return dimension{"service_id", "service_id"}, true
	case store.DimKey:
		return dimension{"key_id", "key_id"}, true
	case store.DimModel:
		return dimension{"requested_model", "model"}, true
	case store.DimProvider:
		return dimension{"provider", "provider"}, true
	case store.DimEndUser:
		return dimension{"end_user", "end_user"}, true
	case store.DimTag:
		return dimension{"tag", "tag"}, true
	case store.DimGuardrail:
		return dimension{"guardrail", "guardrail"}, true
	}
	return dimension{}, false
}

// source is where a span of a summary's time range is read from.
type source int

const (
	fromRecords source = iota // request_records
	fromMinutes               // the *_minute rollups
	fromHours                 // the *_hour rollups, and *_minute for dirty hours
	fromDays                  // the *_day rollups, and hours for days with a dirty hour
)

// span is [from, to) read from src; a zero bound is unbounded.
type span struct {
	src      source
	from, to time.Time
}

// level is a grain of rollups and the source that reads it.
type level struct {
	src   source
	width time.Duration
}

// summarySpans splits [start, end) (zero: unbounded) into whole days (with
// days set), whole hours at either end, whole minutes at either end of
// those, and the partial minutes at the very ends, read from the records.
func summarySpans(start, end time.Time, days bool) []span {
	levels := []level{{fromMinutes, time.Minute}, {fromHours, time.Hour}}
	if days {
		levels = append(levels, level{fromDays, day})
	}
	return splitSpan(fromRecords, start, end, levels)
}

// splitSpan covers [start, end) with the whole units of levels[0] inside
// it, split further by the coarser levels, and reads the rest from src.
func splitSpan(src source, start, end time.Time, levels []level) []span {
	if len(levels) == 0 {
		return []span{{src, start, end}}
	}
	l := levels[0]
	var s, e time.Time // the whole units' bounds; zero: unbounded
	if !start.IsZero() {
		if s = start.Truncate(l.width); s.Before(start) {
			s = s.Add(l.width)
		}
	}
	if !end.IsZero() {
		e = end.Truncate(l.width)
	}
	if !start.IsZero() && !end.IsZero() && !s.Before(e) {
		return []span{{src, start, end}} // no whole unit inside
	}
	var out []span
	if !start.IsZero() && start.Before(s) {
		out = append(out, span{src, start, s})
	}
	out = append(out, splitSpan(l.src, s, e, levels[1:])...)
	if !end.IsZero() && e.Before(end) {
		out = append(out, span{src, e, end})
	}
	return out
}

// summaryMeasures are the columns every part of a summary yields after its
// keys, in the order UsageGroup's fields are scanned.
const (
	rawMeasures = "1, (status <> %d)::int, input_tokens, output_tokens, cached_input_tokens, cost_nanos, " +
		"(cache_status LIKE 'hit-%%')::int, saved_nanos"
	rollupMeasures    = "requests, errors, input_tokens, output_tokens, cached_input_tokens, cost_nanos, cache_hits, saved_nanos"
	negRollupMeasures = "-requests, -errors, -input_tokens, -output_tokens, -cached_input_tokens, -cost_nanos, -cache_hits, -saved_nanos"
	sumMeasures       = "sum(requests)::bigint, sum(errors)::bigint, sum(input_tokens)::bigint, sum(output_tokens)::bigint, " +
		"sum(cached_input_tokens)::bigint, sum(cost_nanos)::bigint, sum(cache_hits)::bigint, sum(saved_nanos)::bigint"
	partColumns = "requests, errors, input_tokens, output_tokens, cached_input_tokens, cost_nanos, cache_hits, saved_nanos"
)

// summaryBuilder assembles SummarizeUsage's SQL: one part per span (and,
// for end users, per table), UNION ALL, summed per group.
type summaryBuilder struct {
	q     store.SummaryQuery
	dims  []dimension
	fam   rollupFamily
	raw   bool // the whole range from request_records
	args  queryArgs
	parts []string
}

// summaryQuery returns SummarizeUsage's SQL and arguments for q.
func summaryQuery(q store.SummaryQuery) (string, []any, error) {
	return buildSummary(q, false)
}

// buildSummary returns the SQL of q reading the rollups where it can, or,
// with rawOnly, the records alone (the reference the tests compare with).
func buildSummary(q store.SummaryQuery, rawOnly bool) (string, []any, error) {
	b := summaryBuilder{q: q, fam: famUsage}
	special := 0
	for _, d := range q.GroupBy {
		dim, ok := dimensionOf(d)
		if !ok {
			return "", nil, fmt.Errorf("unknown dimension %q", d)
		}
		b.dims = append(b.dims, dim)
		switch d {
		case store.DimEndUser:
			b.fam, special = famEndUser, special+1
		case store.DimTag:
			b.fam, special = famTag, special+1
		case store.DimGuardrail:
			b.fam, special = famGuardrail, special+1
		}
	}
	// No rollup holds two of end user, tag and guardrail together.
	b.raw = special > 1 || rawOnly
	switch q.Bucket {
	case store.BucketNone, store.BucketHour, store.BucketDay:
	default:
		return "", nil, fmt.Errorf("unknown bucket %q", q.Bucket)
	}
	spans := []span{{fromRecords, q.Start, q.End}}
	if !b.raw {
		// Daily rollups cannot split days into hourly buckets.
		spans = summarySpans(q.Start, q.End, q.Bucket != store.BucketHour)
	}
	for _, s := range spans {
		if s.src == fromRecords {
			b.addRecords(s)
		} else {
			b.addRollup(s)
		}
	}

	var cols, keys []string
	if q.Bucket != store.BucketNone {
		cols = append(cols, "b")
	}
	for i := range b.dims {
		keys = append(keys, fmt.Sprintf("k%d", i))
	}
	cols = append(cols, keys...)
	group, order := "", "sum(cost_nanos) DESC"
	if len(cols) > 0 {
		group = " GROUP BY " + strings.Join(cols, ", ")
	}
	if q.Bucket != store.BucketNone {
		order = "b, " + order
	}
	if len(keys) > 0 {
		order += ", " + strings.Join(keys, ", ")
	}
	sql := "SELECT " + strings.Join(append(slices.Clone(cols), sumMeasures), ", ") +
		" FROM (" + strings.Join(b.parts, " UNION ALL ") + ") AS u (" + strings.Join(append(cols, partColumns), ", ") + ")" +
		group + " HAVING sum(requests) > 0 ORDER BY " + order
	return sql, b.args.args, nil
}

// where returns " WHERE " and the conditions on column timeCol for s, on
// the team, and the extra ones ("" if none).
func (b *summaryBuilder) where(timeCol string, s span, extra ...string) string {
	w := b.conds(timeCol, s, true)
	if w = append(w, extra...); len(w) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w, " AND ")
}

// conds returns the conditions on column timeCol for s, and on the team
// with team.
func (b *summaryBuilder) conds(timeCol string, s span, team bool) []string {
	var w []string
	add := func(cond string, v any) {
		b.args.args = append(b.args.args, v)
		w = append(w, fmt.Sprintf(cond, fmt.Sprintf("$%d", len(b.args.args))))
	}
	if !s.from.IsZero() {
		add(timeCol+" >= %s", s.from)
	}
	if !s.to.IsZero() {
		add(timeCol+" < %s", s.to)
	}
	if team && b.q.TeamID != "" {
		add("team_id = %s", b.q.TeamID)
	}
	return w
}

// bucketExpr returns the part's time-bucket column, if the query has one.
func (b *summaryBuilder) bucketExpr(timeCol string) []string {
	if b.q.Bucket == store.BucketNone {
		return nil
	}
	// A literal unit and time zone keep the expression plannable.
	return []string{fmt.Sprintf("date_trunc('%s', %s, 'UTC')", b.q.Bucket, timeCol)}
}

// addRecords adds the part reading s from request_records.
func (b *summaryBuilder) addRecords(s span) {
	cols := b.bucketExpr("time")
	for _, d := range b.dims {
		cols = append(cols, d.raw)
	}
	from := " FROM request_records"
	for _, d := range b.q.GroupBy {
		switch d {
		case store.DimTag:
			// Every tag of a record is a group; untagged records are the group "".
			from += " CROSS JOIN LATERAL unnest(CASE WHEN cardinality(tags) = 0 THEN '{\"\"}'::text[] ELSE tags END) AS t(tag)"
		case store.DimGuardrail:
			from += guardrailJoin
		}
	}
	cols = append(cols, fmt.Sprintf(rawMeasures, store.StatusOK))
	b.parts = append(b.parts, "SELECT "+strings.Join(cols, ", ")+from+b.where("time", s))
}

// Conditions on a rollup row's bucket: its hour, or an hour of its day,
// is dirty.
const (
	hourDirty = "EXISTS (SELECT 1 FROM usage_dirty_hours d WHERE d.hour = bucket)"
	dayDirty  = "EXISTS (SELECT 1 FROM usage_dirty_hours d WHERE d.hour >= bucket AND d.hour < bucket + interval '1 day')"
)

// addRollup adds the parts reading s from the family's rollups:
//   - minutes: the minute rows;
//   - hours: the hour rows of clean hours, the minute rows of dirty ones;
//   - days: the day rows of days without a dirty hour, and for the others
//     the hour rows of their clean hours and the minute rows of their dirty
//     ones.
//
// Grouping by end user also reads the records without one: all records
// (usage) less those with one (usage_end_user).
func (b *summaryBuilder) addRollup(s span) {
	part := func(fam rollupFamily, endUser, measures string) {
		cols := b.bucketExpr("bucket")
		for _, d := range b.dims {
			if d.rollup == "end_user" && endUser != "" {
				cols = append(cols, endUser)
			} else {
				cols = append(cols, d.rollup)
			}
		}
		sel := "SELECT " + strings.Join(append(cols, measures), ", ") + " FROM "
		// Built on use only: where allocates parameters.
		dirtyMinutes := func() string {
			return sel + "usage_dirty_hours d JOIN " + fam.table + "_minute ON bucket >= d.hour AND bucket < d.hour + interval '1 hour'" +
				b.where("d.hour", s)
		}
		switch s.src {
		case fromMinutes:
			b.parts = append(b.parts, sel+fam.table+"_minute"+b.where("bucket", s))
		case fromHours:
			b.parts = append(b.parts, sel+fam.table+"_hour"+b.where("bucket", s, "NOT "+hourDirty), dirtyMinutes())
		case fromDays:
			dirtyDays := "(SELECT DISTINCT date_trunc('day', hour, 'UTC') AS day FROM usage_dirty_hours"
			if w := b.conds("hour", s, false); len(w) > 0 {
				dirtyDays += " WHERE " + strings.Join(w, " AND ")
			}
			dirtyDays += ") AS dd"
			b.parts = append(b.parts,
				sel+fam.table+"_day"+b.where("bucket", s, "NOT "+dayDirty),
				sel+dirtyDays+" JOIN "+fam.table+"_hour ON bucket >= dd.day AND bucket < dd.day + interval '1 day'"+
					b.where("", span{}, "NOT "+hourDirty),
				dirtyMinutes())
		}
	}
	part(b.fam, "", rollupMeasures)
	if b.fam == famEndUser {
		part(famUsage, "''", rollupMeasures)
		part(famEndUser, "''", negRollupMeasures)
	}
}

// SummarizeUsage returns one group per distinct combination of the GroupBy
// dimensions' values, most expensive first (ties by the values). DimModel
// groups by the requested model. With no GroupBy it returns one group with
// the totals, or none when no record matches.
//
// Whole hours of the range are read from the hourly rollups, whole minutes
// from the minute rollups and the partial minutes at its ends from the
// records themselves, so the answer is exact for any range and costs
// about the number of groups per hour, not the number of records. Grouping
// by two of end user, tag and guardrail reads the records.
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
