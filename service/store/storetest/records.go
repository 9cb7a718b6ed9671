package storetest

import (
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/service/store"
)

func diffRecord(got, want *store.Record) diffs {
	var d diffs
	d.eq("RequestID", got.RequestID, want.RequestID)
	d.eq("Time", got.Time, want.Time)
	d.eq("KeyID", got.KeyID, want.KeyID)
	d.eq("TeamID", got.TeamID, want.TeamID)
	d.eq("ServiceID", got.ServiceID, want.ServiceID)
	d.eq("EndUser", got.EndUser, want.EndUser)
	d.eq("Tags", got.Tags, want.Tags)
	d.eq("Surface", got.Surface, want.Surface)
	d.eq("Operation", got.Operation, want.Operation)
	d.eq("Stream", got.Stream, want.Stream)
	d.eq("RequestedModel", got.RequestedModel, want.RequestedModel)
	d.eq("Provider", got.Provider, want.Provider)
	d.eq("Model", got.Model, want.Model)
	d.eq("Status", got.Status, want.Status)
	d.eq("ErrorCode", got.ErrorCode, want.ErrorCode)
	d.eq("InputTokens", got.InputTokens, want.InputTokens)
	d.eq("OutputTokens", got.OutputTokens, want.OutputTokens)
	d.eq("CachedInputTokens", got.CachedInputTokens, want.CachedInputTokens)
	d.eq("CacheWriteTokens", got.CacheWriteTokens, want.CacheWriteTokens)
	d.eq("ReasoningTokens", got.ReasoningTokens, want.ReasoningTokens)
	d.eq("UsageEstimated", got.UsageEstimated, want.UsageEstimated)
	d.eq("CostNanos", got.CostNanos, want.CostNanos)
	d.eq("Latency", got.Latency, want.Latency)
	d.eq("TTFT", got.TTFT, want.TTFT)
	d.eq("Attempts", got.Attempts, want.Attempts)
	d.eq("Partial", got.Partial, want.Partial)
	d.eq("CacheStatus", got.CacheStatus, want.CacheStatus)
	d.eq("SavedNanos", got.SavedNanos, want.SavedNanos)
	d.eq("Guardrails", got.Guardrails, want.Guardrails)
	d.eq("Truncated", got.Truncated, want.Truncated)
	return d
}

// recordIDs returns the request ids of rs.
func recordIDs(rs []store.Record) []string {
	ids := make([]string, 0, len(rs))
	for _, r := range rs {
		ids = append(ids, r.RequestID)
	}
	return ids
}

// listAllRecords follows ListRecords' cursors to the last page and returns
// the request ids and the size of each page.
func listAllRecords(t *testing.T, s store.Store, f store.RecordFilter) (ids []string, pages []int) {
	t.Helper()
	for i := 0; ; i++ {
		if i > 100 {
			t.Fatalf("ListRecords(%+v): no last page after 100 pages", f)
		}
		rs, next, err := s.ListRecords(t.Context(), f)
		if err != nil {
			t.Fatalf("ListRecords(%+v): %v", f, err)
		}
		ids = append(ids, recordIDs(rs)...)
		pages = append(pages, len(rs))
		if next == "" {
			return ids, pages
		}
		f.After = next
	}
}

// mustInsert inserts rs as the first lines of a new segment.
func mustInsert(t *testing.T, s store.Store, rs []store.Record) {
	t.Helper()
	mustInsertBatch(t, s, store.RecordBatch{Segment: newSegment(), Records: rs})
}

// mustInsertBatch inserts b.
func mustInsertBatch(t *testing.T, s store.Store, b store.RecordBatch) {
	t.Helper()
	if err := s.InsertRecords(t.Context(), b); err != nil {
		t.Fatalf("InsertRecords(%d records at line %d): %v", len(b.Records), b.First, err)
	}
}

// newSegment returns a random SegmentID.
func newSegment() store.SegmentID {
	var id store.SegmentID
	_, _ = rand.Read(id[:])
	return id
}

