package server

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"

	"connectrpc.com/connect"

	"github.com/tollgate-dev/tollgate/gen/tollgate/v1/tollgatev1connect"
	"github.com/tollgate-dev/tollgate/providers/factory"
	"github.com/tollgate-dev/tollgate/semcache"
	"github.com/tollgate-dev/tollgate/service/alerts"
	"github.com/tollgate-dev/tollgate/service/gateway"
	"github.com/tollgate-dev/tollgate/service/governance"
	"github.com/tollgate-dev/tollgate/service/masterkey"
	"github.com/tollgate-dev/tollgate/service/registry"
	"github.com/tollgate-dev/tollgate/service/rpc"
)

// Start-up backoff between attempts to load the configuration.
const (
	startMinBackoff = 200 * time.Millisecond
	startMaxBackoff = 10 * time.Second
)

// startWithRetry loads the configuration, retrying with a jittered
// exponential backoff and one log line per failed attempt, until it
// succeeds (true) or ctx is done (false).
func (s *Server) startWithRetry(ctx context.Context) bool {
	backoff := startMinBackoff
	for attempt := 1; ; attempt++ {
		if s.app.Load() != nil {
			return true
		}
		actx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := s.start(actx)
		cancel()
		if err == nil {
			s.health.pgDownSince.Store(0)
			s.log.Info("configuration loaded; the gateway is ready", "attempts", attempt)
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		msg := err.Error()
		s.health.pgErr.Store(&msg)
		s.health.pgDownSince.CompareAndSwap(0, time.Now().UnixNano())
		wait := backoff/2 + rand.N(backoff/2+1)
		s.log.Warn("waiting for Postgres: cannot load the configuration; not ready, retrying", "attempt", attempt,
			"retry_in", wait.Round(time.Millisecond), "err", err)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(wait):
		}
		backoff = min(2*backoff, startMaxBackoff)
	}
}

// start opens the store (applying migrations), loads the configuration,
// builds the engine and publishes the application. It is a no-op once
// the application is published; on failure nothing stays open.
func (s *Server) start(ctx context.Context) (err error) {
	s.startMu.Lock()
	defer s.startMu.Unlock()
	if s.app.Load() != nil {
		return nil
	}
	cfg, log := s.cfg, s.log
	st, err := openBackend(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			st.Close()
		}
	}()
	s.db = st
	if err := s.loadPrimaryKey(ctx); err != nil {
		return err
	}
	resealSecrets(ctx, st, s.sealer, log)
	reg := registry.New(st, s.sealer, factory.New, log,
		registry.WithStalenessBound(cfg.ConfigMaxStaleness), registry.WithReconcileInterval(cfg.ConfigReconcile))
	s.registry = reg
	creds := s.newCredentials()
	reg.SetCredentials(creds)
	if err := reg.Load(ctx); err != nil {
		return err
	}
	gov := newGovernance(&cfg.Governance, st, log, governance.WithClock(s.now))
	if err := gov.Load(ctx); err != nil {
		return err
	}
	mon := alerts.New(st, gov, alerts.WithLogger(log), alerts.WithSealer(s.sealer), alerts.WithInterval(cfg.AlertInterval),
		alerts.WithRetry(cfg.AlertAttempts, cfg.AlertBackoff),
		alerts.WithSuspendOnVelocity(cfg.VelocitySuspend), alerts.WithVelocity(cfg.VelocityFactor, cfg.VelocityFloorNanos))
	cache, err := newCache(&cfg.Cache, cacheStore(st), reg, semcache.WithLogger(log), semcache.WithClock(s.now))
	if err != nil {
		return err
	}
	ge, greg, err := newGuardrails(ctx, st, reg, s.sealer, cfg.GuardrailModel, log)
	if err != nil {
		return err
	}
	eopts := []gateway.Option{gateway.WithLogger(log), gateway.WithClock(s.now), gateway.WithGovernance(gov),
		gateway.WithDefaultOutputTokens(cfg.Governance.DefaultOutputTokens),
		gateway.WithCache(cache, cfg.Cache.engineConfig()), gateway.WithGuardrails(ge, greg),
		gateway.WithTimeouts(cfg.upstreamTimeouts())}
	callers, err := s.newCallers()
	if err != nil {
		return err
	}
	if callers != nil {
		eopts = append(eopts, gateway.WithCallers(callers))
	}
	eopts = append(eopts, s.obs.engineOptions()...)
	engine := gateway.New(reg, s.obs.recorder(mon.Tee(s.writer)), eopts...)

	s.store, s.db, s.registry, s.gov, s.alerts, s.cache, s.guardrails, s.engine = st, st, reg, gov, mon, cache, greg, engine
	s.creds = creds
	s.wireCredentials()
	if s.identity, err = s.newIdentity(ctx, st, st, st); err != nil {
		return err
	}
	s.metrics.MustRegister(engine.Router().Collector(), newRegistryCollector(reg),
		newGovernanceCollector(gov), creds.Collector(), &budgetCollector{gov: gov})
	s.records.set(st)
	s.app.Store(&application{handler: s.appHandler(), reg: reg, admin: s.admin, authn: s.identity.authn})
	return nil
}

