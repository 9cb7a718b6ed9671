package store

import (
	"strings"
	"unicode/utf8"
)

// Bounds that Sanitize enforces on a Record. Strings are cut at a rune
// boundary to at most this many bytes.
const (
	// MaxRecordIDBytes bounds RequestID, KeyID, TeamID, ServiceID and
	// EndUser.
	MaxRecordIDBytes = 256
	// MaxRecordNameBytes bounds the model, provider, tag and guardrail
	// names and the error code.
	MaxRecordNameBytes = 256
	// MaxRecordShortBytes bounds Surface, Operation and CacheStatus.
	MaxRecordShortBytes = 64
	// MaxRecordTags bounds the number of tags, MaxRecordVerdicts the
	// number of guardrail verdicts and MaxVerdictCategories the categories
	// of one verdict.
	MaxRecordTags        = 64
	MaxRecordVerdicts    = 64
	MaxVerdictCategories = 32
	// MaxRecordTokens bounds each token count and MaxRecordNanos each
	// amount of money (about 1.1 million dollars), so that sums over
	// millions of records cannot overflow.
	MaxRecordTokens = 1 << 40
	MaxRecordNanos  = 1 << 50
)

// Sanitize makes r safe to store and to sum: every string valid UTF-8
// without NUL (invalid bytes and NUL become U+FFFD) and within its bound,
// lists within theirs, and counts, amounts and durations within [0,
// bound]. It sets r.Truncated when it changed anything and reports whether
// it did. A clean record costs one pass over its strings and no allocation.
func (r *Record) Sanitize() bool {
	if r.Clean() {
		return false
	}
	for _, f := range r.stringFields() {
		*f.s, _ = cleanString(*f.s, f.limit)
	}
	r.Tags, _ = cleanStrings(r.Tags, MaxRecordTags, MaxRecordNameBytes)
	r.DroppedParams, _ = cleanStrings(r.DroppedParams, MaxRecordTags, MaxRecordNameBytes)
	if !verdictsClean(r.Guardrails) {
		r.Guardrails = cleanVerdicts(r.Guardrails)
	}
	for _, f := range r.numberFields() {
		*f.v = min(max(*f.v, 0), f.limit)
	}
	r.Latency, r.TTFT, r.Attempts = max(r.Latency, 0), max(r.TTFT, 0), max(r.Attempts, 0)
	r.Truncated = true
	return true
}

// Clean reports whether r is within every bound Sanitize enforces, without
// changing it.
func (r *Record) Clean() bool {
	for _, f := range r.stringFields() {
		if _, ok := cleanString(*f.s, f.limit); !ok {
			return false
		}
	}
	for _, f := range r.numberFields() {
		if *f.v < 0 || *f.v > f.limit {
			return false
		}
	}
	if r.Latency < 0 || r.TTFT < 0 || r.Attempts < 0 {
		return false
	}
	if _, ok := cleanStrings(r.Tags, MaxRecordTags, MaxRecordNameBytes); !ok {
		return false
	}
	// Dropped parameters are bounded like tags: request field names.
	if _, ok := cleanStrings(r.DroppedParams, MaxRecordTags, MaxRecordNameBytes); !ok {
		return false
	}
	return verdictsClean(r.Guardrails)
}

type stringField struct {
	s     *string
	limit int
}

func (r *Record) stringFields() [12]stringField {
	return [...]stringField{
		{&r.RequestID, MaxRecordIDBytes}, {&r.KeyID, MaxRecordIDBytes}, {&r.TeamID, MaxRecordIDBytes},
		{&r.ServiceID, MaxRecordIDBytes}, {&r.EndUser, MaxRecordIDBytes}, {&r.Surface, MaxRecordShortBytes},
		{&r.Operation, MaxRecordShortBytes}, {&r.RequestedModel, MaxRecordNameBytes}, {&r.Provider, MaxRecordNameBytes},
		{&r.Model, MaxRecordNameBytes}, {&r.ErrorCode, MaxRecordNameBytes}, {&r.CacheStatus, MaxRecordShortBytes},
	}
}

type numberField struct {
	v     *int64
	limit int64
}

func (r *Record) numberFields() [7]numberField {
	return [...]numberField{
		{&r.InputTokens, MaxRecordTokens}, {&r.OutputTokens, MaxRecordTokens}, {&r.CachedInputTokens, MaxRecordTokens},
		{&r.CacheWriteTokens, MaxRecordTokens}, {&r.ReasoningTokens, MaxRecordTokens},
		{&r.CostNanos, MaxRecordNanos}, {&r.SavedNanos, MaxRecordNanos},
	}
}

// cleanString returns s made valid, NUL-free and at most limit bytes, and
// whether s already was.
func cleanString(s string, limit int) (string, bool) {
	if len(s) <= limit && (printableASCII(s) || strings.IndexByte(s, 0) < 0 && utf8.ValidString(s)) {
		return s, true
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	if len(s) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return s, false
}

// cleanStrings returns ss with at most n elements, each cleaned, and
// whether ss already was clean (then ss itself is returned).
func cleanStrings(ss []string, n, limit int) ([]string, bool) {
	ok := len(ss) <= n
	for _, s := range ss {
		if _, clean := cleanString(s, limit); !clean {
			ok = false
			break
		}
	}
	if ok {
		return ss, true
	}
	out := make([]string, min(len(ss), n))
	for i := range out {
		out[i], _ = cleanString(ss[i], limit)
	}
	return out, false
}

func verdictsClean(vs []GuardrailVerdict) bool {
	if len(vs) > MaxRecordVerdicts {
		return false
	}
	for i := range vs {
		v := &vs[i]
		for _, s := range [...]string{v.Policy, v.Guardrail, v.Kind, v.Stage, v.Action} {
			if _, ok := cleanString(s, MaxRecordNameBytes); !ok {
				return false
			}
		}
		if _, ok := cleanStrings(v.Categories, MaxVerdictCategories, MaxRecordNameBytes); !ok || v.Count < 0 {
			return false
		}
	}
	return true
}

func cleanVerdicts(vs []GuardrailVerdict) []GuardrailVerdict {
	out := make([]GuardrailVerdict, min(len(vs), MaxRecordVerdicts))
	for i := range out {
		v := vs[i]
		for _, s := range [...]*string{&v.Policy, &v.Guardrail, &v.Kind, &v.Stage, &v.Action} {
			*s, _ = cleanString(*s, MaxRecordNameBytes)
		}
		v.Categories, _ = cleanStrings(v.Categories, MaxVerdictCategories, MaxRecordNameBytes)
		v.Count = max(v.Count, 0)
		out[i] = v
	}
	return out
}

// printableASCII reports whether s holds only ASCII without NUL, eight
// bytes at a time: the common case of ids, names and tags, checked without
// the two passes of IndexByte and utf8.ValidString.
func printableASCII(s string) bool {
	const (
		lo = 0x0101010101010101
		hi = 0x8080808080808080
	)
	for len(s) >= 8 {
		v := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
			uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
		// A byte with its high bit set, or a zero byte (v-lo borrows into
		// the high bit of a zero byte).
		if v&hi != 0 || (v-lo)&^v&hi != 0 {
			return false
		}
		s = s[8:]
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == 0 || c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
