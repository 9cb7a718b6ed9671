// Package money formats amounts of money and shares for people: CLI
// tables, alert texts and refusal messages. Amounts are integers of
// nano-USD (or google.type.Money); nothing here rounds through floating
// point.
//
// The rule matches the console's formatUSD (console/src/money.ts), so the
// CLI, alerts and the console print the same amount the same way:
//
//	from one dollar up: cents, rounded half up, thousands grouped   $1,234.57
//	below one dollar:   four significant digits, trailing zeros cut  $0.01235, $0.0082, $0.000042
//	zero:                                                            $0.00
//
// so a budget of $0.00001 reads "$0.00001", never "$0.00".
package money

import (
	"strconv"
	"strings"

	"google.golang.org/genproto/googleapis/type/money"
)

// NanosPerUSD is the number of nano-USD in a dollar.
const NanosPerUSD = 1_000_000_000

// FormatNanos formats an amount of nano-USD, e.g. "$0.0082" or "$1,234.56".
func FormatNanos(n int64) string {
	if n == 0 {
		return "$0.00"
	}
	a := uint64(n)
	sign := ""
	if n < 0 {
		a, sign = uint64(-(n+1))+1, "-" // also right for math.MinInt64
	}
	return sign + "$" + formatAbs(a)
}

func formatAbs(a uint64) string {
	if a >= NanosPerUSD {
		cents := (a + 5_000_000) / 10_000_000
		return group(strconv.FormatUint(cents/100, 10)) + "." + pad(strconv.FormatUint(cents%100, 10), 2)
	}
	digits := len(strconv.FormatUint(a, 10)) // a < 1e9: at most 9 digits of nanos
	decimals := max(2, min(9, 9-digits+4))
	scale := uint64(1)
	for range 9 - decimals {
		scale *= 10
	}
	q := (a + scale/2) / scale // rounded to `decimals` places
	frac := pad(strconv.FormatUint(q, 10), decimals)
	if len(frac) > decimals {
		return "1.00" // rounding carried into the dollars ($0.99999 → $1.00)
	}
	frac = strings.TrimRight(frac, "0")
	for len(frac) < 2 {
		frac += "0"
	}
	return "0." + frac
}

// Format formats a google.type.Money amount (USD) like FormatNanos; nil
// is "-". Another currency is printed with its code ("12.50 EUR").
func Format(m *money.Money) string {
	if m == nil {
		return "-"
	}
	units, nanos := m.GetUnits(), int64(m.GetNanos())
	var s string
	const maxUnits = (1<<63 - 1) / NanosPerUSD
	if units > -maxUnits && units < maxUnits {
		s = FormatNanos(units*NanosPerUSD + nanos)
	} else {
		// Beyond nine billion dollars: whole dollars are plenty.
		sign := ""
		if units < 0 {
			sign, units = "-", -units
		}
		s = sign + "$" + group(strconv.FormatInt(units, 10)) + ".00"
	}
	if c := m.GetCurrencyCode(); c != "" && c != "USD" {
		return strings.Replace(s, "$", "", 1) + " " + c
	}
	return s
}

// Nanos returns a google.type.Money amount in nano-units (0 for nil),
// saturating at the int64 range.
func Nanos(m *money.Money) int64 {
	const maxUnits = (1<<63 - 1) / NanosPerUSD
	switch u := m.GetUnits(); {
	case u >= maxUnits:
		return 1<<63 - 1
	case u <= -maxUnits:
		return -1 << 63
	}
	return m.GetUnits()*NanosPerUSD + int64(m.GetNanos())
}

// Percent formats part/total as a percentage with one decimal, rounded
// half up in integers ("42.3 %"); "-" when total is not positive.
func Percent(part, total int64) string {
	if total <= 0 {
		return "-"
	}
	if part < 0 {
		part = 0
	}
	// Tenths of a percent; part*1000 overflows only beyond 9.2e15.
	var tenths uint64
	if part <= (1<<63-1)/1000 {
		tenths = (uint64(part)*1000 + uint64(total)/2) / uint64(total)
	} else {
		tenths = uint64(float64(part) / float64(total) * 1000)
	}
	return strconv.FormatUint(tenths/10, 10) + "." + strconv.FormatUint(tenths%10, 10) + " %"
}

// Count formats a whole number with thousands grouped ("1,200").
func Count(n int64) string {
	if n < 0 {
		return "-" + group(strconv.FormatUint(uint64(-(n+1))+1, 10))
	}
	return group(strconv.FormatInt(n, 10))
}

func group(digits string) string {
	if len(digits) <= 3 {
		return digits
	}
	var b strings.Builder
	head := len(digits) % 3
	if head > 0 {
		b.WriteString(digits[:head])
	}
	for i := head; i < len(digits); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(digits[i : i+3])
	}
	return b.String()
}

func pad(s string, n int) string {
	for len(s) < n {
		s = "0" + s
	}
	return s
}
