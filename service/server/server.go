// Package server wires Tollgate together: configuration → logger → store →
// registry → engine → handlers, all on one listener that speaks Connect,
// gRPC and gRPC-Web over HTTP/1.1 and HTTP/2 (h2c or TLS).
//
// The listener opens before the database is reached: until the
// configuration is loaded (start.go) the gateway answers health probes,
// reports not ready, and refuses API calls with a retryable 503; it keeps
// trying to reach Postgres with a backoff and a log line per try.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tollgate-dev/tollgate/semcache"
	"github.com/tollgate-dev/tollgate/service/accounting"
	"github.com/tollgate-dev/tollgate/service/alerts"
	"github.com/tollgate-dev/tollgate/service/console"
	"github.com/tollgate-dev/tollgate/service/credref"
	"github.com/tollgate-dev/tollgate/service/gateway"
	"github.com/tollgate-dev/tollgate/service/governance"
	"github.com/tollgate-dev/tollgate/service/guardrails"
	"github.com/tollgate-dev/tollgate/service/identity"
	"github.com/tollgate-dev/tollgate/service/keys"
	"github.com/tollgate-dev/tollgate/service/registry"
	"github.com/tollgate-dev/tollgate/service/secrets"
	"github.com/tollgate-dev/tollgate/service/store"
	"github.com/tollgate-dev/tollgate/service/store/pgstore"
)

// Server is a configured gateway, ready to serve.
type Server struct {
	cfg    Config
	log    *slog.Logger
	sealer *secrets.Sealer
	admin  keys.AdminToken
	admit  *admission
	access *accessLog
	// metrics is the Prometheus registry of every collector.
	metrics *prometheus.Registry
	// obs holds the request metrics and tracing (telemetry.go).
	obs *observability
	// ops serves the endpoints that work before the configuration is
	// loaded and are never shed: health, readiness, metrics, gRPC health
	// and reflection.
	ops http.Handler
	// app is set once the configuration is loaded (start.go).
	app atomic.Pointer[application]
	// draining is set when shutdown begins: readiness turns false.
	draining atomic.Bool
	// health tracks Postgres reachability for /healthz (health.go).
	health health

	// Set by start before app is published; read-only afterwards.
	store      store.Store
	db         backend
	registry   *registry.Registry
	writer     *accounting.Writer
	records    *recordSink // the writer's store, set once it is open
	engine     *gateway.Engine
	gov        *governance.Manager
	cache      *semcache.Cache
	alerts     *alerts.Monitor
	guardrails *guardrails.Registry
	// identity authenticates and authorises admin calls (identity.go).
	identity *identityParts
	// creds resolves provider credentials given by reference (credentials.go).
	creds *credref.Manager
	// replica is a random name of this process, in notifications it sends.
	replica string
	// startMu serialises start with Close.
	startMu sync.Mutex
	// now is the clock of the engine, cache, governance and surfaces.
	now func() time.Time
	// console serves the web console under /ui/ (nil when switched off).
	console *console.Handler
}

// application is what the server serves once its configuration is loaded.
type application struct {
	handler http.Handler
	reg     *registry.Registry
	admin   keys.AdminToken
	authn   *identity.Authenticator
}

// known reports whether cred is a virtual key of the registry (not
// revoked) or, for management calls, the admin token or a live
// service-account token (from memory; the access guard decides the rest).
func (a *application) known(cred string, manage bool) bool {
	if cred == "" {
		return false
	}
	if manage && (a.admin.Matches(cred) || a.authn.Known(cred)) {
		return true
	}
	m, ok := a.reg.LookupSecret(cred)
	return ok && m.Key.RevokedAt.IsZero()
}

// Option adjusts what flags and environment cannot say, for embedding the
// server in programs and tests.
type Option func(*options)

type options struct {
	access AccessLogWriter
	now    func() time.Time
	// noRequestMetrics leaves out the request metrics (WithoutRequestMetrics).
	noRequestMetrics bool
}

// WithoutRequestMetrics leaves the per-request metrics (tollgate_requests_total,
// tokens, cost, gen_ai_*) out, to measure what they cost (benchmarks).
func WithoutRequestMetrics() Option { return func(o *options) { o.noRequestMetrics = true } }

