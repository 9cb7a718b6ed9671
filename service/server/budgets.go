package server

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tollgate-dev/tollgate/service/governance"
)

// budgetCollector exposes each money budget's limit, spend and what is
// left in its current period. Spend is read from the store (one counter
// read per budget), at most once per budgetRefresh whatever the scrape
// rate, and for at most maxBudgetSeries budgets.
type budgetCollector struct {
	gov *governance.Manager

	mu      sync.Mutex
	at      time.Time
	samples []budgetSample
}

type budgetSample struct {
	id, scope, team              string
	limit, spent, reserved, left float64
}

const (
	budgetRefresh    = 2 * time.Second
	maxBudgetSeries  = 1000
	budgetReadBudget = 5 * time.Second
)

var (
	budgetLabels     = []string{"budget", "scope", "team"}
	descBudgetLimit  = prometheus.NewDesc("tollgate_budget_limit_usd", "A money budget's limit per period, in US dollars.", budgetLabels, nil)
	descBudgetSpent  = prometheus.NewDesc("tollgate_budget_spent_usd", "Spend reported against a budget in its current period, in US dollars (replicas report every second).", budgetLabels, nil)
	descBudgetLeased = prometheus.NewDesc("tollgate_budget_reserved_usd", "Budget leased to replicas and not reported yet, in US dollars.", budgetLabels, nil)
	descBudgetLeft   = prometheus.NewDesc("tollgate_budget_remaining_usd", "What is left of a budget in its current period (limit - spent - reserved, at least 0), in US dollars.", budgetLabels, nil)
)

// Describe implements prometheus.Collector.
func (c *budgetCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descBudgetLimit
	ch <- descBudgetSpent
	ch <- descBudgetLeased
	ch <- descBudgetLeft
}

// Collect implements prometheus.Collector.
func (c *budgetCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	if time.Since(c.at) >= budgetRefresh {
		c.samples, c.at = c.read(), time.Now()
	}
	samples := c.samples
	c.mu.Unlock()
	for _, s := range samples {
		lv := []string{s.id, s.scope, s.team}
		ch <- prometheus.MustNewConstMetric(descBudgetLimit, prometheus.GaugeValue, s.limit, lv...)
		ch <- prometheus.MustNewConstMetric(descBudgetSpent, prometheus.GaugeValue, s.spent, lv...)
		ch <- prometheus.MustNewConstMetric(descBudgetLeased, prometheus.GaugeValue, s.reserved, lv...)
		ch <- prometheus.MustNewConstMetric(descBudgetLeft, prometheus.GaugeValue, s.left, lv...)
	}
}

// read reads every money budget's status; a budget whose status cannot
// be read is left out of this scrape.
func (c *budgetCollector) read() []budgetSample {
	ctx, cancel := context.WithTimeout(context.Background(), budgetReadBudget)
	defer cancel()
	var out []budgetSample
	for _, b := range c.gov.Budgets(governance.Subject{}, "") {
		if b.LimitNanos <= 0 || len(out) >= maxBudgetSeries {
			continue
		}
		s, err := c.gov.Status(ctx, b)
		if err != nil {
			continue
		}
		out = append(out, budgetSample{id: b.ID, scope: string(b.Scope), team: b.TeamID,
			limit: usdOf(b.LimitNanos), spent: usdOf(s.SpentNanos), reserved: usdOf(s.ReservedNanos), left: usdOf(s.RemainingNanos)})
	}
	return out
}

func usdOf(nanos int64) float64 { return float64(nanos) / 1e9 }
