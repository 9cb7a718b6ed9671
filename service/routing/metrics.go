package routing

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the Router's Prometheus metrics.
type metrics struct {
	requests    *prometheus.CounterVec
	errors      *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	transitions *prometheus.CounterVec
}

// targetMetrics are the metrics of one target, bound once so that the
// request path does no label lookups on success.
type targetMetrics struct {
	requests    prometheus.Counter
	latency     prometheus.Observer
	transitions prometheus.Counter
	errors      *prometheus.CounterVec
}

func newMetrics() *metrics {
	labels := []string{"provider", "model"}
	return &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_routing_attempts_total", Help: "Upstream attempts per target.",
		}, labels),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_routing_errors_total", Help: "Failed upstream attempts per target and class (retryable, context_length, fatal, canceled).",
		}, append(labels, "class")),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tollgate_routing_latency_seconds", Help: "Response time (time to first chunk for streams) of successful attempts per target.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 12),
		}, labels),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_routing_breaker_transitions_total", Help: "Circuit breaker state changes per target.",
		}, labels),
	}
}

func (m *metrics) bind(provider, model string) targetMetrics {
	return targetMetrics{
		requests:    m.requests.WithLabelValues(provider, model),
		latency:     m.latency.WithLabelValues(provider, model),
		transitions: m.transitions.WithLabelValues(provider, model),
		errors:      m.errors,
	}
}

var (
	breakerDesc = prometheus.NewDesc("tollgate_routing_breaker_state",
		"Circuit breaker state per target: 0 closed, 1 open, 2 half-open (or open past its cooldown).",
		[]string{"provider", "model"}, nil)
	inFlightDesc = prometheus.NewDesc("tollgate_routing_in_flight",
		"Upstream attempts in flight per target.", []string{"provider", "model"}, nil)
	ewmaDesc = prometheus.NewDesc("tollgate_routing_latency_ewma_seconds",
		"Peak-EWMA latency estimate per target.", []string{"provider", "model"}, nil)
)

// collector exposes a Router's metrics.
type collector struct{ r *Router }

// Collector returns a Prometheus collector of the Router's metrics:
// attempts, errors by class, latency histogram, breaker state and
// transitions, in-flight attempts and the latency estimate, per target.
func (r *Router) Collector() prometheus.Collector { return collector{r} }

// Describe implements prometheus.Collector.
func (c collector) Describe(ch chan<- *prometheus.Desc) {
	c.r.m.requests.Describe(ch)
	c.r.m.errors.Describe(ch)
	c.r.m.latency.Describe(ch)
	c.r.m.transitions.Describe(ch)
	ch <- breakerDesc
	ch <- inFlightDesc
	ch <- ewmaDesc
}

// Collect implements prometheus.Collector.
func (c collector) Collect(ch chan<- prometheus.Metric) {
	c.r.m.requests.Collect(ch)
	c.r.m.errors.Collect(ch)
	c.r.m.latency.Collect(ch)
	c.r.m.transitions.Collect(ch)
	now := c.r.clock()
	c.r.stats.Range(func(_, v any) bool {
		s := v.(*stats)
		ch <- prometheus.MustNewConstMetric(breakerDesc, prometheus.GaugeValue, float64(s.state(now)), s.provider, s.model)
		ch <- prometheus.MustNewConstMetric(inFlightDesc, prometheus.GaugeValue, float64(s.inFlight.Load()), s.provider, s.model)
		ch <- prometheus.MustNewConstMetric(ewmaDesc, prometheus.GaugeValue, s.latency()/1e9, s.provider, s.model)
		return true
	})
}
