package telemetry

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tollgate-dev/tollgate/service/store"
)

// Metrics turns request records into Prometheus metrics: the
// OpenTelemetry GenAI families (gen_ai_*) and the gateway's spend families
// (tollgate_*). It observes each record once, where the engine hands it to
// the accounting writer (Tee), so every surface is counted the same way
// and the hot path pays one map lookup and a few atomic adds per request.
//
// Cardinality is bounded by design: labels are the surface, operation,
// team, service, requested model (the configured name or route), provider
// and served model, never key ids or end users. A request refused before
// its model was resolved (unknown key, unknown model, a model the key may
// not use) has an empty model label, so callers cannot mint series with
// made-up names. Past MaxSeries distinct label sets, further sets are
// counted under "_other" labels. The per-key label is opt-in (KeyLabel)
// and capped the same way.
type Metrics struct {
	maxSeries int
	maxKeys   int

	mu       sync.RWMutex
	children map[seriesKey]*child
	keys     map[string]*keyChild

	genaiTokens   *prometheus.HistogramVec
	genaiDuration *prometheus.HistogramVec
	genaiTTFT     *prometheus.HistogramVec
	guardrails    *prometheus.CounterVec
	upstreamErrs  *prometheus.CounterVec
	buildInfo     prometheus.Gauge
}

// Options configure Metrics.
type Options struct {
	// MaxSeries bounds the distinct label sets of the per-request
	// families (default 2,000).
	MaxSeries int
	// KeyLabel, when above 0, adds tollgate_key_requests_total and
	// tollgate_key_cost_nanousd_total with a key label for at most that
	// many keys (the rest are counted under "_other"). Off by default:
	// for small deployments only.
	KeyLabel int
	// Version, Commit and GoVersion label tollgate_build_info.
	Version, Commit, GoVersion string
}

// Other is the label value of series beyond the cardinality bound.
const Other = "_other"

// seriesKey is the label set shared by the per-request families.
type seriesKey struct {
	surface, operation, team, service, model, provider, served string
}

// child holds one label set's counters and its pre-resolved histograms.
type child struct {
	tokens     [numTokenTypes]atomic.Int64
	costNanos  atomic.Int64
	savedNanos atomic.Int64
	mu         sync.Mutex
	outcomes   map[outcomeKey]*atomic.Int64
	inTokens   prometheus.Observer
	outTokens  prometheus.Observer
	durationOK prometheus.Observer
	ttft       prometheus.Observer
}

// outcomeKey splits requests by how they ended and what the cache said.
type outcomeKey struct{ outcome, cache string }

type keyChild struct {
	requests, costNanos atomic.Int64
}

// Token types of tollgate_tokens_total.
const (
	tokInput = iota
	tokOutput
	tokCachedInput
	tokCacheWrite
	tokReasoning
	numTokenTypes
)

var tokenTypes = [numTokenTypes]string{"input", "output", "cached_input", "cache_write", "reasoning"}

// Classic buckets, as the GenAI semantic conventions advise; native
// histograms are exposed alongside them.
var (
	durationBuckets = []float64{0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92}
	ttftBuckets     = []float64{0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}
	tokenBuckets    = []float64{1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864}
)

func histogram(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: name, Help: help, Buckets: buckets,
		NativeHistogramBucketFactor:     1.1,
		NativeHistogramMaxBucketNumber:  160,
		NativeHistogramMinResetDuration: time.Hour,
	}, labels)
}

// GenAI label names (the semantic conventions' attribute names with dots
// as underscores).
var genaiLabels = []string{"gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model", "gen_ai_response_model"}

