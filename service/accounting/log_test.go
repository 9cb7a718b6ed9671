package accounting

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"
	"unicode/utf8"

	"github.com/tollgate-dev/tollgate/service/store"
)

func TestRecordLineRoundTrip(t *testing.T) {
	t.Parallel()
	var full store.Record
	fillFields(t, reflect.ValueOf(&full).Elem())
	tests := []struct {
		name string
		rec  store.Record
	}{
		// Fails when a field is added to store.Record but not to logRecord
		// and appendRecord.
		{name: "every field set", rec: full},
		{name: "zero record", rec: store.Record{}},
		{name: "time in another zone", rec: store.Record{RequestID: "r", Time: time.Date(2026, 5, 6, 7, 8, 9, 10, time.FixedZone("X", 3600))}},
		{name: "strings that need escaping", rec: store.Record{RequestID: "q\"\\\n\r\t\x01\u2028é😀", EndUser: "<a&b>",
			Tags: []string{"", "x\x1fy"}, Guardrails: []store.GuardrailVerdict{{Policy: "p\"", Categories: []string{"\\"}}}}},
		{name: "negative numbers", rec: store.Record{RequestID: "n", InputTokens: -5, Latency: -time.Second, Status: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			line := appendRecord(nil, &tt.rec)
			if !strings.HasSuffix(string(line), "}\n") || strings.Count(string(line), "\n") != 1 {
				t.Fatalf("line %q: want one JSON object and a newline", line)
			}
			if !json.Valid(line) {
				t.Fatalf("line %q is not valid JSON", line)
			}
			got, err := decodeRecord(line)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.rec
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

// FuzzRecordLine checks that any sanitised record survives the line format.
func FuzzRecordLine(f *testing.F) {
	f.Add("req-1", "model\x00x", "tag", int64(12), int64(-3))
	f.Add("\xff\xfe", "", "\u2028", int64(0), int64(1<<62))
	f.Fuzz(func(t *testing.T, id, model, tag string, in, cost int64) {
		r := store.Record{RequestID: id, RequestedModel: model, Tags: []string{tag}, InputTokens: in, CostNanos: cost,
			Time: time.Unix(1700000000, 123)}
		r.Sanitize()
		got, err := decodeRecord(appendRecord(nil, &r))
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if !utf8.ValidString(got.RequestID) || got.RequestID != r.RequestID || got.RequestedModel != r.RequestedModel ||
			!slices.Equal(got.Tags, r.Tags) || got.InputTokens != r.InputTokens || got.CostNanos != r.CostNanos {
			t.Fatalf("round trip: got %+v, want %+v", got, r)
		}
	})
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
			t.Fatalf("store.Record.%s has type %s: teach logRecord, appendRecord and this test about it", name, f.Type())
		}
	}
}

func TestSegmentNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		wantSeq    uint64
		wantLegacy bool
		wantOK     bool
	}{
		{name: "records-00000000000000000001.jsonl", wantSeq: 1, wantOK: true},
		{name: segmentFileName(segmentPrefix, 1<<64-1), wantSeq: 1<<64 - 1, wantOK: true},
		{name: "segment-00000000000000000007.jsonl", wantSeq: 7, wantLegacy: true, wantOK: true},
		{name: "records-1.jsonl"},
		{name: "records-00000000000000000001.jsonl.bad"},
		{name: "records-0000000000000000000x.jsonl"},
		{name: "LOCK"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			seq, legacy, ok := parseSegmentName(tt.name)
			if seq != tt.wantSeq || legacy != tt.wantLegacy || ok != tt.wantOK {
				t.Errorf("parseSegmentName(%q) = %d, %v, %v; want %d, %v, %v", tt.name, seq, legacy, ok, tt.wantSeq, tt.wantLegacy, tt.wantOK)
			}
		})
	}
	if a, b := segmentFileName(segmentPrefix, 9), segmentFileName(segmentPrefix, 10); a >= b {
		t.Errorf("%q sorts after %q", a, b)
	}
}

func TestSegmentIDText(t *testing.T) {
	t.Parallel()
	id := store.SegmentID{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0, 1, 2, 3, 4, 5, 6, 0xff}
	if got, want := id.String(), "01234567-89ab-cdef-0001-0203040506ff"; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
	back, err := parseSegmentID(id.String())
	if err != nil || back != id {
		t.Fatalf("parseSegmentID(%q) = %v, %v", id.String(), back, err)
	}
	for _, bad := range []string{"", "01234567-89ab-cdef-0001-0203040506f", "0123456789ab-cdef-0001-0203040506ffx", "g1234567-89ab-cdef-0001-0203040506ff"} {
		if _, err := parseSegmentID(bad); err == nil {
			t.Errorf("parseSegmentID(%q) = nil error", bad)
		}
	}
}

