package pgstore

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tollgate-dev/tollgate/service/store"
)

// copyColumns is recordColumns as COPY wants them.
var copyColumns = strings.Split(recordColumns, ", ")

// segmentLockClass is the first key of the pg_advisory_xact_lock(int, int)
// that serialises the batches of one segment ("tgsg" in ASCII); the second
// is derived from the segment id.
const segmentLockClass int32 = 0x74677367

// InsertRecords stores b in one transaction: the ledger rows of its lines
// (record_batches), the records, COPYed straight into their day's
// partition, and their totals added to the usage rollups. Lines of b's
// segment that the ledger already holds are skipped, so a retried or
// replayed batch is stored exactly once; the segment's batches are
// serialised by an advisory lock so that a retry cannot race an attempt
// still running. A zero Segment has no ledger: such a batch is stored as
// it is, or, with Dedupe, less the records already stored with the same
// RequestID and Time.
//
// Records are sanitised (store.Record.Sanitize) on a copy if they need it,
// and times are stored with microsecond precision. Partitions of days not
// seen yet are created first; if that fails the rows go to the default
// partition and the failure is logged. A data error (SQLSTATE class 22 or
// 23) wraps store.ErrInvalidRecord.
func (s *Store) InsertRecords(ctx context.Context, b store.RecordBatch) error {
	if len(b.Records) == 0 {
		return nil
	}
	rs := prepareRecords(b.Records)
	s.ensureBatchDays(ctx, rs)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		keep := rs
		if !b.Segment.IsZero() {
			var err error
			if keep, err = claimLines(ctx, tx, b.Segment, b.First, rs); err != nil || len(keep) == 0 {
				return err
			}
		}
		if b.Dedupe {
			var err error
			if keep, err = withoutStored(ctx, tx, keep); err != nil || len(keep) == 0 {
				return err
			}
		}
		if err := s.copyRecords(ctx, tx, keep); err != nil {
			return err
		}
		return addToRollups(ctx, tx, keep)
	})
	if err != nil {
		return fmt.Errorf("insert %d records: %w", len(rs), classify(err))
	}
	return nil
}

// prepareRecords returns rs with every record sanitised, copying rs only
// if a record needs it. (Times need no rounding: the database truncates
// them to the microsecond, which moves no record across a minute.)
func prepareRecords(rs []store.Record) []store.Record {
	out, copied := rs, false
	for i := range rs {
		r := &rs[i]
		if r.Clean() {
			continue
		}
		if !copied {
			out, copied = slices.Clone(rs), true
		}
		out[i].Sanitize()
	}
	return out
}

// ensureBatchDays creates the partitions of rs's days not known to exist.
// A failure is logged, not returned: the default partition takes the
// rows, and the next batch tries again.
func (s *Store) ensureBatchDays(ctx context.Context, rs []store.Record) {
	var missing []time.Time
	for i := range rs {
		if d := dayOf(rs[i].Time); !s.parts.has(d) && !slices.ContainsFunc(missing, d.Equal) {
			missing = append(missing, d)
		}
	}
	if err := s.ensureDays(ctx, missing); err != nil && ctx.Err() == nil {
		s.logger.WarnContext(ctx, "pgstore: insert records: rows go to the default partition", slog.Any("error", err))
	}
}

// claimLines takes the segment's lock, records in the ledger the lines of
// rs (rs[i] is line first+i) that it does not hold yet, and returns the
// records of those lines.
func claimLines(ctx context.Context, tx pgx.Tx, seg store.SegmentID, first int, rs []store.Record) ([]store.Record, error) {
	n := len(rs)
	var b pgx.Batch
	b.Queue("SELECT pg_advisory_xact_lock($1, $2)", segmentLockClass, int32(binary.BigEndian.Uint32(seg[12:])))
	b.Queue("SELECT first, count FROM record_batches WHERE segment = $1 AND first < $2 AND first + count > $3",
		seg, first+n, first)
	res := tx.SendBatch(ctx, &b)
	if _, err := res.Exec(); err != nil {
		res.Close()
		return nil, fmt.Errorf("lock segment: %w", err)
	}
	rows, _ := res.Query()
	var held []lineRange
	var r lineRange
	_, err := pgx.ForEachRow(rows, []any{&r.first, &r.count}, func() error {
		held = append(held, r)
		return nil
	})
	if err := errors.Join(err, res.Close()); err != nil {
		return nil, fmt.Errorf("read ledger: %w", err)
	}

	runs := []lineRange{{first, n}}
	keep := rs
	if len(held) > 0 {
		runs, keep = uncovered(first, rs, held)
		if len(runs) == 0 {
			return nil, nil
		}
	}
	starts, counts := make([]int32, len(runs)), make([]int32, len(runs))
	for i, r := range runs {
		starts[i], counts[i] = int32(r.first), int32(r.count)
	}
	if _, err := tx.Exec(ctx, "INSERT INTO record_batches (segment, first, count) SELECT $1, * FROM unnest($2::int[], $3::int[])",
		seg, starts, counts); err != nil {
		return nil, fmt.Errorf("write ledger: %w", err)
	}
	return keep, nil
}

