package pricing_test

import (
	"testing"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/pricing"
	"github.com/tollgate-dev/tollgate/service/store"
)

func TestCost(t *testing.T) {
	t.Parallel()
	gpt4o := store.Pricing{InputPerMillion: pricing.USD(2.50), OutputPerMillion: pricing.USD(10), CachedInputPerMillion: pricing.USD(1.25)}
	tests := []struct {
		name  string
		price store.Pricing
		usage providers.Usage
		want  int64
	}{
		{"zero", gpt4o, providers.Usage{}, 0},
		{"one million in", gpt4o, providers.Usage{InputTokens: 1_000_000}, 2_500_000_000},
		{"in and out", gpt4o, providers.Usage{InputTokens: 1000, OutputTokens: 500}, 2_500_000 + 5_000_000},
		{"cached half price", gpt4o, providers.Usage{InputTokens: 1000, CachedInputTokens: 1000}, 1_250_000},
		{"cached without cached price", store.Pricing{InputPerMillion: 1000}, providers.Usage{InputTokens: 10, CachedInputTokens: 5}, 1},
		{"rounds up", store.Pricing{InputPerMillion: pricing.USD(0.075)}, providers.Usage{InputTokens: 1}, 75},
		{"sub-nano rounds up", store.Pricing{InputPerMillion: 1}, providers.Usage{InputTokens: 1}, 1},
		{"per request fee", store.Pricing{PerRequest: 500}, providers.Usage{InputTokens: 10}, 500},
		{"negative usage ignored", gpt4o, providers.Usage{InputTokens: -5, OutputTokens: -1}, 0},
		{"cached above input clamps", gpt4o, providers.Usage{InputTokens: 10, CachedInputTokens: 20}, 12_500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := pricing.Cost(tt.price, tt.usage); got != tt.want {
				t.Fatalf("Cost = %d, want %d", got, tt.want)
			}
		})
	}
}
