package pgstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-dev/tollgate/service/store"
)

// rollupFamily is a pair of rollup tables (per minute and per hour, see
// migration 0031) with the same dimensions.
type rollupFamily struct {
	// table is the tables' name before _minute or _hour.
	table string
	// extra is the column of the dimension the family adds to team,
	// service, key, model and provider; "" for none.
	extra string
}

// The rollup families, in the order transactions lock their rows.
var (
	famUsage     = rollupFamily{table: "usage"}
	famEndUser   = rollupFamily{table: "usage_end_user", extra: "end_user"}
	famTag       = rollupFamily{table: "usage_tag", extra: "tag"}
	famGuardrail = rollupFamily{table: "usage_guardrail", extra: "guardrail"}
	rollupFams   = [...]rollupFamily{famUsage, famEndUser, famTag, famGuardrail}
)

// rollupGrain is the width of one family's buckets.
type rollupGrain struct {
	suffix string
	width  time.Duration
}

var (
	grainMinute = rollupGrain{suffix: "_minute", width: time.Minute}
	grainHour   = rollupGrain{suffix: "_hour", width: time.Hour}
	grainDay    = rollupGrain{suffix: "_day", width: day}
)

// rollupKey is a row of a rollup table: a bucket and the values of the
// family's dimensions.
type rollupKey struct {
	bucket                             int64 // Unix seconds
	team, service, key, model, provide string
	extra                              string
}

func (a rollupKey) compare(b rollupKey) int {
	return cmp.Or(cmp.Compare(a.bucket, b.bucket), strings.Compare(a.team, b.team), strings.Compare(a.service, b.service),
		strings.Compare(a.key, b.key), strings.Compare(a.model, b.model), strings.Compare(a.provide, b.provide),
		strings.Compare(a.extra, b.extra))
}

// rollupSums are a row's measures, as SummarizeUsage reports them.
type rollupSums struct {
	requests, errors, input, output, cached, cost, hits, saved int64
}

func (s *rollupSums) addRecord(r *store.Record) {
	s.requests++
	if r.Status != store.StatusOK {
		s.errors++
	}
	s.input += r.InputTokens
	s.output += r.OutputTokens
	s.cached += r.CachedInputTokens
	s.cost += r.CostNanos
	if strings.HasPrefix(r.CacheStatus, "hit-") {
		s.hits++
	}
	s.saved += r.SavedNanos
}

// rollupDelta is what a batch of records adds to one family at one grain.
type rollupDelta map[rollupKey]*rollupSums

func (d rollupDelta) add(k rollupKey, f func(*rollupSums)) {
	s := d[k]
	if s == nil {
		s = new(rollupSums)
		d[k] = s
	}
	f(s)
}

// rollupDeltas computes what rs add to every family per minute, indexed
// like rollupFams, and the hours they touch (Unix seconds, sorted).
func rollupDeltas(rs []store.Record) (minute [len(rollupFams)]rollupDelta, hours []int64) {
	for i := range minute {
		minute[i] = make(rollupDelta)
	}
	for i := range rs {
		r := &rs[i]
		k := rollupKey{
			bucket: r.Time.Truncate(time.Minute).Unix(),
			team:   r.TeamID, service: r.ServiceID, key: r.KeyID, model: r.RequestedModel, provide: r.Provider,
		}
		if h := k.bucket - k.bucket%3600; !slices.Contains(hours, h) {
			hours = append(hours, h)
		}
		add := func(s *rollupSums) { s.addRecord(r) }
		minute[0].add(k, add)
		if r.EndUser != "" {
			k.extra = r.EndUser
			minute[1].add(k, add)
		}
		k.extra = ""
		if len(r.Tags) == 0 {
			minute[2].add(k, add)
		}
		for _, tag := range r.Tags {
			k.extra = tag
			minute[2].add(k, add)
		}
		for j := range r.Guardrails {
			v := &r.Guardrails[j]
			k.extra = v.Policy + "/" + v.Guardrail + ":" + v.Action
			minute[3].add(k, add)
		}
	}
	slices.Sort(hours)
	return minute, hours
}