// NewMetrics returns the request metrics; register it (it is a
// prometheus.Collector) and feed it records with Observe or Tee.
func NewMetrics(o Options) *Metrics {
	if o.MaxSeries <= 0 {
		o.MaxSeries = 2000
	}
	m := &Metrics{
		maxSeries: o.MaxSeries, maxKeys: o.KeyLabel,
		children: map[seriesKey]*child{}, keys: map[string]*keyChild{},
		genaiTokens: histogram("gen_ai_client_token_usage", "Tokens used per request (GenAI semantic conventions), by token type.",
			tokenBuckets, append(genaiLabels, "gen_ai_token_type")...),
		genaiDuration: histogram("gen_ai_server_request_duration_seconds", "Time to answer a request, in seconds (GenAI semantic conventions); error_type is empty on success.",
			durationBuckets, append(genaiLabels, "error_type")...),
		genaiTTFT: histogram("gen_ai_server_time_to_first_token_seconds", "Time to the first token of a streamed answer, in seconds (GenAI semantic conventions).",
			ttftBuckets, genaiLabels...),
		guardrails: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tollgate_guardrail_verdicts_total",
			Help: "What the guardrails did, by policy, guardrail, stage (input, output) and action (flag, block, mutate, error)."},
			[]string{"policy", "guardrail", "stage", "action"}),
		upstreamErrs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tollgate_upstream_errors_total",
			Help: "Failed upstream attempts, by provider and kind (rate_limited, server, timeout, transport, ...); retried and fallen-back attempts included."},
			[]string{"provider", "kind"}),
		buildInfo: prometheus.NewGauge(prometheus.GaugeOpts{Name: "tollgate_build_info", Help: "Always 1; labels say which build runs.",
			ConstLabels: prometheus.Labels{"version": o.Version, "commit": o.Commit, "goversion": o.GoVersion}}),
	}
	m.buildInfo.Set(1)
	return m
}

// Recorder is what the engine hands its records to (gateway.Recorder).
type Recorder interface {
	Record(r store.Record)
}

// Tee returns a Recorder that observes each record and passes it on to next.
func (m *Metrics) Tee(next Recorder) Recorder { return tee{m: m, next: next} }

type tee struct {
	m    *Metrics
	next Recorder
}

func (t tee) Record(r store.Record) {
	t.m.Observe(&r)
	t.next.Record(r)
}

// UpstreamError counts one failed upstream attempt (gateway.WithAttemptErrors).
func (m *Metrics) UpstreamError(provider, kind string) {
	m.upstreamErrs.WithLabelValues(provider, kind).Inc()
}

// modelLabel is the requested model unless the request was refused
// before its model could be trusted to be a configured one.
func modelLabel(r *store.Record) string {
	switch r.ErrorCode {
	case "unauthenticated", "model_not_found", "permission_denied", "invalid_request", "request_too_large", "request_timeout":
		if r.Provider == "" {
			return ""
		}
	}
	return r.RequestedModel
}

// outcomeLabel is "ok" or the record's error code (a small fixed set).
func outcomeLabel(r *store.Record) string {
	if r.ErrorCode == "" {
		if r.Status == store.StatusOK {
			return "ok"
		}
		return "error"
	}
	return r.ErrorCode
}

