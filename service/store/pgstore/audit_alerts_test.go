package pgstore_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/pgtest"
	"github.com/tollgate-dev/tollgate/service/store"
)

func TestAuditLog(t *testing.T) {
	t.Parallel()
	s := open(t, pgtest.NewMigratedDatabase(t))
	ctx := t.Context()
	base := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for i, a := range []string{"CreateKey", "RevokeKey", "CreateKey"} {
		e := &store.AuditEvent{Time: base.Add(time.Duration(i) * time.Minute), Actor: "admin-token", Action: a,
			ResourceKind: "key", ResourceID: "k" + string(rune('1'+i)), Summary: `{"id":"x"}`, Outcome: "ok"}
		if err := s.AppendAuditEvent(ctx, e); err != nil {
			t.Fatalf("AppendAuditEvent: %v", err)
		}
		if e.ID == 0 {
			t.Fatal("AppendAuditEvent did not set ID")
		}
	}
	tests := []struct {
		name string
		f    store.AuditFilter
		want []string // resource ids, newest first
	}{
		{"all", store.AuditFilter{Limit: 10}, []string{"k3", "k2", "k1"}},
		{"by action", store.AuditFilter{Action: "CreateKey", Limit: 10}, []string{"k3", "k1"}},
		{"by resource", store.AuditFilter{ResourceKind: "key", ResourceID: "k2", Limit: 10}, []string{"k2"}},
		{"time range", store.AuditFilter{Start: base.Add(time.Minute), End: base.Add(2 * time.Minute), Limit: 10}, []string{"k2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			es, next, err := s.ListAuditEvents(ctx, tt.f)
			if err != nil || next != "" {
				t.Fatalf("ListAuditEvents: %v, next %q", err, next)
			}
			var got []string
			for _, e := range es {
				got = append(got, e.ResourceID)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("pages", func(t *testing.T) {
		t.Parallel()
		var got []string
		after := ""
		for range 5 {
			es, next, err := s.ListAuditEvents(ctx, store.AuditFilter{Limit: 2, After: after})
			if err != nil {
				t.Fatalf("ListAuditEvents: %v", err)
			}
			for _, e := range es {
				got = append(got, e.ResourceID)
			}
			if next == "" {
				break
			}
			after = next
		}
		if !slices.Equal(got, []string{"k3", "k2", "k1"}) {
			t.Errorf("paged = %v", got)
		}
	})
}

func TestAlertStore(t *testing.T) {
	t.Parallel()
	s := open(t, pgtest.NewMigratedDatabase(t))
	ctx := t.Context()
	w := &store.AlertWebhook{ID: "ops", URL: "https://hooks.example.test/x", Kinds: []string{"spend_velocity"}, SealedSecret: []byte("sealed")}
	if err := s.CreateAlertWebhook(ctx, w); err != nil {
		t.Fatalf("CreateAlertWebhook: %v", err)
	}
	if err := s.CreateAlertWebhook(ctx, w); !errors.Is(err, store.ErrConflict) {
		t.Errorf("duplicate CreateAlertWebhook = %v, want ErrConflict", err)
	}
	ws, err := s.ListAlertWebhooks(ctx)
	if err != nil || len(ws) != 1 || ws[0].URL != w.URL || !slices.Equal(ws[0].Kinds, w.Kinds) || string(ws[0].SealedSecret) != "sealed" {
		t.Fatalf("ListAlertWebhooks = %+v, %v", ws, err)
	}
	period := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	steps := []struct {
		name    string
		release bool
		want    bool
	}{
		{"first claim wins", false, true},
		{"second claim loses", false, false},
		{"claim after release wins", true, true},
	}
	for _, st := range steps {
		if st.release {
			if err := s.ReleaseAlert(ctx, "budget:b1", period, 80); err != nil {
				t.Fatalf("ReleaseAlert: %v", err)
			}
		}
		got, err := s.ClaimAlert(ctx, "budget:b1", period, 80)
		if err != nil || got != st.want {
			t.Errorf("%s: ClaimAlert = %v, %v; want %v", st.name, got, err, st.want)
		}
	}
	if ok, _ := s.ClaimAlert(ctx, "budget:b1", period.AddDate(0, 1, 0), 80); !ok {
		t.Error("a new period's claim lost")
	}
	if err := s.DeleteAlertWebhook(ctx, "ops", 0); err != nil {
		t.Fatalf("DeleteAlertWebhook: %v", err)
	}
	if err := s.DeleteAlertWebhook(ctx, "ops", 0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second DeleteAlertWebhook = %v, want ErrNotFound", err)
	}
}

func TestSummarizeByTagAndBucket(t *testing.T) {
	t.Parallel()
	s := open(t, pgtest.NewMigratedDatabase(t))
	ctx := t.Context()
	day := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	rs := []store.Record{
		{RequestID: "r1", Time: day.Add(10 * time.Minute), TeamID: "t", Tags: []string{"a", "b"}, CostNanos: 10, Status: store.StatusOK},
		{RequestID: "r2", Time: day.Add(70 * time.Minute), TeamID: "t", Tags: []string{"a"}, CostNanos: 5, Status: store.StatusOK},
		{RequestID: "r3", Time: day.Add(75 * time.Minute), TeamID: "t", CostNanos: 1, Status: store.StatusUpstreamError},
	}
	if err := s.InsertRecords(ctx, batchOf(rs)); err != nil {
		t.Fatalf("InsertRecords: %v", err)
	}
	type row struct {
		bucket   time.Time
		key      string
		requests int64
		cost     int64
	}
	tests := []struct {
		name string
		q    store.SummaryQuery
		want []row
	}{
		{"tag", store.SummaryQuery{GroupBy: []store.Dimension{store.DimTag}},
			[]row{{time.Time{}, "a", 2, 15}, {time.Time{}, "b", 1, 10}, {time.Time{}, "", 1, 1}}},
		{"hourly", store.SummaryQuery{Bucket: store.BucketHour},
			[]row{{day, "", 1, 10}, {day.Add(time.Hour), "", 2, 6}}},
		{"daily by tag", store.SummaryQuery{Bucket: store.BucketDay, GroupBy: []store.Dimension{store.DimTag}},
			[]row{{day, "a", 2, 15}, {day, "b", 1, 10}, {day, "", 1, 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.q.Start, tt.q.End = day, day.Add(24*time.Hour)
			gs, err := s.SummarizeUsage(ctx, tt.q)
			if err != nil {
				t.Fatalf("SummarizeUsage: %v", err)
			}
			var got []row
			for _, g := range gs {
				got = append(got, row{g.BucketStart, strings.Join(g.Keys, ","), g.Requests, g.CostNanos})
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v\nwant %v", got, tt.want)
			}
		})
	}
	t.Run("export", func(t *testing.T) {
		t.Parallel()
		var ids []string
		err := s.ExportRecords(ctx, store.RecordFilter{Start: day, End: day.Add(24 * time.Hour), TeamID: "t"}, func(r *store.Record) error {
			ids = append(ids, r.RequestID)
			return nil
		})
		if err != nil || !slices.Equal(ids, []string{"r1", "r2", "r3"}) {
			t.Errorf("ExportRecords = %v, %v; want r1 r2 r3 oldest first", ids, err)
		}
	})
}
