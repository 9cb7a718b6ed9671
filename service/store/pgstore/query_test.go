package pgstore

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-dev/tollgate/internal/pgtest"
	"github.com/tollgate-dev/tollgate/service/store"
)

func TestParseChange(t *testing.T) {
	t.Parallel()
	tests := []struct {
		payload string
		want    store.Change
		ok      bool
	}{
		{"key:k1", store.Change{Kind: store.ChangeKey, ID: "k1"}, true},
		{"model:org/model:v2", store.Change{Kind: store.ChangeModel, ID: "org/model:v2"}, true},
		{"provider:p", store.Change{Kind: store.ChangeProvider, ID: "p"}, true},
		{"team:", store.Change{Kind: store.ChangeTeam, ID: ""}, true},
		{"budget:b1", store.Change{Kind: store.ChangeBudget, ID: "b1"}, true},
		{"rate_limit:r1", store.Change{Kind: store.ChangeRateLimit, ID: "r1"}, true},
		{"quota:q1", store.Change{}, false},
		{"resync:x", store.Change{}, false},
		{"garbage", store.Change{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.payload, func(t *testing.T) {
			t.Parallel()
			got, ok := parseChange(tt.payload)
			if got != tt.want || ok != tt.ok {
				t.Errorf("parseChange(%q) = %+v, %v; want %+v, %v", tt.payload, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestCursor(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 4, 5, 6, 7, 891011000, time.UTC)
	tests := []struct {
		name string
		id   string
	}{
		{"plain", "k1"},
		{"colon in id", "a:b:c"},
		{"empty id", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			gotAt, gotID, err := store.DecodeCursor(store.EncodeCursor(at, tt.id))
			if err != nil || !gotAt.Equal(at) || gotID != tt.id {
				t.Errorf("round trip = %v, %q, %v; want %v, %q", gotAt, gotID, err, at, tt.id)
			}
		})
	}
	for _, bad := range []string{"!!", "bm9jb2xvbg", "eDp5"} { // invalid base64, "nocolon", "x:y"
		if _, _, err := store.DecodeCursor(bad); err == nil {
			t.Errorf("store.DecodeCursor(%q): nil error", bad)
		}
	}
}

func TestSummaryQueryRejectsUnknownDimension(t *testing.T) {
	t.Parallel()
	_, _, err := summaryQuery(store.SummaryQuery{GroupBy: []store.Dimension{"team_id; DROP TABLE teams"}})
	if err == nil {
		t.Fatal("summaryQuery with an unknown dimension: nil error")
	}
}

// TestQueriesUseIndexes checks that each filtered ListRecords and
// SummarizeUsage query, planned generically as prepared statements are,
// can use an index instead of scanning whole partitions.
func TestQueriesUseIndexes(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, err := Open(ctx, pgtest.NewMigratedDatabase(t), WithMaxConns(2))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(s.Close)
	after := store.EncodeCursor(time.Now(), "r1")
	start, end := time.Now().Add(-time.Hour), time.Now()
	cases := []struct {
		name  string
		f     store.RecordFilter
		index string
		// sorts allows a sort of the matching rows: a filter on a column
		// records have no index on may be served by scanning the time
		// index's range and sorting what matches.
		sorts bool
	}{
		{"team", store.RecordFilter{TeamID: "t", After: after}, `_team_id_time_idx`, false},
		// ListRecords adds the key's team (narrowByKey) when it knows it.
		{"key and its team", store.RecordFilter{TeamID: "t", KeyID: "k", Start: start, End: end}, `_team_id_time_idx`, false},
		{"key", store.RecordFilter{KeyID: "k", Start: start, End: end}, `_(p\d{8}|default)_time_idx`, true},
		{"model", store.RecordFilter{Model: "m", After: after}, `_(p\d{8}|default)_time_idx`, true},
		{"end user", store.RecordFilter{EndUser: "u", After: after}, `_end_user_time_idx`, false},
		{"time only", store.RecordFilter{Start: start, After: after}, `_(p\d{8}|default)_time_idx`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			sql, args, err := listRecordsQuery(c.f, 10)
			if err != nil {
				t.Fatal(err)
			}
			plan := explain(ctx, t, s, sql, args)
			if !regexp.MustCompile(c.index).MatchString(plan) {
				t.Errorf("plan does not use %s:\n%s", c.index, plan)
			}
			// The page comes in index order: no sort of all matching rows
			// (an incremental sort of the rows of one time is fine).
			if !c.sorts && (strings.Contains(plan, "->  Sort") || strings.HasPrefix(plan, "Sort")) {
				t.Errorf("plan sorts:\n%s", plan)
			}
		})
	}
	keyCases := []struct {
		name  string
		f     store.KeyFilter
		index string
	}{
		{"keys", store.KeyFilter{After: after}, "virtual_keys_created_at_id_idx"},
		{"keys of team", store.KeyFilter{TeamID: "t", IncludeRevoked: true, After: after}, "virtual_keys_team_id_created_at_id_idx"},
	}
	for _, c := range keyCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			sql, args, err := listKeysQuery(c.f, 10)
			if err != nil {
				t.Fatal(err)
			}
			if plan := explain(ctx, t, s, sql, args); !strings.Contains(plan, c.index) {
				t.Errorf("plan does not use %s:\n%s", c.index, plan)
			}
		})
	}
	t.Run("summary by team", func(t *testing.T) {
		t.Parallel()
		sql, args, err := summaryQuery(store.SummaryQuery{TeamID: "t", Start: start, End: end, GroupBy: []store.Dimension{store.DimKey}})
		if err != nil {
			t.Fatal(err)
		}
		// An hour to the second: whole minutes from the rollups, the rest
		// from the records, both through an index.
		plan := explain(ctx, t, s, sql, args)
		if !strings.Contains(plan, "_team_id_time_idx") || !strings.Contains(plan, "usage_minute_pkey") {
			t.Errorf("plan does not use the team index and the minute rollups' key:\n%s", plan)
		}
	})
}

// explain returns the generic plan of sql with sequential scans disabled,
// so that it shows whether an index is usable at all.
func explain(ctx context.Context, t *testing.T, s *Store, sql string, args []any) string {
	t.Helper()
	var plan []string
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for _, set := range []string{"SET LOCAL enable_seqscan = off", "SET LOCAL plan_cache_mode = force_generic_plan"} {
			if _, err := tx.Exec(ctx, set); err != nil {
				return err
			}
		}
		if _, err := tx.Prepare(ctx, "explained", sql); err != nil {
			return err
		}
		defer tx.Conn().Deallocate(context.WithoutCancel(ctx), "explained")
		rows, _ := tx.Query(ctx, "EXPLAIN EXECUTE explained("+literals(args)+")")
		var err error
		plan, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		t.Fatalf("explain %s: %v", sql, err)
	}
	t.Logf("%s\n%s", sql, strings.Join(plan, "\n"))
	return strings.Join(plan, "\n")
}

// literals returns args as SQL literals (EXPLAIN EXECUTE takes no parameters).
func literals(args []any) string {
	ls := make([]string, len(args))
	for i, a := range args {
		v := fmt.Sprint(a)
		if tm, ok := a.(time.Time); ok {
			v = tm.Format(time.RFC3339Nano)
		}
		ls[i] = "'" + strings.ReplaceAll(v, "'", "''") + "'"
	}
	return strings.Join(ls, ", ")
}
