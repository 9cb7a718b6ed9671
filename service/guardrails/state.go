package guardrails

import (
	"log/slog"
	"regexp"
	"strconv"
	"strings"
)

// State is the per-request memory of the guardrails: the placeholder
// numbering and, for reversible redaction, the originals of the input's
// placeholders. It lives as long as the request and is never stored or
// logged: its String and LogValue show counts only. A State is not safe
// for concurrent use; the engine uses it from one goroutine at a time.
type State struct {
	counters map[string]int
	byValue  map[string]string
	restore  map[string]string
}

// NewState returns an empty State.
func NewState() *State { return &State{} }

// placeholder returns the placeholder of value ("[EMAIL_2]"), the same for
// the same value within the request. With reversible, the original is kept
// for [State.Restore].
func (s *State) placeholder(label, value string, reversible bool) string {
	key := label + "\x00" + value
	if reversible {
		key += "\x00r"
	}
	if p, ok := s.byValue[key]; ok {
		return p
	}
	if s.counters == nil {
		s.counters, s.byValue = map[string]int{}, map[string]string{}
	}
	s.counters[label]++
	p := "[" + label + "_" + strconv.Itoa(s.counters[label]) + "]"
	s.byValue[key] = p
	if reversible {
		if s.restore == nil {
			s.restore = map[string]string{}
		}
		s.restore[p] = value
	}
	return p
}

// placeholderRE matches placeholders.
var placeholderRE = regexp.MustCompile(`\[[A-Z][A-Z_]*_[0-9]+\]`)

// placeholderTail returns where an unfinished placeholder starts at the
// end of a streamed text, or -1.
func placeholderTail(s string) int {
	i := strings.LastIndexByte(s, '[')
	if i < 0 {
		return -1
	}
	for j := i + 1; j < len(s); j++ {
		if c := s[j]; !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return -1
		}
	}
	return i
}

// Reversible reports whether Restore has anything to restore.
func (s *State) Reversible() bool { return s != nil && len(s.restore) > 0 }

// Restore replaces the reversible placeholders of this request in text by
// their originals.
func (s *State) Restore(text string) string {
	if !s.Reversible() || !strings.Contains(text, "[") {
		return text
	}
	return placeholderRE.ReplaceAllStringFunc(text, func(p string) string {
		if v, ok := s.restore[p]; ok {
			return v
		}
		return p
	})
}

// String shows counts only.
func (s *State) String() string {
	if s == nil {
		return "guardrails.State{}"
	}
	return "guardrails.State{placeholders:" + strconv.Itoa(len(s.byValue)) + " reversible:" + strconv.Itoa(len(s.restore)) + "}"
}

// GoString shows counts only.
func (s *State) GoString() string { return s.String() }

// LogValue shows counts only.
func (s *State) LogValue() slog.Value {
	if s == nil {
		return slog.GroupValue()
	}
	return slog.GroupValue(slog.Int("placeholders", len(s.byValue)), slog.Int("reversible", len(s.restore)))
}