// child returns the counters of k, creating them within the bound.
func (m *Metrics) child(k seriesKey) *child {
	m.mu.RLock()
	c := m.children[k]
	m.mu.RUnlock()
	if c != nil {
		return c
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if c = m.children[k]; c != nil {
		return c
	}
	if len(m.children) >= m.maxSeries {
		k = seriesKey{surface: k.surface, operation: k.operation, team: Other, service: Other, model: Other, provider: Other, served: Other}
		if c = m.children[k]; c != nil {
			return c
		}
	}
	op := genaiOperation(k.operation)
	c = &child{outcomes: map[outcomeKey]*atomic.Int64{},
		inTokens:   m.genaiTokens.WithLabelValues(op, k.provider, k.model, k.served, "input"),
		outTokens:  m.genaiTokens.WithLabelValues(op, k.provider, k.model, k.served, "output"),
		durationOK: m.genaiDuration.WithLabelValues(op, k.provider, k.model, k.served, ""),
		ttft:       m.genaiTTFT.WithLabelValues(op, k.provider, k.model, k.served),
	}
	m.children[k] = c
	return c
}

func genaiOperation(op string) string {
	if op == "embed" {
		return "embeddings"
	}
	return op
}

// Observe counts one finished request.
func (m *Metrics) Observe(r *store.Record) {
	k := seriesKey{surface: r.Surface, operation: r.Operation, team: r.TeamID, service: r.ServiceID,
		model: modelLabel(r), provider: r.Provider}
	if r.Provider != "" {
		k.served = r.Model
	}
	c := m.child(k)
	c.count(outcomeKey{outcome: outcomeLabel(r), cache: r.CacheStatus})
	toks := [numTokenTypes]int64{r.InputTokens, r.OutputTokens, r.CachedInputTokens, r.CacheWriteTokens, r.ReasoningTokens}
	for i, n := range toks {
		if n != 0 {
			c.tokens[i].Add(n)
		}
	}
	if r.CostNanos != 0 {
		c.costNanos.Add(r.CostNanos)
	}
	if r.SavedNanos != 0 {
		c.savedNanos.Add(r.SavedNanos)
	}
	if r.Provider != "" && r.ErrorCode == "" {
		c.inTokens.Observe(float64(r.InputTokens))
		c.outTokens.Observe(float64(r.OutputTokens))
	}
	if r.ErrorCode == "" {
		c.durationOK.Observe(r.Latency.Seconds())
	} else {
		m.genaiDuration.WithLabelValues(genaiOperation(k.operation), k.provider, k.model, k.served, r.ErrorCode).Observe(r.Latency.Seconds())
	}
	if r.TTFT > 0 {
		c.ttft.Observe(r.TTFT.Seconds())
	}
	for i := range r.Guardrails {
		v := &r.Guardrails[i]
		m.guardrails.WithLabelValues(v.Policy, v.Guardrail, v.Stage, v.Action).Inc()
	}
	if m.maxKeys > 0 && r.KeyID != "" {
		kc := m.keyChild(r.KeyID)
		kc.requests.Add(1)
		kc.costNanos.Add(r.CostNanos)
	}
}

func (c *child) count(o outcomeKey) {
	c.mu.Lock()
	n := c.outcomes[o]
	if n == nil {
		n = new(atomic.Int64)
		c.outcomes[o] = n
	}
	c.mu.Unlock()
	n.Add(1)
}

func (m *Metrics) keyChild(id string) *keyChild {
	m.mu.RLock()
	c := m.keys[id]
	m.mu.RUnlock()
	if c != nil {
		return c
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if c = m.keys[id]; c != nil {
		return c
	}
	if len(m.keys) >= m.maxKeys {
		id = Other
		if c = m.keys[id]; c != nil {
			return c
		}
	}
	c = new(keyChild)
	m.keys[id] = c
	return c
}

var (
	seriesLabels = []string{"surface", "operation", "team", "service", "model", "provider"}
	descRequests = prometheus.NewDesc("tollgate_requests_total",
		"Requests the engine finished, by surface, operation, team, service, requested model, provider, outcome (ok or the error code) and cache status.",
		append(seriesLabels, "outcome", "cache"), nil)
	descTokens = prometheus.NewDesc("tollgate_tokens_total",
		"Tokens used, by team, service, requested model, provider and type (input, output, cached_input, cache_write, reasoning).",
		append(seriesLabels, "type"), nil)
	descCostNanos = prometheus.NewDesc("tollgate_cost_nanousd_total", "Spend in nano-USD (10^-9 US dollars), exact.", seriesLabels, nil)
	descCostUSD   = prometheus.NewDesc("tollgate_cost_usd_total", "Spend in US dollars (tollgate_cost_nanousd_total / 1e9).", seriesLabels, nil)
	descSaved     = prometheus.NewDesc("tollgate_cache_saved_usd_total", "Upstream spend the response cache saved, in US dollars.", seriesLabels, nil)
	descCache     = prometheus.NewDesc("tollgate_cache_lookups_total",
		"Response cache lookups by team, requested model and result (hit-exact, hit-semantic, miss, bypass).",
		[]string{"team", "model", "result"}, nil)
	descRejections = prometheus.NewDesc("tollgate_limit_rejections_total",
		"Requests refused by budgets or rate limits, by team and reason (budget_exceeded, rate_limited, limits_unavailable).",
		[]string{"team", "service", "reason"}, nil)
	descKeyRequests = prometheus.NewDesc("tollgate_key_requests_total", "Requests per API key (opt-in, capped; see -metrics-key-label).", []string{"key"}, nil)
	descKeyCost     = prometheus.NewDesc("tollgate_key_cost_nanousd_total", "Spend per API key in nano-USD (opt-in, capped).", []string{"key"}, nil)
)

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRequests, descTokens, descCostNanos, descCostUSD, descSaved, descCache, descRejections} {
		ch <- d
	}
	if m.maxKeys > 0 {
		ch <- descKeyRequests
		ch <- descKeyCost
	}
	m.genaiTokens.Describe(ch)
	m.genaiDuration.Describe(ch)
	m.genaiTTFT.Describe(ch)
	m.guardrails.Describe(ch)
	m.upstreamErrs.Describe(ch)
	m.buildInfo.Describe(ch)
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	type cacheKey struct{ team, model, result string }
	type rejKey struct{ team, service, reason string }
	caches := map[cacheKey]int64{}
	rejections := map[rejKey]int64{}
	m.mu.RLock()
	for k, c := range m.children {
		lv := []string{k.surface, k.operation, k.team, k.service, k.model, k.provider}
		c.mu.Lock()
		for o, n := range c.outcomes {
			v := n.Load()
			ch <- prometheus.MustNewConstMetric(descRequests, prometheus.CounterValue, float64(v), append(lv[:6:6], o.outcome, o.cache)...)
			if o.cache != "" {
				caches[cacheKey{k.team, k.model, o.cache}] += v
			}
			switch o.outcome {
			case "budget_exceeded", "rate_limited", "limits_unavailable":
				rejections[rejKey{k.team, k.service, o.outcome}] += v
			}
		}
		c.mu.Unlock()
		for i := range c.tokens {
			if v := c.tokens[i].Load(); v != 0 {
				ch <- prometheus.MustNewConstMetric(descTokens, prometheus.CounterValue, float64(v), append(lv[:6:6], tokenTypes[i])...)
			}
		}
		if v := c.costNanos.Load(); v != 0 {
			ch <- prometheus.MustNewConstMetric(descCostNanos, prometheus.CounterValue, float64(v), lv...)
			ch <- prometheus.MustNewConstMetric(descCostUSD, prometheus.CounterValue, float64(v)/1e9, lv...)
		}
		if v := c.savedNanos.Load(); v != 0 {
			ch <- prometheus.MustNewConstMetric(descSaved, prometheus.CounterValue, float64(v)/1e9, lv...)
		}
	}
	for id, c := range m.keys {
		ch <- prometheus.MustNewConstMetric(descKeyRequests, prometheus.CounterValue, float64(c.requests.Load()), id)
		ch <- prometheus.MustNewConstMetric(descKeyCost, prometheus.CounterValue, float64(c.costNanos.Load()), id)
	}
	m.mu.RUnlock()
	for k, v := range caches {
		ch <- prometheus.MustNewConstMetric(descCache, prometheus.CounterValue, float64(v), k.team, k.model, k.result)
	}
	for k, v := range rejections {
		ch <- prometheus.MustNewConstMetric(descRejections, prometheus.CounterValue, float64(v), k.team, k.service, k.reason)
	}
	m.genaiTokens.Collect(ch)
	m.genaiDuration.Collect(ch)
	m.genaiTTFT.Collect(ch)
	m.guardrails.Collect(ch)
	m.upstreamErrs.Collect(ch)
	m.buildInfo.Collect(ch)
}

// Series returns the number of distinct label sets of the per-request
// families (bounded by Options.MaxSeries + one "_other" set per surface
// and operation).
func (m *Metrics) Series() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.children)
}