// fixture is a small record set for the filter and summary tests: r1 is
// the newest, one minute apart, r4 and r5 share a time.
func fixture(base time.Time) []store.Record {
	rec := func(id string, ago time.Duration, team, key, model, provider, user string, status store.Status, cost int64) store.Record {
		return store.Record{
			RequestID: id, Time: base.Add(-ago), TeamID: team, KeyID: key, ServiceID: "svc-" + team,
			RequestedModel: model, Model: model + "-upstream", Provider: provider, EndUser: user,
			Status: status, InputTokens: 100, OutputTokens: 10, CachedInputTokens: 1, CostNanos: cost,
			Surface: "openai", Operation: "chat",
		}
	}
	return []store.Record{
		rec("r1", 1*time.Minute, "a", "ka1", "gpt", "openai", "alice", store.StatusOK, 500),
		rec("r2", 2*time.Minute, "a", "ka2", "claude", "anthropic", "", store.StatusOK, 300),
		rec("r3", 3*time.Minute, "b", "kb1", "gpt", "openai", "bob", store.StatusUpstreamError, 0),
		rec("r4", 4*time.Minute, "b", "kb1", "gpt", "azure", "alice", store.StatusOK, 200),
		rec("r5", 4*time.Minute, "a", "ka1", "gpt", "openai", "", store.StatusLimited, 0),
		rec("r6", 6*time.Minute, "c", "kc1", "claude", "anthropic", "carol", store.StatusOK, 1000),
	}
}