// appHandler is the mux of every API behind the request middleware.
func (s *Server) appHandler() http.Handler {
	// Compressing small messages costs more CPU than it saves bandwidth.
	// Request size is bounded by the middleware's body reader (and a
	// declared Content-Length by front) rather than connect-go's read
	// limit, which reports resource_exhausted: clients retry that, while
	// a too large request can never succeed (InvalidArgument).
	opts := []connect.HandlerOption{connect.WithCompressMinBytes(1024), connect.WithInterceptors(s.obs.interceptors()...)}
	mux := http.NewServeMux()
	mux.Handle(tollgatev1connect.NewInferenceServiceHandler(rpc.NewInference(s.engine, s.log), opts...))
	// One guard authenticates and authorises every admin and usage call
	// (access.Rules); the audit interceptor inside it records the writes.
	guarded := append(opts, connect.WithInterceptors(s.identity.guard.Interceptor(), rpc.AuditInterceptor(s.db, s.log)))
	// Writes to resources managed by configuration as code are marked or
	// checked after the guard (rpc.ManagedInterceptor).
	managed := append(guarded[:len(guarded):len(guarded)], connect.WithInterceptors(rpc.ManagedInterceptor(s.db, s.cfg.Declarative.ManagedChanges, s.log)))
	rpc.NewAdmin(s.store, s.sealer, rpc.Appliers{s.registry, s.gov, s.guardrails}, s.log, rpc.WithAlertStore(s.db),
		rpc.WithCache(s.cache, s.cfg.Cache.engineConfig()), rpc.WithTargetStates(s.engine.Router())).
		Mount(mux, managed...)
	rpc.NewConfig(s.db, s.log).Mount(mux, guarded...)
	rpc.NewIdentity(s.db, s.identity.dir, s.identity.login, s.log).Mount(mux, guarded...)
	if s.identity.web != nil {
		mux.Handle("/auth/", s.identity.web) // the console's login (weblogin)
	}
	rpc.NewCredentials(s.creds, s.db, masterkey.New(s.db, s.sealer), s.sealer, s.replica, s.log).Mount(mux, guarded...)
	mux.Handle(tollgatev1connect.NewUsageServiceHandler(rpc.NewUsage(s.store, s.engine, s.log, rpc.WithAuditLog(s.db),
		rpc.WithKeyCreators(s.db)), append(opts, connect.WithInterceptors(s.identity.guard.Interceptor()))...))
	mountSurfaces(mux, s.engine, s.log, s.now)
	s.mountResponses(mux)
	if s.console != nil {
		s.console.Mount(mux)
	}
	return s.withRequestContext(newExactRoutes(mux, inferencePaths...))
}

// inferencePaths are the endpoints most requests go to.
var inferencePaths = []string{"/v1/chat/completions", "/v1/messages", "/v1/responses", "/v1/embeddings", "/v1/completions"}

// exactRoutes serves POST requests to a few paths by a map lookup before
// the ServeMux, which matches a request against the patterns of every
// Connect service, the console and the dialects (3 % of a unary chat
// completion's CPU). The table is the mux's own answer for each path, and
// it is used only where the mux would give that answer: a POST to exactly
// that path, unescaped (the mux matches escaped paths segment by segment).
type exactRoutes struct {
	post map[string]http.Handler
	mux  *http.ServeMux
}

func newExactRoutes(mux *http.ServeMux, paths ...string) *exactRoutes {
	e := &exactRoutes{post: make(map[string]http.Handler, len(paths)), mux: mux}
	for _, p := range paths {
		h, pattern := mux.Handler(&http.Request{Method: http.MethodPost, URL: &url.URL{Path: p}})
		if pattern == p || pattern == http.MethodPost+" "+p {
			e.post[p] = h
		}
	}
	return e
}

func (e *exactRoutes) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && r.URL.RawPath == "" {
		if h, ok := e.post[r.URL.Path]; ok {
			h.ServeHTTP(w, r)
			return
		}
	}
	e.mux.ServeHTTP(w, r)
}
