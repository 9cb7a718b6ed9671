package guardrails

import (
	"regexp"
	"slices"
	"strings"
)

// spanType is one kind of sensitive token a span detector finds.
type spanType struct {
	// category is the verdict category ("email").
	category string
	// label names the placeholder ("EMAIL" gives "[EMAIL_1]").
	label string
	re    *regexp.Regexp
	// pre, if set, cheaply rejects texts that cannot match.
	pre func(string) bool
	// valid, if set, checks a candidate (checksums, ranges); it may also
	// trim it, returning the offsets of the real match within it.
	valid func(string) (start, end int, ok bool)
}

// span is a match [start, end) of a text.
type span struct {
	start, end int
	typ        *spanType
}

// spanDetector finds typed tokens: PII, secrets, deny-listed words.
type spanDetector struct {
	types []*spanType
	// allow, if set, exempts a match whose whole text it matches.
	allow *regexp.Regexp
	// tail, if set, matches at the end of a text that may be the start of
	// a token not yet complete; the stream filter holds it back.
	tail *regexp.Regexp
	// reversible keeps the originals of mutate-mode placeholders in the
	// request's State, to be restored in the output.
	reversible bool
}

// find appends the non-overlapping matches in text to dst, ordered by start.
func (d *spanDetector) find(text string, dst []span) []span {
	first := len(dst)
	for _, t := range d.types {
		if t.pre != nil && !t.pre(text) {
			continue
		}
		for _, loc := range t.re.FindAllStringIndex(text, -1) {
			s, e := loc[0], loc[1]
			if t.valid != nil {
				ls, le, ok := t.valid(text[s:e])
				if !ok {
					continue
				}
				s, e = s+ls, s+le
			}
			if d.allow != nil && fullMatch(d.allow, text[s:e]) {
				continue
			}
			dst = append(dst, span{start: s, end: e, typ: t})
		}
	}
	found := dst[first:]
	if len(found) < 2 {
		return dst
	}
	// Earlier first, longer first at the same start; drop overlaps.
	slices.SortStableFunc(found, func(a, b span) int {
		if a.start != b.start {
			return a.start - b.start
		}
		return b.end - a.end
	})
	out := found[:1]
	for _, s := range found[1:] {
		if s.start >= out[len(out)-1].end {
			out = append(out, s)
		}
	}
	return dst[:first+len(out)]
}

func fullMatch(re *regexp.Regexp, s string) bool {
	loc := re.FindStringIndex(s)
	return loc != nil && loc[0] == 0 && loc[1] == len(s)
}

// compileAllow compiles an allow list of regular expressions into one.
func compileAllow(patterns []string) (*regexp.Regexp, error) {
	if len(patterns) == 0 {
		return nil, nil
	}
	return compileAlternation(patterns)
}

// compileAlternation joins patterns into one regexp, each in its own group.
func compileAlternation(patterns []string) (*regexp.Regexp, error) {
	var b strings.Builder
	for i, p := range patterns {
		if _, err := regexp.Compile(p); err != nil {
			return nil, err
		}
		if i > 0 {
			b.WriteByte('|')
		}
		b.WriteString("(?:")
		b.WriteString(p)
		b.WriteByte(')')
	}
	return regexp.Compile(b.String())
}

// hasDigits reports whether s has at least n ASCII digits.
func hasDigits(n int) func(string) bool {
	return func(s string) bool {
		c := 0
		for i := 0; i < len(s); i++ {
			if s[i]-'0' < 10 {
				c++
				if c >= n {
					return true
				}
			}
		}
		return false
	}
}

func containsAny(subs ...string) func(string) bool {
	return func(s string) bool {
		for _, sub := range subs {
			if strings.Contains(s, sub) {
				return true
			}
		}
		return false
	}
}
