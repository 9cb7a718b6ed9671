package store

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Page sizes when a filter's Limit or a Page's Size is out of range.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// PageSize returns limit clamped to [1, MaxPageSize], DefaultPageSize for
// limit <= 0.
func PageSize(limit int) int {
	switch {
	case limit <= 0:
		return DefaultPageSize
	case limit > MaxPageSize:
		return MaxPageSize
	}
	return limit
}

// EncodeCursor returns the opaque cursor of a page of time-ordered rows
// ending at (t, id). Every store uses this format, so a cursor survives a
// move between them.
func EncodeCursor(t time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(t.UnixMicro(), 10) + ":" + id))
}

// DecodeCursor parses a cursor made by EncodeCursor; a malformed one is
// ErrInvalidCursor.
func DecodeCursor(c string) (time.Time, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, "", fmt.Errorf("%w: %w", ErrInvalidCursor, err)
	}
	micros, id, ok := strings.Cut(string(b), ":")
	us, err := strconv.ParseInt(micros, 10, 64)
	if !ok || err != nil {
		return time.Time{}, "", fmt.Errorf("%w %q", ErrInvalidCursor, c)
	}
	return time.UnixMicro(us).UTC(), id, nil
}