func recordTests() []test {
	return []test{
		{"RoundTrip", func(t *testing.T, s store.Store) {
			r := store.Record{
				RequestID: "req-1", Time: now().Add(-time.Second), KeyID: "k1", TeamID: "t1",
				ServiceID: "svc", EndUser: "user-9", Tags: []string{"batch", "eval"},
				Surface: "anthropic", Operation: "messages", Stream: true,
				RequestedModel: "claude", Provider: "anthropic-main", Model: "claude-sonnet-4",
				Status: store.StatusUpstreamError, ErrorCode: "overloaded",
				InputTokens: 1200, OutputTokens: 340, CachedInputTokens: 1000, CacheWriteTokens: 50,
				ReasoningTokens: 20, UsageEstimated: true, CostNanos: 123_456_789,
				Latency: 1500 * time.Millisecond, TTFT: 250 * time.Millisecond, Attempts: 2,
			}
			minimal := store.Record{RequestID: "req-2", Time: r.Time.Add(-time.Second), Status: store.StatusOK}
			mustInsert(t, s, []store.Record{r, minimal})
			rs, next, err := s.ListRecords(t.Context(), store.RecordFilter{Limit: 10})
			wantErr(t, "ListRecords", err, nil)
			if len(rs) != 2 || next != "" {
				t.Fatalf("ListRecords = %v, next %q; want req-1, req-2 and no next page", recordIDs(rs), next)
			}
			diffRecord(&rs[0], &r).report(t, "req-1")
			diffRecord(&rs[1], &minimal).report(t, "req-2")
		}},
		{"InsertEmpty", func(t *testing.T, s store.Store) {
			wantErr(t, "InsertRecords(empty)", s.InsertRecords(t.Context(), store.RecordBatch{Segment: newSegment()}), nil)
		}},
		{"InsertIdempotentPerLine", func(t *testing.T, s store.Store) {
			all := fixture(now())
			seg := newSegment()
			mustInsertBatch(t, s, store.RecordBatch{Segment: seg, Records: all[:3]})
			mustInsertBatch(t, s, store.RecordBatch{Segment: seg, Records: all[:3]}) // a retried batch
			// A batch that overlaps lines 1-2 and adds lines 3-4; then one
			// inside what is stored; then line 5 alone.
			mustInsertBatch(t, s, store.RecordBatch{Segment: seg, First: 1, Records: all[1:5]})
			mustInsertBatch(t, s, store.RecordBatch{Segment: seg, First: 2, Records: all[2:4]})
			mustInsertBatch(t, s, store.RecordBatch{Segment: seg, First: 5, Records: all[5:6]})
			// The same records as lines of another segment are other records.
			mustInsertBatch(t, s, store.RecordBatch{Segment: newSegment(), Records: all[:1]})
			ids, _ := listAllRecords(t, s, store.RecordFilter{Limit: 100})
			slices.Sort(ids)
			var d diffs
			d.eq("ids", ids, []string{"r1", "r1", "r2", "r3", "r4", "r5", "r6"})
			d.report(t, "ListRecords after retries")
			got, err := s.SummarizeUsage(t.Context(), store.SummaryQuery{})
			wantErr(t, "SummarizeUsage", err, nil)
			if len(got) != 1 || got[0].Requests != 7 || got[0].CostNanos != 2500 {
				t.Errorf("SummarizeUsage = %+v, want 7 requests costing 2500: the rollups count each stored record once", got)
			}
		}},
		{"InsertDedupe", func(t *testing.T, s store.Store) {
			all := fixture(now())
			mustInsertBatch(t, s, store.RecordBatch{Records: all[:3], Dedupe: true})
			mustInsertBatch(t, s, store.RecordBatch{Records: []store.Record{all[2], all[3], all[0], all[3]}, Dedupe: true})
			ids, _ := listAllRecords(t, s, store.RecordFilter{Limit: 100})
			slices.Sort(ids)
			var d diffs
			d.eq("ids", ids, []string{"r1", "r2", "r3", "r4"})
			d.report(t, "ListRecords after deduplicated batches")
		}},
		{"Sanitized", func(t *testing.T, s store.Store) {
			at := now()
			r := store.Record{
				RequestID: "req-nul", Time: at, RequestedModel: "x\x00y", EndUser: "bad\xffbyte",
				Tags: []string{"ok", strings.Repeat("t", store.MaxRecordNameBytes+10)}, Status: store.StatusUnauthenticated,
				ErrorCode: "invalid_api_key", Surface: "openai", Operation: "chat",
			}
			mustInsert(t, s, []store.Record{r})
			rs, _, err := s.ListRecords(t.Context(), store.RecordFilter{Limit: 10})
			wantErr(t, "ListRecords", err, nil)
			want := r
			want.RequestedModel, want.EndUser = "x\uFFFDy", "bad\uFFFDbyte"
			want.Tags = []string{"ok", strings.Repeat("t", store.MaxRecordNameBytes)}
			want.Truncated = true
			if len(rs) != 1 {
				t.Fatalf("ListRecords = %v, want the sanitised record", recordIDs(rs))
			}
			diffRecord(&rs[0], &want).report(t, "sanitised record")
		}},
		{"DeadLetter", func(t *testing.T, s store.Store) {
			seg := newSegment()
			all := fixture(now())
			dl := store.DeadLetter{Segment: seg, Line: 1, Record: all[1], Error: "value too long", Code: "22001", At: now()}
			wantErr(t, "InsertDeadLetter", s.InsertDeadLetter(t.Context(), dl), nil)
			wantErr(t, "InsertDeadLetter again", s.InsertDeadLetter(t.Context(), dl), nil)
			// Line 1 is stored as a dead letter: a replay of lines 0-2
			// stores the other two.
			mustInsertBatch(t, s, store.RecordBatch{Segment: seg, Records: all[:3]})
			ids, _ := listAllRecords(t, s, store.RecordFilter{Limit: 100})
			var d diffs
			d.eq("ids", ids, []string{"r1", "r3"})
			d.report(t, "ListRecords after a dead letter")
		}},
		{"ListFilters", func(t *testing.T, s store.Store) {
			base := now()
			mustInsert(t, s, fixture(base))
			tests := []struct {
				name string
				f    store.RecordFilter
				want []string
			}{
				{"none", store.RecordFilter{}, []string{"r1", "r2", "r3", "r5", "r4", "r6"}},
				{"team", store.RecordFilter{TeamID: "a"}, []string{"r1", "r2", "r5"}},
				{"key", store.RecordFilter{KeyID: "kb1"}, []string{"r3", "r4"}},
				{"model", store.RecordFilter{Model: "claude"}, []string{"r2", "r6"}},
				{"end user", store.RecordFilter{EndUser: "alice"}, []string{"r1", "r4"}},
				{"start", store.RecordFilter{Start: base.Add(-3 * time.Minute)}, []string{"r1", "r2", "r3"}},
				{"end (exclusive)", store.RecordFilter{End: base.Add(-2 * time.Minute)}, []string{"r3", "r5", "r4", "r6"}},
				{"range", store.RecordFilter{Start: base.Add(-4 * time.Minute), End: base.Add(-time.Minute)},
					[]string{"r2", "r3", "r5", "r4"}},
				{"team and model", store.RecordFilter{TeamID: "a", Model: "gpt"}, []string{"r1", "r5"}},
				{"no match", store.RecordFilter{TeamID: "zz"}, nil},
			}
			for _, tt := range tests {
				tt.f.Limit = 100
				ids, _ := listAllRecords(t, s, tt.f)
				var d diffs
				d.eq("ids", ids, tt.want)
				d.report(t, "ListRecords("+tt.name+")")
			}
		}},
		{"ListPagination", func(t *testing.T, s store.Store) {
			base := now()
			var rs []store.Record
			for i := range 9 {
				// Three records per timestamp: pages must break ties by id.
				rs = append(rs, store.Record{
					RequestID: fmt.Sprintf("q%d", i), Time: base.Add(-time.Duration(i/3) * time.Second),
					TeamID: []string{"a", "b"}[i%2], Status: store.StatusOK,
				})
			}
			mustInsert(t, s, rs)
			tests := []struct {
				name      string
				f         store.RecordFilter
				wantIDs   []string
				wantPages []int
			}{
				{"all by 2", store.RecordFilter{Limit: 2},
					[]string{"q2", "q1", "q0", "q5", "q4", "q3", "q8", "q7", "q6"}, []int{2, 2, 2, 2, 1}},
				{"all by 3", store.RecordFilter{Limit: 3},
					[]string{"q2", "q1", "q0", "q5", "q4", "q3", "q8", "q7", "q6"}, []int{3, 3, 3}},
				{"team by 2", store.RecordFilter{TeamID: "a", Limit: 2},
					[]string{"q2", "q0", "q4", "q8", "q6"}, []int{2, 2, 1}},
				{"one page", store.RecordFilter{TeamID: "b", Limit: 50},
					[]string{"q1", "q5", "q3", "q7"}, []int{4}},
			}
			for _, tt := range tests {
				ids, pages := listAllRecords(t, s, tt.f)
				var d diffs
				d.eq("ids", ids, tt.wantIDs)
				if fmt.Sprint(pages) != fmt.Sprint(tt.wantPages) {
					d = append(d, fmt.Sprintf("page sizes = %v, want %v", pages, tt.wantPages))
				}
				d.report(t, "ListRecords("+tt.name+")")
			}
		}},
		{"ListAcrossDays", func(t *testing.T, s store.Store) {
			base := now()
			var rs []store.Record
			for i := range 4 {
				rs = append(rs, store.Record{
					RequestID: fmt.Sprintf("d%d", i), Time: base.Add(-time.Duration(i) * 25 * time.Hour),
					Status: store.StatusOK, CostNanos: 1,
				})
			}
			mustInsert(t, s, rs)
			ids, _ := listAllRecords(t, s, store.RecordFilter{Limit: 3})
			var d diffs
			d.eq("ids", ids, []string{"d0", "d1", "d2", "d3"})
			d.report(t, "ListRecords")
		}},
	}
}

