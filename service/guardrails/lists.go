package guardrails

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode"
)

// DenyListConfig is the config of KindDenyList.
type DenyListConfig struct {
	// Words are matched case-insensitively as whole words.
	Words []string `json:"words,omitempty"`
	// Patterns are regular expressions (RE2 syntax).
	Patterns []string `json:"patterns,omitempty"`
	// Allow lists regular expressions of matches to let through.
	Allow []string `json:"allow,omitempty"`
	// Category names the verdict category; default "denylist".
	Category string `json:"category,omitempty"`
}

// newDenyList compiles the words and patterns once into one regexp.
func newDenyList(raw json.RawMessage) (*spanDetector, error) {
	var c DenyListConfig
	if err := strictUnmarshal(raw, &c); err != nil {
		return nil, err
	}
	if len(c.Words) == 0 && len(c.Patterns) == 0 {
		return nil, fmt.Errorf("words or patterns are required")
	}
	if c.Category == "" {
		c.Category = "denylist"
	}
	d := &spanDetector{}
	if len(c.Patterns) > 0 {
		re, err := compileAlternation(c.Patterns)
		if err != nil {
			return nil, err
		}
		d.types = append(d.types, &spanType{category: c.Category, label: "REDACTED", re: re})
	}
	if len(c.Words) > 0 {
		wm, err := newWordMatcher(c.Words)
		if err != nil {
			return nil, err
		}
		d.types = append(d.types, &spanType{category: c.Category, label: "REDACTED", scan: wm.scan})
	}
	var err error
	if d.allow, err = compileAllow(c.Allow); err != nil {
		return nil, fmt.Errorf("allow: %w", err)
	}
	return d, nil
}

// SizeConfig is the config of KindSize.
type SizeConfig struct {
	// MaxBytes bounds the UTF-8 size of the checked text.
	MaxBytes int `json:"max_bytes,omitempty"`
	// MaxTokens bounds the estimated tokens (bytes/4, rounded up).
	MaxTokens int `json:"max_tokens,omitempty"`
}

type sizeDetector struct{ SizeConfig }

func newSize(raw json.RawMessage) (*sizeDetector, error) {
	var c SizeConfig
	if err := strictUnmarshal(raw, &c); err != nil {
		return nil, err
	}
	if c.MaxBytes <= 0 && c.MaxTokens <= 0 {
		return nil, fmt.Errorf("max_bytes or max_tokens is required")
	}
	return &sizeDetector{c}, nil
}

func (d *sizeDetector) judge(in judgeInput) finding {
	n := 0
	for _, t := range in.texts {
		n += len(t)
	}
	var f finding
	if d.MaxBytes > 0 && n > d.MaxBytes {
		f.categories = append(f.categories, "max_bytes")
	}
	if d.MaxTokens > 0 && (n+3)/4 > d.MaxTokens {
		f.categories = append(f.categories, "max_tokens")
	}
	f.count = len(f.categories)
	return f
}

// TopicsConfig is the config of KindTopics.
type TopicsConfig struct {
	// Allowed maps topic names to keywords: text that matches none of the
	// allowed topics is "off_topic".
	Allowed map[string][]string `json:"allowed,omitempty"`
	// Denied maps topic names to keywords: a match is "topic:<name>".
	Denied map[string][]string `json:"denied,omitempty"`
	// Languages lists the allowed languages (en, de, fr, es, it, pt, nl).
	// Text recognized as another of these is "language:<code>".
	Languages []string `json:"languages,omitempty"`
}

type topic struct {
	name string
	wm   *wordMatcher
}

type topicsDetector struct {
	allowed, denied []topic
	languages       []string
}

func newTopics(raw json.RawMessage) (*topicsDetector, error) {
	var c TopicsConfig
	if err := strictUnmarshal(raw, &c); err != nil {
		return nil, err
	}
	d := &topicsDetector{languages: c.Languages}
	var err error
	if d.allowed, err = compileTopics(c.Allowed); err != nil {
		return nil, err
	}
	if d.denied, err = compileTopics(c.Denied); err != nil {
		return nil, err
	}
	for _, l := range c.Languages {
		if _, ok := stopwords[l]; !ok {
			return nil, fmt.Errorf("unknown language %q", l)
		}
	}
	if len(d.allowed) == 0 && len(d.denied) == 0 && len(d.languages) == 0 {
		return nil, fmt.Errorf("allowed, denied or languages is required")
	}
	return d, nil
}

func compileTopics(m map[string][]string) ([]topic, error) {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	out := make([]topic, 0, len(names))
	for _, n := range names {
		if len(m[n]) == 0 {
			return nil, fmt.Errorf("topic %q has no keywords", n)
		}
		wm, err := newWordMatcher(m[n])
		if err != nil {
			return nil, fmt.Errorf("topic %q: %w", n, err)
		}
		out = append(out, topic{name: n, wm: wm})
	}
	return out, nil
}

