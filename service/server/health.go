package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tollgate-dev/tollgate/gen/tollgate/v1/tollgatev1connect"
	"github.com/tollgate-dev/tollgate/service/keys"
	"github.com/tollgate-dev/tollgate/service/registry"
	"github.com/tollgate-dev/tollgate/service/rpc"
)

// Readiness and health.
//
// /readyz (and gRPC health) answers "ready" once the configuration is
// loaded and until shutdown begins: a replica that lost Postgres keeps
// serving from memory, so a load balancer must not pull it (it would pull
// every replica at once). What is degraded shows in /healthz's JSON detail
// and in the metrics: Postgres unreachable, the configuration older than
// its staleness bound, records spilling to disk.
//
// /healthz is the liveness probe: 200 whenever the process serves HTTP.

// pingInterval is how often Postgres reachability is checked.
const pingInterval = 2 * time.Second

// health tracks what /healthz reports beyond the registry's own state.
type health struct {
	// pgDownSince is when Postgres stopped answering pings (unix nanos),
	// 0 while it answers.
	pgDownSince atomic.Int64
	// pgErr is the last ping error.
	pgErr atomic.Pointer[string]
	// connRefused counts connections closed at once because the server
	// was at its connection limit.
	connRefused atomic.Int64
}

// Pinger is what health checks.
type Pinger interface {
	Ping(ctx context.Context) error
}

// run pings p every pingInterval until ctx is done.
func (h *health) run(ctx context.Context, p Pinger) {
	t := time.NewTicker(pingInterval)
	defer t.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, pingInterval)
		err := p.Ping(pctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			msg := err.Error()
			h.pgErr.Store(&msg)
			h.pgDownSince.CompareAndSwap(0, time.Now().UnixNano())
		default:
			h.pgDownSince.Store(0)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// healthReport is /healthz's body.
type healthReport struct {
	// Status is "ok", "degraded" or "starting".
	Status string `json:"status"`
	// Ready mirrors /readyz.
	Ready    bool           `json:"ready"`
	Postgres postgresHealth `json:"postgres"`
	Config   *configHealth  `json:"config,omitempty"`
	// Inflight and InflightLimit are admission control's state (keyed
	// traffic); AnonInflight counts requests without a known key.
	Inflight      int64 `json:"inflight"`
	InflightLimit int64 `json:"inflight_limit"`
	AnonInflight  int64 `json:"anonymous_inflight"`
	// Degraded lists why the status is degraded.
	Degraded []string `json:"degraded,omitempty"`
}

type postgresHealth struct {
	Up        bool   `json:"up"`
	DownSince string `json:"down_since,omitempty"`
	Error     string `json:"error,omitempty"`
}

type configHealth struct {
	// Confirmed is when the replica last confirmed its view of the
	// configuration (see registry.Registry.ConfirmedAt).
	Confirmed string  `json:"confirmed"`
	AgeSecs   float64 `json:"age_seconds"`
	Stale     bool    `json:"stale"`
}

// report describes the server's health now.
func (s *Server) report() healthReport {
	h := healthReport{Status: "ok", Ready: s.readyErr() == nil, Postgres: postgresHealth{Up: true},
		Inflight: s.admit.main.inflight.Load(), InflightLimit: s.admit.main.limit.Load(), AnonInflight: s.admit.anon.inflight.Load()}
	if since := s.health.pgDownSince.Load(); since != 0 {
		h.Postgres = postgresHealth{DownSince: time.Unix(0, since).UTC().Format(time.RFC3339Nano)}
		if e := s.health.pgErr.Load(); e != nil {
			h.Postgres.Error = *e
		}
		h.Degraded = append(h.Degraded, "postgres unreachable: serving from memory")
	}
	app := s.app.Load()
	if app == nil {
		h.Status = "starting"
		return h
	}
	at := app.reg.ConfirmedAt()
	age := time.Since(at)
	h.Config = &configHealth{Confirmed: at.UTC().Format(time.RFC3339Nano), AgeSecs: age.Seconds(), Stale: app.reg.Stale()}
	if h.Config.Stale {
		h.Degraded = append(h.Degraded, fmt.Sprintf("configuration not confirmed for %s: keys are re-validated against Postgres", age.Round(time.Millisecond)))
	}
	if st := s.writer.Stats(); st.Behind {
		h.Degraded = append(h.Degraded, "usage records waiting for Postgres (in memory or in the -spill-dir log)")
	}
	if len(h.Degraded) > 0 {
		h.Status = "degraded"
	}
	return h
}

// readyErr is nil when the gateway is ready to serve.
func (s *Server) readyErr() error {
	switch {
	case s.draining.Load():
		return errors.New("shutting down")
	case s.app.Load() == nil:
		return errors.New("starting: configuration not loaded yet (waiting for Postgres)")
	}
	return nil
}

// opsHandler serves health, readiness, metrics (on the API port only with
// a metrics token), gRPC health and reflection.
func (s *Server) opsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		b, _ := json.Marshal(s.report())
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(append(b, '\n'))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if err := s.readyErr(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("not ready: " + err.Error() + "\n"))
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	if s.cfg.MetricsToken != "" {
		token := keys.NewAdminToken(s.cfg.MetricsToken)
		metrics := promhttp.HandlerFor(s.metrics, promhttp.HandlerOpts{})
		mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
			if !token.Matches(bearer(r)) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
				http.Error(w, "metrics need Authorization: Bearer <TOLLGATE_METRICS_TOKEN>", http.StatusUnauthorized)
				return
			}
			metrics.ServeHTTP(w, r)
		})
	}
	services := append([]string{tollgatev1connect.InferenceServiceName, tollgatev1connect.UsageServiceName,
		tollgatev1connect.IdentityServiceName, tollgatev1connect.CredentialServiceName}, rpc.AdminServiceNames...)
	reflector := grpcreflect.NewStaticReflector(append(services, grpchealth.HealthV1ServiceName)...)
	mux.Handle(grpcreflect.NewHandlerV1(reflector))
	mux.Handle(grpcreflect.NewHandlerV1Alpha(reflector))
	mux.Handle(grpchealth.NewHandler(&healthChecker{s: s}))
	return mux
}

