package guardrails

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// injectionPattern is one weighted signal of a prompt injection.
type injectionPattern struct {
	name   string
	weight float64
	re     *regexp.Regexp
	// triggers, if set, are lower-case literals one of which must occur
	// for re to be tried: a cheap prefilter, the regexps are the cost.
	triggers []string
}

// defaultInjectionPatterns are the built-in signals; weights add up per
// text, each pattern counted once.
var defaultInjectionPatterns = []injectionPattern{
	{"ignore_instructions", 1.0, regexp.MustCompile(`(?i)\b(?:ignore|disregard|forget|override|bypass)\s+(?:(?:all|any|every|the|your|my|of)\s+)*(?:previous|prior|above|earlier|preceding|former|original|system)\s+(?:instructions?|prompts?|directions?|rules|messages?|context|guidelines)`), []string{"ignore", "disregard", "forget", "override", "bypass"}},
	{"forget_everything", 0.8, regexp.MustCompile(`(?i)\bforget\s+(?:everything|all)\s+(?:you|that|above|before)`), []string{"forget"}},
	{"role_override", 0.6, regexp.MustCompile(`(?i)\b(?:you\s+are\s+now|from\s+now\s+on,?\s+you\s+are|act\s+as\s+(?:an?\s+)?(?:unrestricted|unfiltered|jailbroken)|pretend\s+(?:to\s+be|you\s+are))\b`), []string{"you are now", "from now on", "act as", "pretend"}},
	{"fake_system_role", 0.5, regexp.MustCompile(`(?im)^\s*(?:system|assistant|developer)\s*:`), []string{"system", "assistant", "developer"}},
	{"fake_delimiter", 0.7, regexp.MustCompile(`(?i)</?(?:system|instructions?|sys)>|<\|im_(?:start|end)\|>|<\|(?:system|endoftext)\|>|\[/?INST\]|<<SYS>>`), []string{"<system", "</system", "<instruction", "</instruction", "<sys>", "</sys>", "<|", "[inst]", "[/inst]", "<<sys>>"}},
	{"markdown_instruction", 0.5, regexp.MustCompile(`(?im)^\s*#{2,}\s*(?:new\s+)?(?:instructions?|system(?:\s+prompt)?)\b`), []string{"##"}},
	{"new_instructions", 0.5, regexp.MustCompile(`(?i)\bnew\s+instructions?\s*:`), []string{"new instruction"}},
	{"prompt_exfiltration", 0.7, regexp.MustCompile(`(?i)\b(?:reveal|print|show|repeat|output|leak)\s+(?:me\s+)?(?:your|the)\s+(?:system\s+prompt|hidden\s+(?:prompt|instructions)|initial\s+instructions|instructions\s+above)`), []string{"system prompt", "hidden prompt", "hidden instructions", "initial instructions", "instructions above"}},
	{"jailbreak", 0.4, regexp.MustCompile(`(?i)\b(?:developer\s+mode|jailbreak|do\s+anything\s+now)\b`), []string{"developer mode", "jailbreak", "do anything now"}},
	{"html_comment", 0.3, regexp.MustCompile(`<!--[\s\S]*?-->`), []string{"<!--"}},
	{"invisible_css", 0.4, regexp.MustCompile(`(?i)(?:display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?:px)?\b|opacity\s*:\s*0(?:\.0+)?\b|color\s*:\s*(?:white|#fff(?:fff)?)\b)`), []string{"display", "visibility", "font-size", "opacity", "color"}},
}

const (
	weightZeroWidth = 0.5
	weightBidi      = 0.6
	weightBase64    = 0.8
)

// base64Run finds candidate base64 payloads.
var base64Run = regexp.MustCompile(`[A-Za-z0-9+/]{24,}={0,2}`)

// InjectionConfig is the config of KindInjection (a guardrail's "config").
type InjectionConfig struct {
	// Threshold is the score at which a text is flagged; default 1.0.
	Threshold float64 `json:"threshold,omitempty"`
	// Patterns adds weighted regular expressions.
	Patterns []InjectionPattern `json:"patterns,omitempty"`
}