func (d *topicsDetector) judge(in judgeInput) finding {
	text := strings.Join(in.texts, "\n")
	var f finding
	if strings.TrimSpace(text) == "" {
		return f
	}
	lower := asciiLower(text)
	if len(d.allowed) > 0 && !slices.ContainsFunc(d.allowed, func(t topic) bool { return t.wm.contains(lower) }) {
		f.categories = append(f.categories, "off_topic")
	}
	for _, t := range d.denied {
		if t.wm.contains(lower) {
			f.categories = append(f.categories, "topic:"+t.name)
		}
	}
	if len(d.languages) > 0 {
		if l := detectLanguage(text); l != "" && !slices.Contains(d.languages, l) {
			f.categories = append(f.categories, "language:"+l)
		}
	}
	f.count = len(f.categories)
	return f
}

// stopwords are a few frequent function words per language: enough to
// tell the languages apart in a paragraph, not a real identifier.
var stopwords = map[string][]string{
	"en": {"the", "and", "is", "are", "of", "to", "with", "this", "that", "what", "you", "for"},
	"de": {"der", "die", "das", "und", "ist", "nicht", "ich", "mit", "ein", "eine", "wie", "auf"},
	"fr": {"le", "la", "les", "et", "est", "une", "des", "pas", "pour", "avec", "je", "vous"},
	"es": {"el", "los", "las", "y", "es", "una", "por", "para", "con", "que", "no", "del"},
	"it": {"il", "gli", "di", "che", "non", "sono", "per", "una", "della", "con", "come", "questo"},
	"pt": {"o", "os", "as", "e", "um", "uma", "não", "para", "com", "que", "do", "da"},
	"nl": {"de", "het", "een", "en", "is", "niet", "van", "ik", "met", "dat", "zijn", "wat"},
}

// languages orders the languages of stopwords.
var languages = []string{"en", "de", "fr", "es", "it", "pt", "nl"}

// stopwordLangs maps each stopword to a bit set of the languages (by index
// in languages) it belongs to, built once.
var stopwordLangs = func() map[string]uint8 {
	m := map[string]uint8{}
	for i, l := range languages {
		for _, w := range stopwords[l] {
			m[w] |= 1 << i
		}
	}
	return m
}()

// maxLanguageWords bounds the words detectLanguage looks at.
const maxLanguageWords = 400

// detectLanguage returns the language with the most stopword hits, or ""
// when fewer than 3 words were recognized.
func detectLanguage(text string) string {
	var counts [8]int
	words := 0
	for w := range strings.FieldsFuncSeq(text, func(r rune) bool { return !unicode.IsLetter(r) }) {
		if words++; words > maxLanguageWords {
			break
		}
		if len(w) > 6 {
			continue // no stopword is longer
		}
		set, ok := stopwordLangs[w]
		if !ok {
			set, ok = stopwordLangs[strings.ToLower(w)]
		}
		if !ok {
			continue
		}
		for i := range languages {
			if set&(1<<i) != 0 {
				counts[i]++
			}
		}
	}
	best, bestN := "", 2
	for i, l := range languages {
		if counts[i] > bestN {
			best, bestN = l, counts[i]
		}
	}
	return best
}

// wordMatcher finds whole words and phrases, ignoring ASCII case. It
// searches with strings.Index, far cheaper than a case-insensitive regexp.
type wordMatcher struct{ words []string }

func newWordMatcher(words []string) (*wordMatcher, error) {
	wm := &wordMatcher{}
	for _, w := range words {
		if strings.TrimSpace(w) == "" {
			return nil, fmt.Errorf("empty word")
		}
		wm.words = append(wm.words, asciiLower(w))
	}
	return wm, nil
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// each calls f for each whole-word occurrence in lower (an asciiLower'd
// text) until f returns false.
func (wm *wordMatcher) each(lower string, f func(s, e int) bool) {
	for _, w := range wm.words {
		for from := 0; from < len(lower); {
			i := strings.Index(lower[from:], w)
			if i < 0 {
				break
			}
			s, e := from+i, from+i+len(w)
			from = s + 1
			if s > 0 && isWordByte(lower[s-1]) && isWordByte(w[0]) || e < len(lower) && isWordByte(lower[e]) && isWordByte(w[len(w)-1]) {
				continue
			}
			if !f(s, e) {
				return
			}
			from = e
		}
	}
}

func (wm *wordMatcher) contains(lower string) bool {
	found := false
	wm.each(lower, func(int, int) bool { found = true; return false })
	return found
}

// scan reports the occurrences in text (any case).
func (wm *wordMatcher) scan(text string, f func(s, e int)) {
	wm.each(asciiLower(text), func(s, e int) bool { f(s, e); return true })
}
