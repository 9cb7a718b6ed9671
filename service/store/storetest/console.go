package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/service/store"
)

// consoleTests cover what the console and the lossless drop-in added:
// drop_params on keys, dropped parameters on records, the finer record
// filters, keys' last use and fired alerts.
func consoleTests() []test {
	return []test{
		{"DropParams", func(t *testing.T, s store.Store) {
			mustCreateTeam(t, s, "a")
			k := newKey("k-drop", "a")
			k.DropParams = true
			mustCreateKey(t, s, k)
			got, err := s.GetKey(t.Context(), "k-drop")
			wantErr(t, "GetKey", err, nil)
			r := store.Record{RequestID: "req-drop", Time: now(), KeyID: "k-drop", TeamID: "a", Status: store.StatusOK,
				DroppedParams: []string{"logprobs", "top_logprobs"}}
			mustInsert(t, s, []store.Record{r, {RequestID: "req-none", Time: now().Add(-time.Second), Status: store.StatusOK}})
			rs, _, err := s.ListRecords(t.Context(), store.RecordFilter{Limit: 10})
			wantErr(t, "ListRecords", err, nil)
			var d diffs
			d.eq("Key.DropParams", got.DropParams, true)
			d.eq("records", len(rs), 2)
			if len(rs) == 2 {
				d.eq("DroppedParams", len(rs[0].DroppedParams), 2)
				d.eq("no DroppedParams", rs[1].DroppedParams == nil, true)
			}
			d.report(t, "drop params")
		}},
		{"FinerFilters", func(t *testing.T, s store.Store) {
			base := now()
			rs := fixture(base)
			rs[0].Tags = []string{"batch", "eu"}
			rs[3].Tags = []string{"eu"}
			mustInsert(t, s, rs)
			tests := []struct {
				name string
				f    store.RecordFilter
				want []string
			}{
				{"service", store.RecordFilter{ServiceID: "svc-b"}, []string{"r3", "r4"}},
				{"status", store.RecordFilter{Status: store.StatusLimited}, []string{"r5"}},
				{"tag", store.RecordFilter{Tag: "eu"}, []string{"r1", "r4"}},
				{"request id", store.RecordFilter{RequestID: "r2"}, []string{"r2"}},
			}
			for _, tt := range tests {
				tt.f.Limit = 100
				ids, _ := listAllRecords(t, s, tt.f)
				var d diffs
				d.eq("ids", ids, tt.want)
				d.report(t, "ListRecords("+tt.name+")")
			}
		}},
		{"KeysLastUsedAndFiredAlerts", func(t *testing.T, s store.Store) {
			type alertStore interface {
				store.Store
				store.Alerts
			}
			st, ok := s.(alertStore)
			if !ok {
				t.Fatalf("%T does not implement store.Alerts", s)
			}
			base := now()
			mustInsert(t, s, fixture(base))
			kl, ok := s.(keysLastUsed)
			if !ok {
				t.Fatalf("%T does not tell keys' last use", s)
			}
			used, err := kl.KeysLastUsed(t.Context(), []string{"ka1", "kb1", "nope"})
			wantErr(t, "KeysLastUsed", err, nil)
			var d diffs
			d.eq("keys", len(used), 2)
			d.eq("ka1", used["ka1"], base.Add(-time.Minute))
			d.eq("kb1", used["kb1"], base.Add(-3*time.Minute))

			period := base.Truncate(time.Hour)
			for _, th := range []int{90, 50} {
				claimed, err := st.ClaimAlert(t.Context(), "budget:b1", period, th)
				wantErr(t, "ClaimAlert", err, nil)
				d.eq("claimed", claimed, true)
			}
			fa, ok := s.(firedAlerts)
			if !ok {
				t.Fatalf("%T does not list fired alerts", s)
			}
			fs, err := fa.FiredAlerts(t.Context(), "budget:b1", period)
			wantErr(t, "FiredAlerts", err, nil)
			d.eq("fired", len(fs), 2)
			if len(fs) == 2 {
				d.eq("first threshold", fs[0].Threshold, 50)
				d.eq("fired at set", fs[0].At.IsZero(), false)
			}
			other, err := fa.FiredAlerts(t.Context(), "budget:b1", period.Add(-time.Hour))
			wantErr(t, "FiredAlerts(other period)", err, nil)
			d.eq("fired in another period", len(other), 0)
			d.report(t, "keys last used and fired alerts")
		}},
	}
}

// keysLastUsed and firedAlerts are the stores' optional methods that the
// admin and usage services look for.
type keysLastUsed interface {
	KeysLastUsed(ctx context.Context, ids []string) (map[string]time.Time, error)
}

type firedAlerts interface {
	FiredAlerts(ctx context.Context, subject string, periodStart time.Time) ([]store.FiredAlert, error)
}