// WithClock makes the server read the time from now instead of time.Now:
// the engine (latencies, deadlines), the response cache (entry lifetimes),
// governance (rate-limit and budget windows) and the surfaces' timestamps.
// Tests use it to move time forward, e.g. past a cache TTL, without
// waiting.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithAccessLog writes the access log (one line per request, see
// Config.LogRequests) to w through a buffer flushed in the background,
// instead of through the main logger. The server flushes it when Serve
// returns and on Close.
func WithAccessLog(w AccessLogWriter) Option { return func(o *options) { o.access = w } }

// New validates cfg and prepares the server. It makes one attempt to load
// the configuration from Postgres (bounded by a few seconds); when that
// fails, Serve keeps trying in the background. Close releases what New
// and Serve opened.
func New(ctx context.Context, cfg Config, log *slog.Logger, opts ...Option) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o := options{now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	ring, err := secrets.ParseKeyring(cfg.MasterKey)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	sealer, err := secrets.NewKeyring(ring)
	if err != nil {
		return nil, err
	}
	if !cfg.Embedded() {
		if err := pgstore.CheckURL(cfg.DatabaseURL); err != nil {
			return nil, fmt.Errorf("-database-url: %w", err)
		}
	}
	s := &Server{cfg: cfg, log: log, sealer: sealer, admin: keys.NewAdminToken(cfg.AdminToken),
		replica: gateway.NewRequestID()}
	s.admit = newAdmission(cfg.maxInflight(), cfg.maxAnonInflight(), cfg.AdmissionAdaptive, cfg.AdmissionTarget)
	s.now = o.now
	s.access = newAccessLog(o.access, log, cfg)
	s.metrics = prometheus.NewRegistry()
	s.registerMetrics()
	if s.obs, err = newObservability(ctx, cfg); err != nil {
		return nil, err
	}
	if o.noRequestMetrics {
		s.obs.metrics = nil
	} else {
		s.metrics.MustRegister(s.obs.metrics)
	}
	if s.obs.tracing.Enabled {
		log.Info("tracing on", "exporter", s.obs.tracing.Exporter)
	}
	s.ops = s.opsHandler()
	if cfg.Console {
		if s.console, err = console.New(); err != nil {
			return nil, err
		}
	}
	// The record writer and its local log start with the server, before
	// Postgres answers: a second process on the same -spill-dir fails here,
	// and records a previous process left are replayed once Postgres does.
	s.records = new(recordSink)
	s.writer = accounting.New(s.records, writerOptions(&cfg, log)...)
	if err := s.writer.Open(); err != nil {
		return nil, err
	}
	s.metrics.MustRegister(newAccountingCollector(s.writer))
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := s.start(sctx); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if cfg.Embedded() || errors.Is(err, pgstore.ErrNoVector) {
			// Nothing to wait for: the data directory is locked by another
			// process or unreadable, or the semantic cache is configured
			// on a PostgreSQL without pgvector.
			return nil, err
		}
		log.Warn("configuration not loaded yet; the gateway will keep trying and report not ready until then", "err", err)
	}
	return s, nil
}

// Handler returns the HTTP handler serving every API.
func (s *Server) Handler() http.Handler { return s.obs.wrap(http.HandlerFunc(s.front)) }

// Alerts returns the budget and spend-velocity alert monitor (for tests
// that run its checks on demand); nil until the configuration is loaded.
func (s *Server) Alerts() *alerts.Monitor {
	if s.app.Load() == nil {
		return nil
	}
	return s.alerts
}

// Engine returns the request pipeline (for benchmarks and tests); nil
// until the configuration is loaded.
func (s *Server) Engine() *gateway.Engine {
	if s.app.Load() == nil {
		return nil
	}
	return s.engine
}

