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
	// alpha and anchor, if set, make the search windowed: every match
	// consists of alpha bytes only and holds an anchor byte, so re runs
	// only on the maximal runs of alpha bytes around anchors (with one
	// byte of context each side, so \b sees what it would see in text).
	// Prose has few such runs: this is what keeps a 2 KB prompt cheap.
	alpha, anchor *byteSet
	// scan, if set, replaces re.
	scan func(text string, f func(s, e int))
}

// byteSet is a set of bytes.
type byteSet [256]bool

// bytesOf returns the set of the bytes of each string, where "a-z" is a range.
func bytesOf(specs ...string) *byteSet {
	var s byteSet
	for _, spec := range specs {
		if len(spec) == 3 && spec[1] == '-' {
			for c := int(spec[0]); c <= int(spec[2]); c++ {
				s[c] = true
			}
			continue
		}
		for i := 0; i < len(spec); i++ {
			s[spec[i]] = true
		}
	}
	return &s
}

// matches returns the raw matches of t in text.
func (t *spanType) matches(text string, f func(s, e int)) {
	if t.scan != nil {
		t.scan(text, f)
		return
	}
	if t.alpha == nil {
		for _, loc := range t.re.FindAllStringIndex(text, -1) {
			f(loc[0], loc[1])
		}
		return
	}
	for i := 0; i < len(text); {
		j := i
		for j < len(text) && !t.anchor[text[j]] {
			j++
		}
		if j == len(text) {
			return
		}
		lo, hi := j, j
		for lo > i && t.alpha[text[lo-1]] {
			lo--
		}
		for hi < len(text) && t.alpha[text[hi]] {
			hi++
		}
		cl, ch := max(lo-1, 0), min(hi+1, len(text))
		for _, loc := range t.re.FindAllStringIndex(text[cl:ch], -1) {
			f(cl+loc[0], cl+loc[1])
		}
		i = hi + 1
	}
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
	// tail, if set, returns where an unfinished token may start at the
	// end of a text (-1 if none); the stream filter holds it back.
	tail func(string) int
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
		t.matches(text, func(s, e int) {
			if t.valid != nil {
				ls, le, ok := t.valid(text[s:e])
				if !ok {
					return
				}
				s, e = s+ls, s+le
			}
			if d.allow != nil && fullMatch(d.allow, text[s:e]) {
				return
			}
			dst = append(dst, span{start: s, end: e, typ: t})
		})
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

// digits0to9 is the anchor of the numeric types.
var digits0to9 = bytesOf("0-9")

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
