package pricing_test

import (
	"testing"

	"github.com/tollgate-dev/tollgate/service/pricing"
	"github.com/tollgate-dev/tollgate/service/store"
)

func TestLookup(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		model string
		want  store.Pricing
		ok    bool
	}{
		{"exact", "gpt-4o", store.Pricing{InputPerMillion: 2_500_000_000, OutputPerMillion: 10_000_000_000, CachedInputPerMillion: 1_250_000_000}, true},
		{"longest prefix wins", "gpt-4o-mini", store.Pricing{InputPerMillion: 150_000_000, OutputPerMillion: 600_000_000, CachedInputPerMillion: 75_000_000}, true},
		{"dated snapshot", "gpt-4o-2024-08-06", store.Pricing{InputPerMillion: 2_500_000_000, OutputPerMillion: 10_000_000_000, CachedInputPerMillion: 1_250_000_000}, true},
		{"anthropic dated", "claude-haiku-4-5-20251001", store.Pricing{InputPerMillion: 1_000_000_000, OutputPerMillion: 5_000_000_000, CachedInputPerMillion: 100_000_000}, true},
		{"gemini with prefix", "models/gemini-2.5-flash", store.Pricing{InputPerMillion: 300_000_000, OutputPerMillion: 2_500_000_000, CachedInputPerMillion: 30_000_000}, true},
		{"flash-lite not flash", "gemini-2.5-flash-lite", store.Pricing{InputPerMillion: 100_000_000, OutputPerMillion: 400_000_000, CachedInputPerMillion: 10_000_000}, true},
		{"no partial word", "gpt-4omega", store.Pricing{}, false},
		{"unknown", "llama-3-70b", store.Pricing{}, false},
		{"empty", "", store.Pricing{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := pricing.Lookup(tt.model)
			if ok != tt.ok || got != tt.want {
				t.Errorf("Lookup(%q) = %+v, %v; want %+v, %v", tt.model, got, ok, tt.want, tt.ok)
			}
		})
	}
	if pricing.TableDate() == "" {
		t.Error("TableDate() is empty")
	}
}
