package pgstore

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Page sizes of ListKeys and ListRecords when the filter's Limit is out of range.
const (
	defaultPageSize = 100
	maxPageSize     = 1000
)

// pageSize returns limit clamped to [1, maxPageSize], defaultPageSize for limit <= 0.
func pageSize(limit int) int {
	switch {
	case limit <= 0:
		return defaultPageSize
	case limit > maxPageSize:
		return maxPageSize
	}
	return limit
}

// queryArgs builds the WHERE clause and arguments of a query.
type queryArgs struct {
	where []string
	args  []any
}

// add appends a condition in which each %s stands for the next of vs.
func (q *queryArgs) add(cond string, vs ...any) {
	ph := make([]any, len(vs))
	for i, v := range vs {
		q.args = append(q.args, v)
		ph[i] = "$" + strconv.Itoa(len(q.args))
	}
	q.where = append(q.where, fmt.Sprintf(cond, ph...))
}

// clause returns " WHERE ..." or "".
func (q *queryArgs) clause() string {
	if len(q.where) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(q.where, " AND ")
}

// encodeCursor returns the opaque cursor of a page ending at (t, id).
func encodeCursor(t time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(t.UnixMicro(), 10) + ":" + id))
}

// decodeCursor parses a cursor made by encodeCursor.
func decodeCursor(c string) (time.Time, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, "", fmt.Errorf("invalid cursor: %w", err)
	}
	micros, id, ok := strings.Cut(string(b), ":")
	us, err := strconv.ParseInt(micros, 10, 64)
	if !ok || err != nil {
		return time.Time{}, "", fmt.Errorf("invalid cursor %q", c)
	}
	return time.UnixMicro(us).UTC(), id, nil
}
