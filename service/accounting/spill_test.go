package accounting

import (
	"encoding/json"
	"errors"
	"log/slog"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/service/store"
)

func TestSpillRecordRoundTrip(t *testing.T) {
	t.Parallel()
	var full store.Record
	fillFields(t, reflect.ValueOf(&full).Elem())
	tests := []struct {
		name string
		rec  store.Record
	}{
		// Fails when a field is added to store.Record but not to spillRecord.
		{name: "every field set", rec: full},
		{name: "zero record", rec: store.Record{}},
		{name: "time in another zone", rec: store.Record{RequestID: "r", Time: time.Date(2026, 5, 6, 7, 8, 9, 10, time.FixedZone("X", 3600))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sr := toSpillRecord(&tt.rec)
			line, err := json.Marshal(&sr)
			if err != nil {
				t.Fatal(err)
			}
			var back spillRecord
			if err := json.Unmarshal(line, &back); err != nil {
				t.Fatal(err)
			}
			got, want := back.toRecord(), tt.rec
			if !got.Time.Equal(want.Time) {
				t.Errorf("Time = %v, want %v", got.Time, want.Time)
			}
			got.Time, want.Time = time.Time{}, time.Time{}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("round trip through %s\ngot  %+v\nwant %+v", line, got, want)
			}
		})
	}
}

// fillFields sets every field of the struct v to a distinct non-zero value.
func fillFields(t *testing.T, v reflect.Value) {
	t.Helper()
	for i := range v.NumField() {
		f, name := v.Field(i), v.Type().Field(i).Name
		switch {
		case f.Type() == reflect.TypeFor[time.Time]():
			f.Set(reflect.ValueOf(time.Date(2026, 3, 4, 5, 6, 7, 8+i, time.UTC)))
		case f.Kind() == reflect.String:
			f.SetString(name + "-value")
		case f.Kind() == reflect.Bool:
			f.SetBool(true)
		case f.CanInt():
			f.SetInt(int64(100 + i))
		case f.Type() == reflect.TypeFor[[]string]():
			f.Set(reflect.ValueOf([]string{name, "b"}))
		case f.Type() == reflect.TypeFor[[]store.GuardrailVerdict]():
			f.Set(reflect.ValueOf([]store.GuardrailVerdict{{Policy: name, Guardrail: "g", Kind: "pii", Stage: "input",
				Action: "mutate", Categories: []string{"card", "email"}, Count: 2}}))
		default:
			t.Fatalf("store.Record.%s has type %s: teach spillRecord and this test about it", name, f.Type())
		}
	}
}

func TestSegmentNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		wantSeq uint64
		wantOK  bool
	}{
		{name: "segment-00000000000000000001.jsonl", wantSeq: 1, wantOK: true},
		{name: segmentName(1<<64 - 1), wantSeq: 1<<64 - 1, wantOK: true},
		{name: "segment-1.jsonl"},
		{name: "segment-00000000000000000001.jsonl.bad"},
		{name: "segment-0000000000000000000x.jsonl"},
		{name: "notes.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			seq, ok := parseSegmentName(tt.name)
			if seq != tt.wantSeq || ok != tt.wantOK {
				t.Errorf("parseSegmentName(%q) = %d, %v; want %d, %v", tt.name, seq, ok, tt.wantSeq, tt.wantOK)
			}
		})
	}
	if a, b := segmentName(9), segmentName(10); a >= b {
		t.Errorf("%q sorts after %q", a, b)
	}
}

func TestSpillDirReopen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	log := slog.New(slog.DiscardHandler)
	recs := make([]store.Record, 5)
	for i := range recs {
		recs[i] = store.Record{RequestID: string(rune('a' + i)), Time: time.Unix(int64(i), 0).UTC()}
	}

	first := newSpillDir(dir, 2, log)
	for i := range recs {
		if err := first.append(recs[i : i+1]); err != nil {
			t.Fatal(err)
		}
	}
	// Segments 1 and 2 are sealed with two records each; segment 3 is open,
	// as a crash would leave it. A new process sees all three, in order.
	second := newSpillDir(dir, 2, log)
	if err := second.init(); err != nil {
		t.Fatal(err)
	}
	if want := []uint64{1, 2, 3}; !slices.Equal(second.sealed, want) || second.nextSeq != 4 {
		t.Fatalf("after init: sealed %v, next %d; want %v, 4", second.sealed, second.nextSeq, want)
	}
	var got []store.Record
	for {
		seq, ok := second.oldest()
		if !ok {
			break
		}
		rs, corrupt, err := second.load(seq)
		if err != nil || corrupt != 0 {
			t.Fatalf("load(%d) = %d corrupt, %v", seq, corrupt, err)
		}
		got = append(got, rs...)
		if err := second.remove(seq); err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(got, recs) {
		t.Errorf("replayed %+v, want %+v", got, recs)
	}
	if err := second.append(recs[:1]); err != nil {
		t.Fatal(err)
	}
	if second.cur.seq != 4 {
		t.Errorf("new segment has sequence %d, want 4", second.cur.seq)
	}
	if err := errors.Join(first.seal(), second.seal()); err != nil {
		t.Fatal(err)
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		attempt int
		nominal time.Duration
	}{
		{attempt: 1, nominal: 100 * time.Millisecond},
		{attempt: 2, nominal: 200 * time.Millisecond},
		{attempt: 4, nominal: 800 * time.Millisecond},
		{attempt: 5, nominal: time.Second},
		{attempt: 500, nominal: time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.nominal.String(), func(t *testing.T) {
			t.Parallel()
			cfg := defaultConfig()
			WithBackoff(100*time.Millisecond, time.Second)(&cfg)
			l := &loop{cfg: &cfg, attempt: tt.attempt}
			for range 100 {
				if d := l.backoff(); d < tt.nominal/2 || d > tt.nominal {
					t.Fatalf("attempt %d: backoff %v, want within [%v, %v]", tt.attempt, d, tt.nominal/2, tt.nominal)
				}
			}
		})
	}
}
