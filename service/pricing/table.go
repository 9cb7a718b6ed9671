package pricing

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/tollgate-dev/tollgate/service/store"
)

// pricesJSON is the embedded list-price table (see prices.json).
//
//go:embed prices.json
var pricesJSON []byte

// listPrice is one model's entry in prices.json, in USD per million tokens.
type listPrice struct {
	Input       float64 `json:"input"`
	Output      float64 `json:"output"`
	CachedInput float64 `json:"cached_input"`
}

// priceTable is the parsed form of prices.json.
type priceTable struct {
	Checked string               `json:"checked"`
	Models  map[string]listPrice `json:"models"`
}

// table parses the embedded table once; the result is never modified.
var table = sync.OnceValues(func() (priceTable, error) {
	var t priceTable
	if err := json.Unmarshal(pricesJSON, &t); err != nil {
		return priceTable{}, fmt.Errorf("pricing: prices.json: %w", err)
	}
	return t, nil
})

// TableDate returns the date the embedded price table was last checked.
func TableDate() string {
	t, _ := table()
	return t.Checked
}

// Lookup returns the list price of an upstream model from the embedded
// table, prices.json. A model matches its own entry or, failing that, the
// longest entry it extends with a "-" (so "gpt-4o-2024-08-06" has the price
// of "gpt-4o", and "gpt-4o-mini" its own); a "provider/" or "models/"
// prefix is ignored. Cloud model ids are matched too: a Bedrock
// cross-region inference profile's geography ("us.", "eu.", "apac.",
// "global.") and the "anthropic." vendor prefix are ignored
// ("us.anthropic.claude-sonnet-4-20250514-v1:0" has the price of
// "claude-sonnet-4"), and a Vertex AI version after '@' counts as a '-'
// ("claude-sonnet-4-5@20250929"), as does a Bedrock version after ':'. Admin CreateModel uses it when a model
// is created without pricing; explicit pricing always wins.
func Lookup(model string) (store.Pricing, bool) {
	t, err := table()
	if err != nil || model == "" {
		return store.Pricing{}, false
	}
	if i := strings.LastIndexByte(model, '/'); i >= 0 {
		model = model[i+1:]
	}
	model = strings.ToLower(model)
	for _, geo := range []string{"us.", "eu.", "apac.", "global.", "jp.", "au.", "ca.", "us-gov."} {
		if rest, ok := strings.CutPrefix(model, geo); ok && strings.Contains(rest, ".") {
			model = rest
			break
		}
	}
	model = strings.TrimPrefix(model, "anthropic.")
	model = strings.NewReplacer("@", "-", ":", "-").Replace(model)
	best, found := "", false
	for name := range t.Models {
		if (model == name || strings.HasPrefix(model, name+"-")) && len(name) > len(best) {
			best, found = name, true
		}
	}
	if !found {
		return store.Pricing{}, false
	}
	p := t.Models[best]
	return store.Pricing{InputPerMillion: USD(p.Input), OutputPerMillion: USD(p.Output), CachedInputPerMillion: USD(p.CachedInput)}, true
}