// upsertSQL returns the statement that adds unnested arrays to a rollup
// table.
func upsertSQL(f rollupFamily, g rollupGrain) string {
	dims := "bucket, team_id, service_id, key_id, model, provider"
	types := "$1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]"
	n := 7
	if f.extra != "" {
		dims += ", " + f.extra
		types += ", $7::text[]"
		n = 8
	}
	measures := []string{"requests", "errors", "input_tokens", "output_tokens", "cached_input_tokens", "cost_nanos", "cache_hits", "saved_nanos"}
	var set []string
	for i, m := range measures {
		types += fmt.Sprintf(", $%d::bigint[]", n+i)
		set = append(set, m+" = r."+m+" + excluded."+m)
	}
	return "INSERT INTO " + f.table + g.suffix + " AS r (" + dims + ", " + strings.Join(measures, ", ") + ") SELECT * FROM unnest(" + types +
		") ON CONFLICT (" + dims + ") DO UPDATE SET " + strings.Join(set, ", ")
}

// upsertMinute are the statements that add to the minute rollups, by
// family.
var upsertMinute [len(rollupFams)]string

func init() {
	for i, f := range rollupFams {
		upsertMinute[i] = upsertSQL(f, grainMinute)
	}
}

// markDirtySQL marks hours whose hourly rollups lag behind. It always
// writes the row, so that the transaction holds its lock until it commits
// (see CompactUsage).
const markDirtySQL = "INSERT INTO usage_dirty_hours (hour) SELECT unnest($1::timestamptz[]) " +
	"ON CONFLICT (hour) DO UPDATE SET touched_at = excluded.touched_at"

// upsertArgs returns d's rows as the arrays of upsertSQL, sorted by key so
// that concurrent transactions lock rows in the same order.
func upsertArgs(d rollupDelta, extra bool) []any {
	keys := make([]rollupKey, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, rollupKey.compare)
	n := len(keys)
	buckets := make([]time.Time, n)
	var dims [6][]string
	for i := range dims {
		dims[i] = make([]string, n)
	}
	var ms [8][]int64
	for i := range ms {
		ms[i] = make([]int64, n)
	}
	for i, k := range keys {
		buckets[i] = time.Unix(k.bucket, 0).UTC()
		dims[0][i], dims[1][i], dims[2][i], dims[3][i], dims[4][i], dims[5][i] = k.team, k.service, k.key, k.model, k.provide, k.extra
		s := d[k]
		for j, v := range [...]int64{s.requests, s.errors, s.input, s.output, s.cached, s.cost, s.hits, s.saved} {
			ms[j][i] = v
		}
	}
	args := []any{buckets, dims[0], dims[1], dims[2], dims[3], dims[4]}
	if extra {
		args = append(args, dims[5])
	}
	for _, m := range ms {
		args = append(args, m)
	}
	return args
}

// addToRollups adds rs to the minute rollups and then marks the hours
// they touch dirty, in one round trip. Rows are locked in one order by
// every transaction (families in order, keys sorted, then hours sorted),
// so concurrent batches cannot deadlock.
func addToRollups(ctx context.Context, tx pgx.Tx, rs []store.Record) error {
	minute, hours := rollupDeltas(rs)
	var b pgx.Batch
	for i, f := range rollupFams {
		if len(minute[i]) > 0 {
			b.Queue(upsertMinute[i], upsertArgs(minute[i], f.extra != "")...)
		}
	}
	if len(hours) > 0 {
		hs := make([]time.Time, len(hours))
		for i, h := range hours {
			hs[i] = time.Unix(h, 0).UTC()
		}
		b.Queue(markDirtySQL, hs)
	}
	if b.Len() == 0 {
		return nil
	}
	res := tx.SendBatch(ctx, &b)
	var err error
	for range b.Len() {
		if _, e := res.Exec(); e != nil {
			err = e
			break
		}
	}
	if err := errors.Join(err, res.Close()); err != nil {
		return fmt.Errorf("update usage rollups: %w", err)
	}
	return nil
}

// compactLockKey is the pg_try_advisory_lock key that lets one replica at
// a time compact the rollups ("tgcompct" in ASCII).
const compactLockKey int64 = 0x7467636f6d706374