func TestLogReopen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	recs := make([]store.Record, 5)
	for i := range recs {
		recs[i] = store.Record{RequestID: string(rune('a' + i)), Time: time.Unix(int64(i), 0).UTC()}
	}
	first := newRecordLog(dir, 2, 0)
	if err := first.open(); err != nil {
		t.Fatal(err)
	}
	var ids []store.SegmentID
	for i := range recs {
		seg, line, queue, err := first.write(appendRecord(nil, &recs[i]), 1, i%2 == 0)
		if err != nil || !queue || line != i%2 {
			t.Fatalf("write %d = line %d, queue %v, %v; want line %d, queued", i, line, queue, err, i%2)
		}
		if len(ids) == 0 || ids[len(ids)-1] != seg.id {
			ids = append(ids, seg.id)
		}
	}
	// Two segments are sealed with two records each; the third is open, as
	// a crash would leave it. Another process cannot use the directory.
	if err := newRecordLog(dir, 2, 0).open(); err == nil || !strings.Contains(err.Error(), "another process") {
		t.Fatalf("second open while the first holds the directory = %v, want it refused", err)
	}
	if err := first.lock.Close(); err != nil { // the process dies
		t.Fatal(err)
	}
	second := newRecordLog(dir, 2, 0)
	if err := second.open(); err != nil {
		t.Fatal(err)
	}
	if len(second.segs) != 3 || second.nextSeq != 4 {
		t.Fatalf("after open: %d segments, next %d; want 3, 4", len(second.segs), second.nextSeq)
	}
	var got []store.Record
	for i := range 3 {
		seg, _, err := second.nextReplay(true)
		if err != nil || seg == nil {
			t.Fatalf("nextReplay = %v, %v", seg, err)
		}
		ld, err := second.load(seg)
		if err != nil || ld.corrupt != 0 || ld.dedupe || ld.id != ids[i] {
			t.Fatalf("load(%s) = %+v, %v; want segment %s", seg.name(), ld, err, ids[i])
		}
		for _, r := range ld.runs {
			got = append(got, r.recs...)
		}
		if err := second.remove(seg); err != nil {
			t.Fatal(err)
		}
	}
	if seg, _, err := second.nextReplay(true); seg != nil || err != nil {
		t.Fatalf("nextReplay after all = %v, %v; want none", seg, err)
	}
	if !reflect.DeepEqual(got, recs) {
		t.Errorf("replayed %+v, want %+v", got, recs)
	}
	seg, _, _, err := second.write(appendRecord(nil, &recs[0]), 1, true)
	if err != nil || seg.seq != 4 {
		t.Errorf("new segment = %+v, %v; want sequence 4", seg, err)
	}
	if err := second.close(); err != nil {
		t.Fatal(err)
	}
	if size, _ := second.stats(); size != fileSizes(t, dir) {
		t.Errorf("log size %d, want %d (the files)", size, fileSizes(t, dir))
	}
}

func fileSizes(t *testing.T, dir string) int64 {
	t.Helper()
	names, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	var n int64
	for _, name := range names {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		n += fi.Size()
	}
	return n
}

func TestLogFull(t *testing.T) {
	t.Parallel()
	l := newRecordLog(t.TempDir(), 100, 1000)
	if err := l.open(); err != nil {
		t.Fatal(err)
	}
	defer l.close()
	line := appendRecord(nil, &store.Record{RequestID: strings.Repeat("x", 200)})
	n := 0
	for ; ; n++ {
		if _, _, _, err := l.write(line, 1, false); err != nil {
			if err != errLogFull {
				t.Fatal(err)
			}
			break
		}
	}
	size, full := l.stats()
	if !full || size > 1000 || n == 0 {
		t.Fatalf("after %d writes: size %d, full %v; want full at most 1000 bytes", n, size, full)
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

// nopSink stores nothing and fails nothing.
type nopSink struct{}

func (nopSink) InsertRecords(context.Context, store.RecordBatch) error   { return nil }
func (nopSink) InsertDeadLetter(context.Context, store.DeadLetter) error { return nil }

func TestFsyncSchedule(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		durable bool
		// wantSynced is whether the log is synced right after the first
		// group commit and after the fsync interval.
		wantSyncedAtCommit, wantSyncedLater bool
	}{
		{name: "default: appended at the group commit, synced at the fsync interval", wantSyncedAtCommit: false, wantSyncedLater: true},
		{name: "durable: synced at every group commit", durable: true, wantSyncedAtCommit: true, wantSyncedLater: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				w := New(nopSink{}, WithSpillDir(t.TempDir()), WithSyncInterval(10*time.Millisecond),
					WithFsyncInterval(time.Second), WithDurable(tt.durable))
				ctx, cancel := context.WithCancel(t.Context())
				done := make(chan error, 1)
				go func() { done <- w.Run(ctx) }()
				time.Sleep(time.Second + 5*time.Millisecond) // the first fsync tick passes with nothing to sync
				synctest.Wait()
				w.Record(store.Record{RequestID: "r"})
				time.Sleep(10 * time.Millisecond) // fake time (synctest bubble): advances the clock, not synchronisation
				synctest.Wait()
				synced := func() bool {
					w.rlog.mu.Lock()
					defer w.rlog.mu.Unlock()
					return !w.rlog.unsynced
				}
				if got := synced(); got != tt.wantSyncedAtCommit {
					t.Errorf("synced after the group commit = %v, want %v", got, tt.wantSyncedAtCommit)
				}
				time.Sleep(time.Second) // fake time (synctest bubble): advances the clock, not synchronisation
				synctest.Wait()
				if got := synced(); got != tt.wantSyncedLater {
					t.Errorf("synced after the fsync interval = %v, want %v", got, tt.wantSyncedLater)
				}
				cancel()
				if err := <-done; err != nil {
					t.Fatal(err)
				}
			})
		})
	}
}