// metricsMux serves /metrics on the separate -metrics-addr listener.
func (s *Server) metricsMux() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics, promhttp.HandlerOpts{}))
	return mux
}

func bearer(r *http.Request) string {
	const p = "Bearer "
	if v := r.Header.Get("Authorization"); len(v) > len(p) && (v[:len(p)] == p || v[:len(p)] == "bearer ") {
		return v[len(p):]
	}
	return ""
}

// registerMetrics registers the collectors that exist before the
// configuration is loaded; start adds the others.
func (s *Server) registerMetrics() {
	s.metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&serverCollector{s: s})
}

type healthChecker struct{ s *Server }

// Check implements grpchealth.Checker: SERVING when ready.
func (h *healthChecker) Check(_ context.Context, req *grpchealth.CheckRequest) (*grpchealth.CheckResponse, error) {
	switch req.Service {
	case "", tollgatev1connect.InferenceServiceName, tollgatev1connect.UsageServiceName,
		tollgatev1connect.IdentityServiceName, tollgatev1connect.CredentialServiceName:
	default:
		if !slices.Contains(rpc.AdminServiceNames, req.Service) {
			return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("unknown service %q", req.Service))
		}
	}
	if h.s.readyErr() != nil {
		return &grpchealth.CheckResponse{Status: grpchealth.StatusNotServing}, nil
	}
	return &grpchealth.CheckResponse{Status: grpchealth.StatusServing}, nil
}

// serverCollector exposes admission control, readiness and health.
type serverCollector struct{ s *Server }

