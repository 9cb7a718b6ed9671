package store

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestPrintableASCII(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "a", "req_0123456789abcdef", "0123456789", strings.Repeat("x", 65), "\x01\x7f~"} {
		if !printableASCII(s) {
			t.Errorf("printableASCII(%q) = false", s)
		}
	}
	for _, s := range []string{"\x00", "abcdefg\x00", "abcdefgh\x00", "é", "abcdefgh\xff", "\x80", strings.Repeat("y", 17) + "\x00"} {
		if printableASCII(s) {
			t.Errorf("printableASCII(%q) = true", s)
		}
	}
}

func TestSanitize(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", MaxRecordNameBytes) // two bytes each
	tests := []struct {
		name  string
		in    Record
		want  Record
		dirty bool
	}{
		{"clean", Record{RequestID: "r", RequestedModel: "gpt-4o", Tags: []string{"a"}, InputTokens: 5},
			Record{RequestID: "r", RequestedModel: "gpt-4o", Tags: []string{"a"}, InputTokens: 5}, false},
		{"NUL", Record{RequestedModel: "x\x00y"}, Record{RequestedModel: "x\uFFFDy", Truncated: true}, true},
		{"invalid UTF-8", Record{EndUser: "a\xffb\xc3"}, Record{EndUser: "a\uFFFDb\uFFFD", Truncated: true}, true},
		{"cut at a character", Record{RequestedModel: long}, Record{RequestedModel: long[:MaxRecordNameBytes], Truncated: true}, true},
		{"too many tags", Record{Tags: make([]string, MaxRecordTags+3)}, Record{Tags: make([]string, MaxRecordTags), Truncated: true}, true},
		{"negative and huge numbers", Record{InputTokens: -1, CostNanos: 1 << 62, Latency: -time.Second},
			Record{CostNanos: MaxRecordNanos, Truncated: true}, true},
		{"verdicts", Record{Guardrails: []GuardrailVerdict{{Policy: "p\x00", Count: -2, Categories: []string{"\xff"}}}},
			Record{Guardrails: []GuardrailVerdict{{Policy: "p\uFFFD", Categories: []string{"\uFFFD"}}}, Truncated: true}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := tt.in
			if got := r.Clean(); got == tt.dirty {
				t.Errorf("Clean() = %v, want %v", got, !tt.dirty)
			}
			if got := r.Sanitize(); got != tt.dirty {
				t.Errorf("Sanitize() = %v, want %v", got, tt.dirty)
			}
			if !r.Clean() {
				t.Errorf("not clean after Sanitize: %+v", r)
			}
			if !utf8.ValidString(r.RequestedModel) || len(r.RequestedModel) > MaxRecordNameBytes {
				t.Errorf("RequestedModel %q out of bounds", r.RequestedModel)
			}
			if !equalRecords(r, tt.want) {
				t.Errorf("Sanitize() =\\n%+v\\nwant\\n%+v", r, tt.want)
			}
		})
	}
}

func equalRecords(a, b Record) bool {
	if len(a.Tags) != len(b.Tags) || len(a.Guardrails) != len(b.Guardrails) {
		return false
	}
	for i := range a.Tags {
		if a.Tags[i] != b.Tags[i] {
			return false
		}
	}
	for i := range a.Guardrails {
		x, y := a.Guardrails[i], b.Guardrails[i]
		if x.Policy != y.Policy || x.Count != y.Count || strings.Join(x.Categories, ",") != strings.Join(y.Categories, ",") {
			return false
		}
	}
	a.Tags, b.Tags, a.Guardrails, b.Guardrails = nil, nil, nil, nil
	return a.RequestID == b.RequestID && a.RequestedModel == b.RequestedModel && a.EndUser == b.EndUser &&
		a.InputTokens == b.InputTokens && a.CostNanos == b.CostNanos && a.Latency == b.Latency && a.Truncated == b.Truncated
}

func BenchmarkSanitizeClean(b *testing.B) {
	r := Record{RequestID: "req_06h4nyqrs2y226sxqb7hxagx", KeyID: "key-01", TeamID: "team-a", ServiceID: "svc",
		EndUser: "user-42", Tags: []string{"env=prod", "batch"}, Surface: "openai", Operation: "chat",
		RequestedModel: "gpt-4o-mini", Provider: "openai", Model: "gpt-4o-mini-2024-07-18", CacheStatus: "miss",
		Guardrails: []GuardrailVerdict{{Policy: "p", Guardrail: "pii", Kind: "pii", Stage: "input", Action: "flag"}}}
	b.ReportAllocs()
	for b.Loop() {
		if r.Sanitize() {
			b.Fatal("changed a clean record")
		}
	}
}