// Serve runs the background loops and serves on ln until ctx is done, then
// drains in-flight requests (streams included) for up to ShutdownTimeout and
// flushes pending usage records. It listens at once; until the
// configuration is loaded it keeps trying to reach Postgres.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { s.admit.run(bg) })
	wg.Go(func() { s.access.run(bg) })
	// The usage writer outlives the other loops: it flushes what the
	// drained requests recorded.
	wctx, stopWriter := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWriter()
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		if err := s.writer.Run(wctx); err != nil && !errors.Is(err, context.Canceled) {
			s.log.Error("usage writer stopped", "err", err)
		}
	}()
	wg.Go(func() {
		if s.startWithRetry(bg) {
			s.runBackground(bg)
		}
	})

	srv := &http.Server{
		Handler:           s.Handler(),
		Protocols:         protocols(),
		ReadHeaderTimeout: s.cfg.HeaderTimeout,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	for _, aux := range []struct {
		name, addr string
		h          http.Handler
	}{{"debug", s.cfg.DebugAddr, debugMux()}, {"metrics", s.cfg.MetricsAddr, s.metricsMux()}} {
		if aux.addr == "" {
			continue
		}
		as := &http.Server{Addr: aux.addr, Handler: aux.h, ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := as.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error(aux.name+" listener failed", "addr", aux.addr, "err", err)
			}
		}()
		defer as.Close()
	}
	ln = limitListener(ln, s.cfg.maxConnections(), &s.health.connRefused)
	errc := make(chan error, 1)
	go func() {
		if s.cfg.TLSCert != "" {
			srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
			errc <- srv.ServeTLS(ln, s.cfg.TLSCert, s.cfg.TLSKey)
			return
		}
		errc <- srv.Serve(ln)
	}()
	s.log.Info("tollgate serving", "addr", ln.Addr().String(), "config", s.cfg.String())

	var serveErr error
	select {
	case err := <-errc:
		serveErr = err
	case <-ctx.Done():
		s.draining.Store(true)
		s.log.Info("shutting down: draining in-flight requests", "timeout", s.cfg.ShutdownTimeout)
		sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
		if err := srv.Shutdown(sctx); err != nil {
			s.log.Warn("drain timed out; closing remaining connections", "err", err)
			_ = srv.Close()
		}
		cancel()
		<-errc
	}
	stopBG()
	wg.Wait()
	stopWriter()
	<-writerDone
	if err := s.writer.Close(); err != nil {
		s.log.Error("usage writer close", "err", err)
	}
	s.access.flush()
	s.shutdownTracing()
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	return serveErr
}

// protocols are HTTP/1.1, HTTP/2 over TLS and h2c.
func protocols() *http.Protocols {
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetHTTP2(true)
	p.SetUnencryptedHTTP2(true)
	return &p
}

// runBackground runs the loops that keep the loaded state fresh until ctx
// is done.
func (s *Server) runBackground(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := s.registry.Run(ctx); err != nil {
			s.log.Error("registry sync stopped", "err", err)
		}
	})
	wg.Go(func() { s.maintain(ctx) })
	wg.Go(func() { s.pruneResponses(ctx) })
	wg.Go(func() { s.watchGuardrails(ctx) })
	if len(s.cfg.Declarative.paths()) > 0 {
		wg.Go(func() { s.watchConfig(ctx) })
	}
	wg.Go(func() {
		if err := s.cache.Run(ctx); err != nil {
			s.log.Error("response cache stopped", "err", err)
		}
	})
	wg.Go(func() { _ = s.gov.Run(ctx, s.store) }) // returns the leases at shutdown
	wg.Go(func() { _ = s.alerts.Run(ctx) })
	wg.Go(func() { s.health.run(ctx, s.store) })
	wg.Go(func() { s.watchIdentity(ctx) })
	wg.Go(func() { s.identity.dir.Run(ctx, s.cfg.Identity.TokenUseFlush) })
	wg.Go(func() { _ = s.creds.Run(ctx) })
	wg.Go(func() { s.watchSecrets(ctx) })
	wg.Go(func() { s.watchKeyFile(ctx) })
	wg.Wait()
}

// maintain keeps the request records' storage (see maintainRecords) and
// compacts the hourly usage rollups of past hours, now and then every
// hour. Any replica may run it; the store serialises the work.
func (s *Server) maintain(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		s.maintainRecords(ctx, time.Now())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Close releases the store.
func (s *Server) Close() {
	s.startMu.Lock()
	defer s.startMu.Unlock()
	// Releases the local record log when Serve never ran (after Serve, a
	// no-op).
	if err := s.writer.Close(); err != nil && !errors.Is(err, accounting.ErrRunning) {
		s.log.Error("usage writer close", "err", err)
	}
	if s.store != nil {
		s.store.Close()
	}
	s.access.flush()
	s.shutdownTracing()
}

// shutdownTracing exports the spans still buffered, for at most 5 s.
func (s *Server) shutdownTracing() {
	if s.obs == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.obs.tracing.Shutdown(ctx); err != nil {
		s.log.Warn("tracing shutdown", "err", err)
	}
}