// lineRange is the lines [first, first+count) of a segment.
type lineRange struct{ first, count int }

// uncovered returns the runs of lines of rs (rs[i] is line first+i) that
// no range of held covers, and their records.
func uncovered(first int, rs []store.Record, held []lineRange) ([]lineRange, []store.Record) {
	stored := make([]bool, len(rs))
	for _, h := range held {
		for l := max(h.first, first); l < min(h.first+h.count, first+len(rs)); l++ {
			stored[l-first] = true
		}
	}
	var runs []lineRange
	var keep []store.Record
	for i := 0; i < len(rs); {
		if stored[i] {
			i++
			continue
		}
		j := i
		for j < len(rs) && !stored[j] {
			j++
		}
		runs = append(runs, lineRange{first + i, j - i})
		keep = append(keep, rs[i:j]...)
		i = j
	}
	return runs, keep
}

// withoutStored returns rs less the records already stored with the same
// RequestID and Time (served by the time index).
func withoutStored(ctx context.Context, tx pgx.Tx, rs []store.Record) ([]store.Record, error) {
	times, ids := make([]time.Time, len(rs)), make([]string, len(rs))
	for i := range rs {
		times[i], ids[i] = rs[i].Time, rs[i].RequestID
	}
	rows, _ := tx.Query(ctx, `SELECT r.time, r.request_id FROM request_records r
		JOIN unnest($1::timestamptz[], $2::text[]) AS u(time, request_id) ON r.time = u.time AND r.request_id = u.request_id`, times, ids)
	type key struct {
		t  int64
		id string
	}
	have := make(map[key]bool)
	var t time.Time
	var id string
	if _, err := pgx.ForEachRow(rows, []any{&t, &id}, func() error {
		have[key{t.UnixMicro(), id}] = true
		return nil
	}); err != nil {
		return nil, fmt.Errorf("find stored records: %w", err)
	}
	keep := make([]store.Record, 0, len(rs))
	for _, r := range rs {
		k := key{r.Time.UnixMicro(), r.RequestID}
		if !have[k] {
			keep = append(keep, r)
			have[k] = true // and once only within the batch
		}
	}
	return keep, nil
}

// copyRecords COPYs rs into the partitions of their days, or into the
// partitioned table (which routes them) for days without a known
// partition. Encoding a batch yields the CPU every copyYieldRows rows.
func (s *Store) copyRecords(ctx context.Context, tx pgx.Tx, rs []store.Record) error {
	start := 0
	var row []any
	for start < len(rs) {
		// Records arrive in about time order: copy runs of one day.
		d := dayOf(rs[start].Time)
		end := start + 1
		for end < len(rs) && dayOf(rs[end].Time).Equal(d) {
			end++
		}
		table := "request_records"
		if s.parts.has(d) {
			table = partitionName(d)
		}
		run := rs[start:end]
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{table}, copyColumns,
			pgx.CopyFromSlice(len(run), func(i int) ([]any, error) {
				if i > 0 && i%copyYieldRows == 0 {
					runtime.Gosched()
				}
				row = recordValues(row, &run[i])
				return row, nil
			}),
		); err != nil {
			return fmt.Errorf("copy into %s: %w", table, err)
		}
		start = end
	}
	return nil
}

// copyYieldRows is how many rows copyRecords encodes before it lets
// other goroutines run. A batch of thousands of records takes several
// milliseconds of CPU to encode; without yielding, the flush holds a
// CPU for that long (the scheduler preempts only after 10 ms), and on a
// replica with one CPU or a fractional quota every request waits behind
// it: measured at twice the capacity with 0.6 CPU, the admitted
// requests' latency peaked every second, at each flush.
const copyYieldRows = 64

// InsertDeadLetter stores d in request_records_dead and its line in the
// ledger, in one transaction; a line the ledger already holds is skipped.
// A dead letter of the zero Segment (a log without line identity) is
// always stored.
func (s *Store) InsertDeadLetter(ctx context.Context, d store.DeadLetter) error {
	r := d.Record
	r.Sanitize()
	body, err := json.Marshal(&r)
	if err != nil {
		return fmt.Errorf("insert dead letter: %w", err)
	}
	msg, code := textValue(d.Error, 4096), textValue(d.Code, 16)
	at := d.At
	if at.IsZero() {
		at = time.Now()
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if !d.Segment.IsZero() { // a line of no segment has no ledger row
			keep, err := claimLines(ctx, tx, d.Segment, d.Line, []store.Record{r})
			if err != nil || len(keep) == 0 {
				return err
			}
		}
		_, err = tx.Exec(ctx, `INSERT INTO request_records_dead (segment, line, request_id, time, error, code, record, dead_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, d.Segment, d.Line, r.RequestID, r.Time, msg, code, body, at)
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

// classify wraps err with store.ErrInvalidRecord when the database
// rejected the data (SQLSTATE classes 22 and 23).
func classify(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (strings.HasPrefix(pe.Code, "22") || strings.HasPrefix(pe.Code, "23")) {
		return fmt.Errorf("%w: %w", store.ErrInvalidRecord, err)
	}
	return err
}
