package pricing_test

import (
	"testing"

	"github.com/tollgate-dev/tollgate/service/pricing"
)

// TestLookupCloudModelIDs: Bedrock model ids and inference profiles and
// Vertex AI's versioned ids find their list prices.
func TestLookupCloudModelIDs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		model, sameAs string
		input         float64
	}{
		{"us.anthropic.claude-sonnet-4-20250514-v1:0", "claude-sonnet-4", 0},
		{"anthropic.claude-3-5-haiku-20241022-v1:0", "claude-3-5-haiku", 0},
		{"global.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5", 0},
		{"claude-sonnet-4-5@20250929", "claude-sonnet-4-5", 0},
		{"meta.llama3-1-70b-instruct-v1:0", "", 0.72},
		{"us.meta.llama3-3-70b-instruct-v1:0", "", 0.72},
		{"amazon.titan-embed-text-v2:0", "", 0.02},
		{"us.amazon.nova-pro-v1:0", "", 0.80},
	}
	for _, tt := range tests {
		got, ok := pricing.Lookup(tt.model)
		if !ok {
			t.Errorf("Lookup(%q) found nothing", tt.model)
			continue
		}
		if tt.sameAs != "" {
			want, _ := pricing.Lookup(tt.sameAs)
			if got != want {
				t.Errorf("Lookup(%q) = %+v, want %s's %+v", tt.model, got, tt.sameAs, want)
			}
			continue
		}
		if got.InputPerMillion != pricing.USD(tt.input) {
			t.Errorf("Lookup(%q) input = %v, want %v", tt.model, got.InputPerMillion, pricing.USD(tt.input))
		}
	}
	if _, ok := pricing.Lookup("us.unknown-model"); ok {
		t.Error("an unknown model has a price")
	}
}