// CompactUsage brings the hourly usage rollups of the dirty hours that
// ended before t up to date from the minute rollups, recomputes the daily
// rollups of the days left without dirty hours, and returns the number of
// hours it compacted. Summaries are exact whether or not it runs: they read
// a dirty hour from the minute rollups and a day with a dirty hour from its
// hours; compacting only makes them cheaper. When another replica is
// compacting it returns at once.
//
// The hours of one day are compacted in one transaction that first locks
// their dirty rows, which waits for the batches that marked them and are
// still in flight, then recomputes the hours from the minute rows
// committed by then, deletes the rows, and recomputes the day from its
// hours if no hour of it is dirty any more. A batch that commits minute rows
// of such an hour meanwhile blocks on its row and marks the hour dirty
// again once the compaction commits. Only compaction writes hour and day
// rows, one replica at a time, so a day's rows are the sum of its hours'
// whenever none of them is dirty.
func (s *Store) CompactUsage(ctx context.Context, before time.Time) (int, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return 0, fmt.Errorf("pgstore: compact usage: %w", err)
	}
	defer conn.Release()
	var locked bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", compactLockKey).Scan(&locked); err != nil {
		return 0, fmt.Errorf("pgstore: compact usage: %w", err)
	}
	if !locked {
		return 0, nil
	}
	defer func() {
		_, _ = conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", compactLockKey)
	}()
	rows, _ := conn.Query(ctx, "SELECT hour FROM usage_dirty_hours WHERE hour + interval '1 hour' <= $1 ORDER BY hour", before)
	hours, err := pgx.CollectRows(rows, pgx.RowTo[time.Time])
	if err != nil {
		return 0, fmt.Errorf("pgstore: compact usage: %w", err)
	}
	done := 0
	for len(hours) > 0 {
		d := dayOf(hours[0])
		n := 1
		for n < len(hours) && dayOf(hours[n]).Equal(d) {
			n++
		}
		if err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error { return compactDay(ctx, tx, d, hours[:n]) }); err != nil {
			return done, fmt.Errorf("pgstore: compact usage of %s: %w", d.Format(time.DateOnly), err)
		}
		done += n
		hours = hours[n:]
	}
	return done, nil
}

// compactSQL are the statements that recompute a family's hour from its
// minutes and its day from its hours, by family.
var compactSQL [len(rollupFams)]struct{ deleteHour, insertHour, deleteDay, insertDay string }

func init() {
	for i, f := range rollupFams {
		dims := "team_id, service_id, key_id, model, provider"
		if f.extra != "" {
			dims += ", " + f.extra
		}
		from := func(table, width string) string {
			return "SELECT $1::timestamptz, " + dims + ", " + sumMeasures + " FROM " + table +
				" WHERE bucket >= $1 AND bucket < $1::timestamptz + interval '" + width + "' GROUP BY " + dims
		}
		c := &compactSQL[i]
		c.deleteHour = "DELETE FROM " + f.table + "_hour WHERE bucket = $1"
		c.insertHour = "INSERT INTO " + f.table + "_hour (bucket, " + dims + ", " + rollupMeasures + ") " + from(f.table+"_minute", "1 hour")
		c.deleteDay = "DELETE FROM " + f.table + "_day WHERE bucket = $1"
		c.insertDay = "INSERT INTO " + f.table + "_day (bucket, " + dims + ", " + rollupMeasures + ") " + from(f.table+"_hour", "1 day")
	}
}

// compactDay compacts the dirty hours of day d in tx (see CompactUsage).
func compactDay(ctx context.Context, tx pgx.Tx, d time.Time, hours []time.Time) error {
	rows, _ := tx.Query(ctx, "SELECT hour FROM usage_dirty_hours WHERE hour = ANY($1) ORDER BY hour FOR UPDATE", hours)
	locked, err := pgx.CollectRows(rows, pgx.RowTo[time.Time])
	if err != nil || len(locked) == 0 {
		return err // none: compacted meanwhile
	}
	var b pgx.Batch
	for _, h := range locked {
		for _, c := range compactSQL {
			b.Queue(c.deleteHour, h)
			b.Queue(c.insertHour, h)
		}
	}
	b.Queue("DELETE FROM usage_dirty_hours WHERE hour = ANY($1)", locked)
	if err := tx.SendBatch(ctx, &b).Close(); err != nil {
		return err
	}
	var dirty bool
	if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM usage_dirty_hours WHERE hour >= $1 AND hour < $1::timestamptz + interval '1 day')",
		d).Scan(&dirty); err != nil || dirty {
		return err // the day is recomputed when its last dirty hour is
	}
	b = pgx.Batch{}
	for _, c := range compactSQL {
		b.Queue(c.deleteDay, d)
		b.Queue(c.insertDay, d)
	}
	return tx.SendBatch(ctx, &b).Close()
}