var (
	descInflight      = prometheus.NewDesc("tollgate_inflight_requests", "Requests in flight, by admission pool (main: inference requests with a known key; anonymous: requests without one).", []string{"pool"}, nil)
	descInflightLimit = prometheus.NewDesc("tollgate_inflight_limit", "Current in-flight limit of each admission pool (main adapts to the CPU between its floor and -max-inflight).", []string{"pool"}, nil)
	descShed          = prometheus.NewDesc("tollgate_shed_requests_total", "Requests refused with 503 because an admission pool was full.", []string{"pool"}, nil)
	descOverloaded    = prometheus.NewDesc("tollgate_admission_overloaded_ticks_total", "Admission controller ticks that found the CPUs saturated (scheduler latency above target).", nil, nil)
	descConnRefused   = prometheus.NewDesc("tollgate_connections_refused_total", "Client connections closed at once because the server was at -max-connections.", nil, nil)
	descReady         = prometheus.NewDesc("tollgate_ready", "1 when /readyz reports ready.", nil, nil)
	descDegraded      = prometheus.NewDesc("tollgate_degraded", "1 when /healthz reports degraded (see its detail).", nil, nil)
	descPostgresUp    = prometheus.NewDesc("tollgate_postgres_up", "1 when the last Postgres ping succeeded.", nil, nil)
	descLogDropped    = prometheus.NewDesc("tollgate_access_log_dropped_total", "Access-log lines dropped because the buffer was full.", nil, nil)
)

// Describe implements prometheus.Collector.
func (c *serverCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descInflight, descInflightLimit, descShed, descOverloaded, descConnRefused, descReady, descDegraded, descPostgresUp, descLogDropped} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *serverCollector) Collect(ch chan<- prometheus.Metric) {
	a := c.s.admit
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, p := range []struct {
		name string
		p    *pool
	}{{"main", &a.main}, {"anonymous", &a.anon}} {
		gauge(descInflight, float64(p.p.inflight.Load()), p.name)
		gauge(descInflightLimit, float64(p.p.limit.Load()), p.name)
		ch <- prometheus.MustNewConstMetric(descShed, prometheus.CounterValue, float64(p.p.shed.Load()), p.name)
	}
	ch <- prometheus.MustNewConstMetric(descOverloaded, prometheus.CounterValue, float64(a.overloadedTicks.Load()))
	ch <- prometheus.MustNewConstMetric(descConnRefused, prometheus.CounterValue, float64(c.s.health.connRefused.Load()))
	ch <- prometheus.MustNewConstMetric(descLogDropped, prometheus.CounterValue, float64(c.s.access.dropped()))
	r := c.s.report()
	b := func(v bool) float64 {
		if v {
			return 1
		}
		return 0
	}
	gauge(descReady, b(r.Ready))
	gauge(descDegraded, b(r.Status == "degraded"))
	gauge(descPostgresUp, b(r.Postgres.Up))
}

// registryCollector exposes the age of the registry's confirmed view.
type registryCollector struct{ reg *registry.Registry }

func newRegistryCollector(reg *registry.Registry) *registryCollector {
	return &registryCollector{reg: reg}
}

var (
	descConfigAge   = prometheus.NewDesc("tollgate_config_staleness_seconds", "Time since this replica last confirmed its view of the configuration (keys, revocations) with Postgres.", nil, nil)
	descConfigStale = prometheus.NewDesc("tollgate_config_stale", "1 while the view is older than -config-max-staleness (keys are then re-validated against Postgres).", nil, nil)
	descReloadFails = prometheus.NewDesc("tollgate_config_reload_failures_total", "Failed configuration reloads (each is retried with backoff).", nil, nil)
)

// Describe implements prometheus.Collector.
func (c *registryCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descConfigAge
	ch <- descConfigStale
	ch <- descReloadFails
}

// Collect implements prometheus.Collector.
func (c *registryCollector) Collect(ch chan<- prometheus.Metric) {
	stale := 0.0
	if c.reg.Stale() {
		stale = 1
	}
	ch <- prometheus.MustNewConstMetric(descConfigAge, prometheus.GaugeValue, time.Since(c.reg.ConfirmedAt()).Seconds())
	ch <- prometheus.MustNewConstMetric(descConfigStale, prometheus.GaugeValue, stale)
	ch <- prometheus.MustNewConstMetric(descReloadFails, prometheus.CounterValue, float64(c.reg.ReloadFailures()))
}
