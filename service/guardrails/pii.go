package guardrails

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
)

// The PII types, by config name.
var piiTypes = map[string]*spanType{
	"email": {
		category: "email", label: "EMAIL",
		re:     regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}`),
		pre:    containsAny("@"),
		alpha:  bytesOf("A-Z", "a-z", "0-9", "._%+-@"),
		anchor: bytesOf("@"),
	},
	"card": {
		category: "card", label: "CARD",
		re:     regexp.MustCompile(`\b\d(?:[ -]?\d){12,18}\b`),
		pre:    hasDigits(13),
		valid:  validCard,
		alpha:  bytesOf("0-9", " -"),
		anchor: digits0to9,
	},
	"iban": {
		category: "iban", label: "IBAN",
		re:     regexp.MustCompile(`\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b`),
		pre:    hasDigits(4),
		valid:  validIBAN,
		alpha:  bytesOf("A-Z", "0-9", " "),
		anchor: digits0to9,
	},
	"ssn": {
		category: "ssn", label: "SSN",
		re:     regexp.MustCompile(`\b\d{3}-\d{2}-\d{4}\b`),
		pre:    hasDigits(9),
		valid:  validSSN,
		alpha:  bytesOf("0-9", "-"),
		anchor: digits0to9,
	},
	"phone": {
		category: "phone", label: "PHONE",
		// International (+CC or 00CC, separators, an optional bracketed
		// area code) and North American national formats.
		re:     regexp.MustCompile(`(?:\+|\b00)[1-9]\d{0,2}(?:[ .-]?\(\d{1,4}\))?(?:[ .-]?\d{1,5}){2,6}\b|(?:\(\d{3}\) ?|\b\d{3}[-.])\d{3}[-.]\d{4}\b`),
		pre:    hasDigits(7),
		valid:  validPhone,
		alpha:  bytesOf("0-9", " .-()+"),
		anchor: digits0to9,
	},
	"ip": {
		category: "ip", label: "IP",
		re:     regexp.MustCompile(`\b(?:\d{1,3}\.){3}\d{1,3}\b|[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:(?:\d{1,3}\.){3}\d{1,3})?`),
		pre:    containsAny(".", ":"),
		valid:  validIP,
		alpha:  bytesOf("0-9", "a-f", "A-F", ".:"),
		anchor: bytesOf("0-9", ":"),
	},
}

// piiOrder is the default set and the precedence of overlapping matches.
var piiOrder = []string{"email", "card", "iban", "ssn", "phone", "ip"}

// PIIConfig is the config of KindPII.
type PIIConfig struct {
	// Types limits detection to these types; empty means all.
	Types []string `json:"types,omitempty"`
	// Reversible restores mutate-mode placeholders in the output of the
	// same request.
	Reversible bool `json:"reversible,omitempty"`
	// Allow lists regular expressions of values never reported.
	Allow []string `json:"allow,omitempty"`
}

func newPII(raw json.RawMessage) (*spanDetector, error) {
	var c PIIConfig
	if err := strictUnmarshal(raw, &c); err != nil {
		return nil, err
	}
	return newSpanDetector(piiTypes, piiOrder, c.Types, c.Allow, c.Reversible, nil)
}

func newSpanDetector(all map[string]*spanType, order, want, allow []string, reversible bool, tail func(string) int) (*spanDetector, error) {
	d := &spanDetector{reversible: reversible, tail: tail}
	for _, w := range want {
		if all[w] == nil {
			return nil, fmt.Errorf("unknown type %q", w)
		}
	}
	for _, name := range order {
		if len(want) == 0 || slices.Contains(want, name) {
			d.types = append(d.types, all[name])
		}
	}
	var err error
	if d.allow, err = compileAllow(allow); err != nil {
		return nil, fmt.Errorf("allow: %w", err)
	}
	return d, nil
}

// digits returns the ASCII digits of s.
func digits(s string) []byte {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i]-'0' < 10 {
			b = append(b, s[i])
		}
	}
	return b
}

// luhn reports whether the digit string passes the Luhn checksum.
func luhn(d []byte) bool {
	sum := 0
	for i := range d {
		n := int(d[len(d)-1-i] - '0')
		if i%2 == 1 {
			n *= 2
			if n > 9 {
				n -= 9
			}
		}
		sum += n
	}
	return sum%10 == 0
}

func validCard(s string) (int, int, bool) {
	d := digits(s)
	if len(d) < 13 || len(d) > 19 || !luhn(d) {
		return 0, 0, false
	}
	// All-equal digits (0000 0000 ...) pass Luhn but are no card.
	if strings.Count(string(d), string(d[0])) == len(d) {
		return 0, 0, false
	}
	return 0, len(s), true
}

// validIBAN checks the ISO 13616 mod-97 checksum.
func validIBAN(s string) (int, int, bool) {
	c := strings.ReplaceAll(s, " ", "")
	if len(c) < 15 || len(c) > 34 {
		return 0, 0, false
	}
	r := c[4:] + c[:4]
	// Fold the expanded number modulo 97 piecewise; big.Int only as a
	// fallback would be slower, so compute by digit.
	m := 0
	for i := 0; i < len(r); i++ {
		ch := r[i]
		switch {
		case ch >= '0' && ch <= '9':
			m = (m*10 + int(ch-'0')) % 97
		case ch >= 'A' && ch <= 'Z':
			v := int(ch-'A') + 10
			m = (m*100 + v) % 97
		default:
			return 0, 0, false
		}
	}
	if m != 1 {
		return 0, 0, false
	}
	return 0, len(s), true
}

// validSSN excludes the ranges never issued: area 000, 666 and 900-999,
// group 00, serial 0000.
func validSSN(s string) (int, int, bool) {
	area, group, serial := s[0:3], s[4:6], s[7:11]
	if area == "000" || area == "666" || area[0] == '9' || group == "00" || serial == "0000" {
		return 0, 0, false
	}
	return 0, len(s), true
}

// validPhone accepts 7 to 15 digits (E.164 allows 15).
func validPhone(s string) (int, int, bool) {
	n := len(digits(s))
	return 0, len(s), n >= 8 && n <= 15
}

func validIP(s string) (int, int, bool) {
	s2 := strings.Trim(s, ":")
	if strings.Contains(s, "::") {
		s2 = s // keep compressed forms intact
	}
	a, err := netip.ParseAddr(s2)
	if err != nil || (a.Is6() && (strings.Count(s, ":") < 2 || !strings.ContainsAny(s2, "0123456789"))) {
		return 0, 0, false
	}
	i := strings.Index(s, s2)
	return i, i + len(s2), true
}
