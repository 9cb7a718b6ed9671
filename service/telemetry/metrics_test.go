package telemetry_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tollgate-dev/tollgate/service/store"
	"github.com/tollgate-dev/tollgate/service/telemetry"
)

// series gathers reg and counts its series (a histogram counts once).
func series(t *testing.T, reg *prometheus.Registry) (int, map[string]int) {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n, per := 0, map[string]int{}
	for _, f := range fams {
		n += len(f.GetMetric())
		per[f.GetName()] = len(f.GetMetric())
	}
	return n, per
}

// TestCardinalityBound: 10,000 requests from 1,000 keys of 10 teams on 3
// models, plus callers asking for 1,000 made-up model names, make a
// bounded number of series: key ids, end users and unknown models never
// become label values; the opt-in key label stops at its cap.
func TestCardinalityBound(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		keyLabel int
		bound    int
	}{
		{"default", 0, 400},
		{"key label capped at 50", 50, 400 + 2*51},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := telemetry.NewMetrics(telemetry.Options{KeyLabel: tc.keyLabel, Version: "test"})
			reg := prometheus.NewRegistry()
			reg.MustRegister(m)
			models := []string{"gpt-4o-mini", "gpt-4o", "claude"}
			for i := range 10_000 {
				key := i % 1000
				r := store.Record{RequestID: fmt.Sprint("req_", i), KeyID: fmt.Sprint("key_", key), TeamID: fmt.Sprint("team-", key%10),
					EndUser: fmt.Sprint("user-", i), Surface: "openai", Operation: "chat", RequestedModel: models[i%3],
					Provider: "p1", Model: models[i%3] + "-2026", Status: store.StatusOK, InputTokens: 10, OutputTokens: 20,
					CostNanos: 1234, Latency: time.Duration(i) * time.Microsecond}
				switch i % 50 {
				case 7: // an unknown model: refused before resolution
					r.RequestedModel, r.Provider, r.Model = fmt.Sprint("made-up-", i), "", ""
					r.Status, r.ErrorCode, r.InputTokens, r.OutputTokens, r.CostNanos = store.StatusInvalid, "model_not_found", 0, 0, 0
				case 9:
					r.Status, r.ErrorCode = store.StatusUpstreamError, "upstream_server"
				}
				m.Observe(&r)
			}
			n, per := series(t, reg)
			t.Logf("%d series; %v", n, per)
			if n > tc.bound {
				t.Errorf("%d series after 10,000 requests from 1,000 keys, bound %d", n, tc.bound)
			}
			if k := per["tollgate_key_requests_total"]; tc.keyLabel > 0 && k != tc.keyLabel+1 {
				t.Errorf("key label series = %d, want %d and _other", k, tc.keyLabel)
			}
		})
	}
}

// TestMaxSeries: past MaxSeries label sets, requests are counted under
// "_other" (none is lost).
func TestMaxSeries(t *testing.T) {
	t.Parallel()
	m := telemetry.NewMetrics(telemetry.Options{MaxSeries: 5})
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	for i := range 100 {
		m.Observe(&store.Record{Surface: "openai", Operation: "chat", TeamID: fmt.Sprint("t", i), RequestedModel: "m", Provider: "p",
			Status: store.StatusOK, CostNanos: 1})
	}
	if got := m.Series(); got != 6 {
		t.Errorf("Series() = %d, want 5 and _other", got)
	}
	fams, _ := reg.Gather()
	var total float64
	for _, f := range fams {
		if f.GetName() == "tollgate_cost_nanousd_total" {
			for _, s := range f.GetMetric() {
				total += s.GetCounter().GetValue()
			}
		}
	}
	if total != 100 {
		t.Errorf("cost total = %v, want 100", total)
	}
}

// BenchmarkObserve is the metrics' cost per request record.
func BenchmarkObserve(b *testing.B) {
	m := telemetry.NewMetrics(telemetry.Options{})
	r := store.Record{Surface: "openai", Operation: "chat", TeamID: "search", ServiceID: "ranker", RequestedModel: "gpt-4o-mini",
		Provider: "p1", Model: "gpt-4o-mini-2026", Status: store.StatusOK, InputTokens: 120, OutputTokens: 300, CostNanos: 198000,
		Latency: 120 * time.Millisecond, TTFT: 30 * time.Millisecond, CacheStatus: "miss"}
	b.ReportAllocs()
	for b.Loop() {
		m.Observe(&r)
	}
}