func summaryTests() []test {
	return []test{
		{"GroupBy", func(t *testing.T, s store.Store) {
			base := now()
			mustInsert(t, s, fixture(base))
			g := func(keys []string, requests, errs, cost int64) store.UsageGroup {
				return store.UsageGroup{
					Keys: keys, Requests: requests, Errors: errs, InputTokens: 100 * requests,
					OutputTokens: 10 * requests, CachedInputTokens: requests, CostNanos: cost,
				}
			}
			tests := []struct {
				name string
				q    store.SummaryQuery
				want []store.UsageGroup
			}{
				{"team", store.SummaryQuery{GroupBy: []store.Dimension{store.DimTeam}}, []store.UsageGroup{
					g([]string{"c"}, 1, 0, 1000), g([]string{"a"}, 3, 1, 800), g([]string{"b"}, 2, 1, 200),
				}},
				{"model and provider", store.SummaryQuery{GroupBy: []store.Dimension{store.DimModel, store.DimProvider}},
					[]store.UsageGroup{
						g([]string{"claude", "anthropic"}, 2, 0, 1300),
						g([]string{"gpt", "openai"}, 3, 2, 500),
						g([]string{"gpt", "azure"}, 1, 0, 200),
					}},
				{"key within team", store.SummaryQuery{TeamID: "a", GroupBy: []store.Dimension{store.DimKey}},
					[]store.UsageGroup{g([]string{"ka1"}, 2, 1, 500), g([]string{"ka2"}, 1, 0, 300)}},
				{"service", store.SummaryQuery{GroupBy: []store.Dimension{store.DimService}}, []store.UsageGroup{
					g([]string{"svc-c"}, 1, 0, 1000), g([]string{"svc-a"}, 3, 1, 800), g([]string{"svc-b"}, 2, 1, 200),
				}},
				{"end user in range", store.SummaryQuery{
					Start: base.Add(-4 * time.Minute), End: base,
					GroupBy: []store.Dimension{store.DimEndUser},
				}, []store.UsageGroup{
					g([]string{"alice"}, 2, 0, 700), g([]string{""}, 2, 1, 300), g([]string{"bob"}, 1, 1, 0),
				}},
				{"totals", store.SummaryQuery{}, []store.UsageGroup{g([]string{}, 6, 2, 2000)}},
				{"totals of nothing", store.SummaryQuery{TeamID: "zz"}, nil},
			}
			for _, tt := range tests {
				got, err := s.SummarizeUsage(t.Context(), tt.q)
				wantErr(t, "SummarizeUsage("+tt.name+")", err, nil)
				if fmt.Sprintf("%+v", normGroups(got)) != fmt.Sprintf("%+v", normGroups(tt.want)) {
					t.Errorf("SummarizeUsage(%s) =\n%+v\nwant\n%+v", tt.name, got, tt.want)
				}
			}
		}},
	}
}

// normGroups makes nil and empty Keys print alike.
func normGroups(gs []store.UsageGroup) []store.UsageGroup {
	out := make([]store.UsageGroup, len(gs))
	for i, g := range gs {
		if len(g.Keys) == 0 {
			g.Keys = nil
		}
		out[i] = g
	}
	return out
}
