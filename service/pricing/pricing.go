// Package pricing computes what a request cost from its token usage and the
// model's price, in exact integer nano-USD.
package pricing

import (
	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/store"
)

// NanosPerUSD is the number of nano-USD in one dollar.
const NanosPerUSD = 1_000_000_000

// Cost returns the cost of usage under p in nano-USD, rounded up so that
// many small requests are never free. Cached input tokens are charged at
// the cached price (the input price when that is zero); cache writes at the
// input price.
func Cost(p store.Pricing, u providers.Usage) int64 {
	cached := min(max(u.CachedInputTokens, 0), max(u.InputTokens, 0))
	fresh := max(u.InputTokens, 0) - cached
	cachedPrice := p.CachedInputPerMillion
	if cachedPrice == 0 {
		cachedPrice = p.InputPerMillion
	}
	// Prices are per million tokens; sum first, divide once.
	perMillion := fresh*p.InputPerMillion + cached*cachedPrice + max(u.OutputTokens, 0)*p.OutputPerMillion
	cost := perMillion / 1_000_000
	if perMillion%1_000_000 != 0 {
		cost++
	}
	return cost + p.PerRequest
}

// USD converts dollars (for example a list price per million tokens) to nano-USD.
func USD(dollars float64) int64 { return int64(dollars*NanosPerUSD + 0.5) }
