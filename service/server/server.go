// Package server wires Tollgate together: configuration → logger → store →
// registry → engine → handlers, all on one listener that speaks Connect,
// gRPC and gRPC-Web over HTTP/1.1 and HTTP/2 (h2c or TLS).
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tollgate-dev/tollgate/gen/tollgate/v1/tollgatev1connect"
	"github.com/tollgate-dev/tollgate/providers/factory"
	"github.com/tollgate-dev/tollgate/semcache"
	"github.com/tollgate-dev/tollgate/service/accounting"
	"github.com/tollgate-dev/tollgate/service/alerts"
	"github.com/tollgate-dev/tollgate/service/gateway"
	"github.com/tollgate-dev/tollgate/service/governance"
	"github.com/tollgate-dev/tollgate/service/guardrails"
	"github.com/tollgate-dev/tollgate/service/keys"
	"github.com/tollgate-dev/tollgate/service/registry"
	"github.com/tollgate-dev/tollgate/service/rpc"
	"github.com/tollgate-dev/tollgate/service/secrets"
	"github.com/tollgate-dev/tollgate/service/store"
	"github.com/tollgate-dev/tollgate/service/store/pgstore"
)

// Server is a configured gateway, ready to serve.
type Server struct {
	cfg      Config
	log      *slog.Logger
	store    store.Store
	pg       *pgstore.Store
	registry *registry.Registry
	writer   *accounting.Writer
	engine   *gateway.Engine
	gov      *governance.Manager
	cache    *semcache.Cache
	alerts   *alerts.Monitor
	// guardrails holds the compiled guardrail policies (guardrails.go).
	guardrails *guardrails.Registry
	handler    http.Handler
	now        func() time.Time
}

// Option adjusts what flags and environment cannot say, for embedding the
// server in tests and tools.
type Option func(*options)

type options struct {
	now func() time.Time
}

// WithClock makes the server read the time from now instead of time.Now:
// the engine (latencies, deadlines), the response cache (entry lifetimes),
// governance (rate-limit and budget windows) and the surfaces' timestamps.
// Tests use it to move time forward, e.g. past a cache TTL, without
// waiting.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// New opens the store (applying migrations), loads the registry and builds
// the handlers. Close releases what New opened.
func New(ctx context.Context, cfg Config, log *slog.Logger, opts ...Option) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o := options{now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	mk, err := secrets.ParseMasterKey(cfg.MasterKey)
	if err != nil {
		return nil, fmt.Errorf("TOLLGATE_MASTER_KEY: %w", err)
	}
	sealer, err := secrets.NewSealer(mk)
	if err != nil {
		return nil, err
	}
	st, err := pgstore.Open(ctx, cfg.DatabaseURL, pgstore.WithLogger(log))
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	s := &Server{cfg: cfg, log: log, store: st, pg: st, now: o.now}
	s.registry = registry.New(st, sealer, factory.New, log)
	if err := s.registry.Load(ctx); err != nil {
		st.Close()
		return nil, err
	}
	wopts := []accounting.Option{accounting.WithLogger(log)}
	if cfg.SpillDir != "" {
		wopts = append(wopts, accounting.WithSpillDir(cfg.SpillDir))
	}
	s.writer = accounting.New(st, wopts...)
	s.gov = governance.New(st, governance.WithLogger(log), governance.WithClock(o.now))
	if err := s.gov.Load(ctx); err != nil {
		st.Close()
		return nil, err
	}
	s.alerts = alerts.New(st, s.gov, alerts.WithLogger(log), alerts.WithSealer(sealer), alerts.WithInterval(cfg.AlertInterval),
		alerts.WithSuspendOnVelocity(cfg.VelocitySuspend), alerts.WithVelocity(cfg.VelocityFactor, cfg.VelocityFloorNanos))
	if s.cache, err = newCache(&cfg.Cache, st, s.registry, semcache.WithLogger(log), semcache.WithClock(o.now)); err != nil {
		st.Close()
		return nil, err
	}
	ge, greg, err := newGuardrails(ctx, st, s.registry, sealer, cfg.GuardrailModel, log)
	if err != nil {
		st.Close()
		return nil, err
	}
	s.guardrails = greg
	s.engine = gateway.New(s.registry, s.alerts.Tee(s.writer), gateway.WithLogger(log), gateway.WithClock(o.now), gateway.WithGovernance(s.gov),
		gateway.WithCache(s.cache, cfg.Cache.engineConfig()), gateway.WithGuardrails(ge, greg))
	s.handler = s.routes(sealer)
	return s, nil
}

// Handler returns the HTTP handler serving every API.
func (s *Server) Handler() http.Handler { return s.handler }

// Alerts returns the budget and spend-velocity alert monitor (for tests
// that run its checks on demand).
func (s *Server) Alerts() *alerts.Monitor { return s.alerts }

// Engine returns the request pipeline (for benchmarks and tests).
func (s *Server) Engine() *gateway.Engine { return s.engine }