// InjectionPattern is a weighted regular expression of InjectionConfig.
type InjectionPattern struct {
	// Name names the pattern in verdicts.
	Name string `json:"name,omitempty"`
	// Pattern is a regular expression (RE2 syntax).
	Pattern string `json:"pattern,omitempty"`
	// Weight is added to the text's score on a match.
	Weight float64 `json:"weight,omitempty"`
}

// injectionDetector scores each text; a text at or above the threshold is
// a match.
type injectionDetector struct {
	threshold float64
	patterns  []injectionPattern
}

func newInjection(raw json.RawMessage) (*injectionDetector, error) {
	var c InjectionConfig
	if err := strictUnmarshal(raw, &c); err != nil {
		return nil, err
	}
	d := &injectionDetector{threshold: c.Threshold, patterns: defaultInjectionPatterns}
	if d.threshold <= 0 {
		d.threshold = 1.0
	}
	if len(c.Patterns) > 0 {
		d.patterns = append([]injectionPattern(nil), defaultInjectionPatterns...)
		for _, p := range c.Patterns {
			re, err := regexp.Compile(p.Pattern)
			if err != nil {
				return nil, fmt.Errorf("pattern %q: %w", p.Name, err)
			}
			if p.Name == "" || p.Weight <= 0 {
				return nil, fmt.Errorf("pattern %q: name and a positive weight are required", p.Name)
			}
			d.patterns = append(d.patterns, injectionPattern{name: p.Name, weight: p.Weight, re: re})
		}
	}
	return d, nil
}

func (d *injectionDetector) judge(in judgeInput) finding {
	var f finding
	for _, t := range in.texts {
		score, cats := d.score(t, 0)
		if score >= d.threshold {
			f.count++
			f.categories = mergeCategories(f.categories, cats)
		}
		f.score = max(f.score, score)
	}
	return f
}

// score returns the text's score and the signals that matched.
func (d *injectionDetector) score(text string, depth int) (float64, []string) {
	var score float64
	var cats []string
	hidden := false
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(text[i:])
		i += n
		switch {
		case isZeroWidth(r):
			if !hasCat(cats, "zero_width") {
				score += weightZeroWidth
				cats = append(cats, "zero_width")
			}
			hidden = true
		case isBidi(r):
			if !hasCat(cats, "bidi_override") {
				score += weightBidi
				cats = append(cats, "bidi_override")
			}
			hidden = true
		}
	}
	if hidden {
		text = stripHidden(text)
	}
	lower := asciiLower(text)
	for _, p := range d.patterns {
		if len(p.triggers) > 0 && !containsAnyOf(lower, p.triggers) {
			continue
		}
		if p.re.MatchString(text) {
			score += p.weight
			cats = append(cats, p.name)
		}
	}
	if depth == 0 && hasBase64Run(text) {
		for _, run := range base64Run.FindAllString(text, 8) {
			b, err := base64.StdEncoding.DecodeString(padBase64(run))
			if err != nil || !utf8.Valid(b) {
				continue
			}
			if s, _ := d.score(string(b), 1); s > 0 {
				score += weightBase64 + s
				cats = append(cats, "base64_instructions")
				break
			}
		}
	}
	return score, cats
}

// asciiLower lower-cases ASCII letters only (the triggers are ASCII).
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'A' && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

func containsAnyOf(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// hasBase64Run reports whether s has a run of 24 base64 characters, the
// shortest payload base64Run looks at.
func hasBase64Run(s string) bool {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '/' {
			n++
			if n >= 24 {
				return true
			}
		} else {
			n = 0
		}
	}
	return false
}

func padBase64(s string) string {
	s = strings.TrimRight(s, "=")
	if m := len(s) % 4; m != 0 {
		s += strings.Repeat("=", 4-m)
	}
	return s
}

func isZeroWidth(r rune) bool {
	return r == 0x200B || r == 0x200C || r == 0x200D || r == 0x2060 || r == 0xFEFF || r == 0x00AD
}

func isBidi(r rune) bool { return (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069) }

func stripHidden(s string) string {
	return strings.Map(func(r rune) rune {
		if isZeroWidth(r) || isBidi(r) {
			return -1
		}
		return r
	}, s)
}

func hasCat(cats []string, c string) bool {
	for _, x := range cats {
		if x == c {
			return true
		}
	}
	return false
}
