package money_test

import (
	"math"
	"testing"

	gmoney "google.golang.org/genproto/googleapis/type/money"

	"github.com/tollgate-dev/tollgate/internal/money"
)

func TestFormatNanos(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   int64
		want string
	}{
		// The console's cases (console/test/money.test.ts): both agree.
		{"zero", 0, "$0.00"},
		{"grouped cents", 1_234_560_000_000, "$1,234.56"},
		{"cents half up", 1_234_565_000_000, "$1,234.57"},
		{"four significant digits", 12_345_678, "$0.01235"},
		{"tiny", 42_000, "$0.000042"},
		{"rounds into a dollar", 999_999_999, "$1.00"},
		{"negative", -2_500_000_000, "-$2.50"},
		{"ten cents", 100_000_000, "$0.10"},
		// The examples: small budgets stay readable.
		{"a hundred-thousandth", 10_000, "$0.00001"},
		{"remaining", 8_200_000, "$0.0082"},
		{"a cent", 10_000_000, "$0.01"},
		{"reservation", 12_000_000, "$0.012"},
		{"one nano", 1, "$0.000000001"},
		{"one dollar", 1_000_000_000, "$1.00"},
		{"a million", 1_000_000 * 1_000_000_000, "$1,000,000.00"},
		{"min int64", math.MinInt64, "-$9,223,372,036.85"},
		{"max int64", math.MaxInt64, "$9,223,372,036.85"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := money.FormatNanos(tt.in); got != tt.want {
				t.Errorf("FormatNanos(%d) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   *gmoney.Money
		want string
	}{
		{"nil", nil, "-"},
		{"empty", &gmoney.Money{}, "$0.00"},
		{"usd", &gmoney.Money{CurrencyCode: "USD", Units: 12, Nanos: 500_000_000}, "$12.50"},
		{"small", &gmoney.Money{CurrencyCode: "USD", Nanos: 6300}, "$0.0000063"},
		{"negative", &gmoney.Money{Units: -1, Nanos: -250_000_000}, "-$1.25"},
		{"other currency", &gmoney.Money{CurrencyCode: "EUR", Units: 3}, "3.00 EUR"},
		{"huge", &gmoney.Money{CurrencyCode: "USD", Units: 20_000_000_000}, "$20,000,000,000.00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := money.Format(tt.in); got != tt.want {
				t.Errorf("Format(%v) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestPercentAndCount(t *testing.T) {
	t.Parallel()
	tests := []struct {
		part, total int64
		want        string
	}{
		{1, 3, "33.3 %"},
		{2, 3, "66.7 %"},
		{1, 8, "12.5 %"},
		{7, 7, "100.0 %"},
		{0, 7, "0.0 %"},
		{5, 0, "-"},
		{1, 2000, "0.1 %"},
		{1, 3000, "0.0 %"},
		{math.MaxInt64 / 2, math.MaxInt64, "50.0 %"},
	}
	for _, tt := range tests {
		if got := money.Percent(tt.part, tt.total); got != tt.want {
			t.Errorf("Percent(%d, %d) = %q, want %q", tt.part, tt.total, got, tt.want)
		}
	}
	for in, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -1200: "-1,200"} {
		if got := money.Count(in); got != want {
			t.Errorf("Count(%d) = %q, want %q", in, got, want)
		}
	}
}
