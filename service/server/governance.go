package server

import (
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tollgate-dev/tollgate/service/gateway"
	"github.com/tollgate-dev/tollgate/service/governance"
	"github.com/tollgate-dev/tollgate/service/store"
)

// GovernanceConfig holds the budget and rate-limit settings of the process.
type GovernanceConfig struct {
	// OutageRunway is how long budgeted traffic is served from leases
	// while Postgres cannot be reached, before it fails closed with 503
	// (see governance.WithOutageRunway).
	OutageRunway time.Duration
	// MaxWait bounds how long a request waits for a lease refill.
	MaxWait time.Duration
	// DefaultOutputTokens is what a chat request without max_tokens
	// reserves per choice, at least (see gateway.WithDefaultOutputTokens).
	DefaultOutputTokens int64
}

func defaultGovernanceConfig() GovernanceConfig {
	return GovernanceConfig{OutageRunway: 15 * time.Second, MaxWait: 2 * time.Second, DefaultOutputTokens: gateway.DefaultOutputTokens}
}

// registerFlags binds the governance settings to flags with defaults from
// the environment.
func (c *GovernanceConfig) registerFlags(e *envFlags) {
	e.duration(&c.OutageRunway, "budget-outage-runway", "TOLLGATE_BUDGET_OUTAGE_RUNWAY",
		"how long budgeted requests are served from leases while Postgres is unreachable before they get 503 (0: only while the lease held lasts)")
	e.duration(&c.MaxWait, "budget-max-wait", "TOLLGATE_BUDGET_MAX_WAIT",
		"longest a request waits for a budget or rate-limit lease refill before it gets 503")
	e.int64(&c.DefaultOutputTokens, "budget-default-output-tokens", "TOLLGATE_BUDGET_DEFAULT_OUTPUT_TOKENS",
		"output tokens a chat request without max_tokens reserves per choice, at least (raised to the largest recent output of its model)")
}

func (c *GovernanceConfig) validate() error {
	var errs []error
	if c.OutageRunway < 0 {
		errs = append(errs, errors.New("-budget-outage-runway must not be negative"))
	}
	if c.MaxWait <= 0 {
		errs = append(errs, errors.New("-budget-max-wait must be positive"))
	}
	if c.DefaultOutputTokens <= 0 {
		errs = append(errs, errors.New("-budget-default-output-tokens must be positive"))
	}
	return errors.Join(errs...)
}

// newGovernance returns the budget and rate-limit manager of cfg.
func newGovernance(cfg *GovernanceConfig, st store.Store, log *slog.Logger, opts ...governance.Option) *governance.Manager {
	return governance.New(st, append([]governance.Option{governance.WithLogger(log), governance.WithOutageRunway(cfg.OutageRunway),
		governance.WithMaxWait(cfg.MaxWait)}, opts...)...)
}

// governanceCollector exposes the budget and rate-limit manager's counters
// to Prometheus.
type governanceCollector struct {
	m                                                                 *governance.Manager
	calls, failures, callSeconds, waits, refused, unavailable, runway *prometheus.Desc
	topUps, topUpRefusals, offline                                    *prometheus.Desc
}

func newGovernanceCollector(m *governance.Manager) *governanceCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("tollgate_governance_"+name, help, nil, nil)
	}
	return &governanceCollector{
		m:             m,
		calls:         d("lease_calls_total", "Lease calls to Postgres (refills, reports, renewals, returns)."),
		failures:      d("lease_call_failures_total", "Lease calls that failed or timed out."),
		callSeconds:   d("lease_call_seconds_total", "Time spent in lease calls."),
		waits:         d("reservation_waits_total", "Reservations that waited for a lease call."),
		refused:       d("reservations_refused_total", "Reservations refused: budget exceeded or rate limited."),
		unavailable:   d("reservations_unavailable_total", "Reservations refused because the limits could not be checked in time (503)."),
		runway:        d("runway_admits_total", "Reservations admitted beyond the lease while Postgres could not answer (outage runway)."),
		topUps:        d("stream_top_ups_total", "Stream reservation top-ups granted."),
		topUpRefusals: d("stream_top_up_refusals_total", "Stream reservation top-ups refused (the stream was cut)."),
		offline:       d("offline_counters", "Budget and rate counters whose last lease call failed."),
	}
}

// Describe implements prometheus.Collector.
func (c *governanceCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.calls, c.failures, c.callSeconds, c.waits, c.refused, c.unavailable, c.runway,
		c.topUps, c.topUpRefusals, c.offline} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *governanceCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.m.Stats()
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	counter(c.calls, float64(s.LeaseCalls))
	counter(c.failures, float64(s.LeaseFailures))
	counter(c.callSeconds, s.LeaseCallTime.Seconds())
	counter(c.waits, float64(s.Waits))
	counter(c.refused, float64(s.Refused))
	counter(c.unavailable, float64(s.Unavailable))
	counter(c.runway, float64(s.RunwayAdmits))
	counter(c.topUps, float64(s.TopUps))
	counter(c.topUpRefusals, float64(s.TopUpRefusals))
	ch <- prometheus.MustNewConstMetric(c.offline, prometheus.GaugeValue, float64(s.Offline))
}