func (s *Server) routes(sealer *secrets.Sealer) http.Handler {
	admin := keys.NewAdminToken(s.cfg.AdminToken)
	// Compressing small messages costs more CPU than it saves bandwidth.
	opts := []connect.HandlerOption{connect.WithReadMaxBytes(int(s.cfg.MaxRequestBytes)), connect.WithCompressMinBytes(1024)}
	mux := http.NewServeMux()
	mux.Handle(tollgatev1connect.NewInferenceServiceHandler(rpc.NewInference(s.engine, s.log), opts...))
	rpc.NewAdmin(s.store, sealer, rpc.Appliers{s.registry, s.gov, s.guardrails}, s.log, rpc.WithAlertStore(s.pg),
		rpc.WithCache(s.cache, s.cfg.Cache.engineConfig())).
		Mount(mux, append(opts, connect.WithInterceptors(rpc.AdminInterceptor(admin), rpc.AuditInterceptor(s.pg, s.log)))...)
	mux.Handle(tollgatev1connect.NewUsageServiceHandler(rpc.NewUsage(s.store, s.engine, admin, s.log, rpc.WithAuditLog(s.pg)), opts...))

	services := append([]string{tollgatev1connect.InferenceServiceName, tollgatev1connect.UsageServiceName}, rpc.AdminServiceNames...)
	reflector := grpcreflect.NewStaticReflector(append(services, grpchealth.HealthV1ServiceName)...)
	mux.Handle(grpcreflect.NewHandlerV1(reflector))
	mux.Handle(grpcreflect.NewHandlerV1Alpha(reflector))
	mux.Handle(grpchealth.NewHandler(&healthChecker{s: s}))

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		newAccountingCollector(s.writer), s.engine.Router().Collector())
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))

	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := s.ready(r.Context()); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("not ready: " + err.Error() + "\n"))
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	mountSurfaces(mux, s.engine, s.log, s.now)
	return withRequestContext(mux, s.log, s.cfg)
}

// ready reports whether the gateway can serve: the store is reachable and
// migrated, and the registry has loaded.
func (s *Server) ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if !s.registry.Loaded() {
		return errors.New("configuration not loaded")
	}
	return nil
}

type healthChecker struct{ s *Server }

// Check implements grpchealth.Checker: SERVING when ready.
func (h *healthChecker) Check(ctx context.Context, req *grpchealth.CheckRequest) (*grpchealth.CheckResponse, error) {
	switch req.Service {
	case "", tollgatev1connect.InferenceServiceName, tollgatev1connect.UsageServiceName:
	default:
		if !slices.Contains(rpc.AdminServiceNames, req.Service) {
			return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("unknown service %q", req.Service))
		}
	}
	if err := h.s.ready(ctx); err != nil {
		return &grpchealth.CheckResponse{Status: grpchealth.StatusNotServing}, nil
	}
	return &grpchealth.CheckResponse{Status: grpchealth.StatusServing}, nil
}

// Serve runs the background loops and serves on ln until ctx is done, then
// drains in-flight requests (streams included) for up to ShutdownTimeout and
// flushes pending usage records.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := s.registry.Run(bg); err != nil {
			s.log.Error("registry sync stopped", "err", err)
		}
	})
	wg.Go(func() { s.maintain(bg) })
	wg.Go(func() { s.watchGuardrails(bg) })
	wg.Go(func() {
		if err := s.cache.Run(bg); err != nil {
			s.log.Error("response cache stopped", "err", err)
		}
	})
	wg.Go(func() { _ = s.gov.Run(bg, s.store) }) // returns the leases at shutdown
	wg.Go(func() { _ = s.alerts.Run(bg) })
	writerCtx, stopWriter := context.WithCancel(context.WithoutCancel(ctx))
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		if err := s.writer.Run(writerCtx); err != nil && !errors.Is(err, context.Canceled) {
			s.log.Error("usage writer stopped", "err", err)
		}
	}()

	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetHTTP2(true)
	protocols.SetUnencryptedHTTP2(true)
	srv := &http.Server{
		Handler:           s.handler,
		Protocols:         &protocols,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	if s.cfg.DebugAddr != "" {
		dbg := &http.Server{Addr: s.cfg.DebugAddr, Handler: debugMux(), ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := dbg.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error("debug listener failed", "addr", s.cfg.DebugAddr, "err", err)
			}
		}()
		defer dbg.Close()
	}
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
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	return serveErr
}

// maintain keeps a week of request-record partitions ahead and drops whole
// partitions older than the retention period, now and then every hour.
// Any replica may run it; the store serialises the work.
func (s *Server) maintain(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		now := time.Now()
		if err := s.pg.EnsurePartitions(ctx, now, now.Add(7*24*time.Hour)); err != nil && ctx.Err() == nil {
			s.log.Warn("maintenance: creating record partitions failed", "err", err)
		}
		if s.cfg.Retention > 0 {
			n, err := s.pg.DropPartitionsBefore(ctx, now.Add(-s.cfg.Retention))
			switch {
			case err != nil && ctx.Err() == nil:
				s.log.Warn("maintenance: dropping expired record partitions failed", "err", err)
			case n > 0:
				s.log.Info("maintenance: dropped expired record partitions", "partitions", n, "retention", s.cfg.Retention)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Close releases the store.
func (s *Server) Close() { s.store.Close() }
