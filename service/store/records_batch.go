package store

import (
	"encoding/hex"
	"errors"
	"time"
)

// ErrInvalidRecord means the store rejected a batch because of the data of
// one of its records (a PostgreSQL data exception or integrity violation,
// SQLSTATE classes 22 and 23): retrying the same batch fails the same way.
// The writer splits such a batch to find the record and stores it as a
// DeadLetter.
var ErrInvalidRecord = errors.New("record rejected by the store")

// SegmentID identifies a segment of a gateway's record log (see package
// accounting): a stream of records numbered by line from 0. It is random
// and never reused, so a (segment, line) pair names one record for good.
type SegmentID [16]byte

// IsZero reports whether id is the zero SegmentID.
func (id SegmentID) IsZero() bool { return id == SegmentID{} }

// String returns id in the 8-4-4-4-12 hex form of a UUID.
func (id SegmentID) String() string {
	var b [36]byte
	hex.Encode(b[0:8], id[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], id[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], id[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], id[8:10])
	b[23] = '-'
	hex.Encode(b[24:], id[10:])
	return string(b[:])
}

// RecordBatch is a run of consecutive lines of one segment: Records[i] is
// line First+i. The store remembers which lines of each segment it holds,
// in the same transaction as the records, and skips them when they come
// again, so a batch retried after an error whose outcome was unknown, or
// replayed from the log after a crash, is stored exactly once.
type RecordBatch struct {
	Segment SegmentID
	First   int
	Records []Record
	// Dedupe asks the store to skip records it already holds with the same
	// RequestID and Time, for logs written before segments were numbered
	// (the zero Segment); it is slower.
	Dedupe bool
}

// DeadLetter is a record the store rejected, kept apart with the reason so
// that it never blocks the records after it.
type DeadLetter struct {
	// Segment and Line name the record's place in the log.
	Segment SegmentID
	Line    int
	Record  Record
	// Error is the store's error message; Code its SQLSTATE, if any.
	Error string
	Code  string
	// At is when the record was rejected.
	At time.Time
}
