package server

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"time"

	"connectrpc.com/connect"

	tollgate "github.com/tollgate-dev/tollgate/clients/go"
	"github.com/tollgate-dev/tollgate/service/configfile"
	"github.com/tollgate-dev/tollgate/service/configsync"
	"github.com/tollgate-dev/tollgate/service/rpc"
	"github.com/tollgate-dev/tollgate/service/store"
)

// DeclarativeConfig is configuration as code on the server side.
type DeclarativeConfig struct {
	// Path names the files or directories (comma-separated) `serve
	// --config` applies on start and whenever their content changes (e.g.
	// a Kubernetes ConfigMap update); empty turns it off.
	Path string
	// Poll is how often the files are checked for a change (content hash).
	Poll time.Duration
	// ManagedChanges is how the admin API treats writes, made without the
	// managed-by header, to resources managed by configuration:
	// "warn" (let them through with a Warning header and a log line) or
	// "refuse" (FAILED_PRECONDITION).
	ManagedChanges string
}

func defaultDeclarativeConfig() DeclarativeConfig {
	return DeclarativeConfig{Poll: time.Second, ManagedChanges: rpc.ManagedChangesWarn}
}

// paths returns the comma-separated Path as a list.
func (c *DeclarativeConfig) paths() []string {
	var out []string
	for _, p := range strings.Split(c.Path, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (c *DeclarativeConfig) registerFlags(e *envFlags) {
	e.str(&c.Path, "config", "TOLLGATE_CONFIG", "configuration files or directories (comma-separated) applied on start and whenever they change, one replica at a time (see docs/config-as-code.md)")
	e.duration(&c.Poll, "config-poll-interval", "TOLLGATE_CONFIG_POLL_INTERVAL", "how often -config's files are checked for a change")
	e.str(&c.ManagedChanges, "managed-changes", "TOLLGATE_MANAGED_CHANGES", "admin writes to resources managed by configuration made outside it: warn (allowed, with a Warning header and a log line) or refuse")
}

func (c *DeclarativeConfig) validate(adminToken string) error {
	var errs []error
	if c.ManagedChanges != rpc.ManagedChangesWarn && c.ManagedChanges != rpc.ManagedChangesRefuse {
		errs = append(errs, fmt.Errorf("-managed-changes must be warn or refuse, not %q", c.ManagedChanges))
	}
	if len(c.paths()) > 0 {
		if c.Poll < 100*time.Millisecond {
			errs = append(errs, errors.New("-config-poll-interval must be at least 100ms"))
		}
		if adminToken == "" {
			errs = append(errs, errors.New("-config applies the files through the admin API with TOLLGATE_ADMIN_TOKEN, which is not set"))
		}
		if l, err := configfile.Load(c.paths()...); err != nil {
			errs = append(errs, fmt.Errorf("-config: %w", err))
		} else if err := configfile.Validate(l); err != nil {
			errs = append(errs, fmt.Errorf("-config: %w", err))
		}
	}
	return errors.Join(errs...)
}

// watchConfig applies the -config files now and whenever their content
// changes, until ctx is done. Every replica watches; the configuration
// lock (a Postgres advisory lock) lets one apply at a time, and the others
// then find nothing left to change. The changes reach every replica
// through the store's notifications, as an admin call's do.
func (s *Server) watchConfig(ctx context.Context) {
	cfg := s.cfg.Declarative
	var applied [sha256.Size]byte
	var retryAt time.Time
	tick := time.NewTicker(cfg.Poll)
	defer tick.Stop()
	for {
		sum, err := hashFiles(cfg.paths())
		switch {
		case err != nil:
			if time.Now().After(retryAt) {
				s.log.Error("configuration files unreadable; the last applied configuration stays", "paths", cfg.paths(), "err", err)
				retryAt = time.Now().Add(30 * time.Second)
			}
		case sum != applied || (!retryAt.IsZero() && time.Now().After(retryAt)):
			if err := s.applyConfig(ctx); err != nil {
				if ctx.Err() != nil {
					return
				}
				s.log.Error("configuration not applied; retrying in 30s or when the files change", "paths", cfg.paths(), "err", err)
				applied, retryAt = sum, time.Now().Add(30*time.Second)
			} else {
				applied, retryAt = sum, time.Time{}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// applyConfig plans and applies the -config files under the configuration lock.
func (s *Server) applyConfig(ctx context.Context) error {
	locker, ok := s.db.(store.ManagedResources)
	if !ok {
		return errors.New("the store cannot hold managed-by marks")
	}
	app := s.app.Load()
	if app == nil {
		return errors.New("not started")
	}
	c := tollgate.NewAdminClient(&http.Client{Transport: handlerTransport{app.handler}}, "http://tollgate.internal",
		connect.WithInterceptors(bearerToken(s.cfg.AdminToken)))
	return locker.WithConfigLock(ctx, func(ctx context.Context) error {
		cur, plan, err := configsync.PlanFiles(ctx, c, s.cfg.Declarative.paths(), true)
		if err != nil {
			return err
		}
		if plan.Empty() {
			s.log.Info("configuration files match the gateway", "paths", s.cfg.Declarative.paths())
			return nil
		}
		res, err := configsync.Apply(ctx, c, cur, plan)
		if res != nil {
			for _, ch := range res.Applied {
				s.log.Info("configuration applied", "action", ch.Action, "kind", ch.Kind, "name", ch.Name)
			}
			for _, w := range res.Warnings {
				s.log.Warn("configuration applied with a warning", "warning", w)
			}
			for _, sec := range res.Secrets {
				// Never logged: declare secret_to to receive it.
				s.log.Warn("created without a secret_to: its secret was not delivered; rotate it to get one", "kind", sec.Kind, "name", sec.Name)
			}
		}
		return err
	})
}

// hashFiles hashes the content of the configuration files.
func hashFiles(paths []string) ([sha256.Size]byte, error) {
	l, err := configfile.Load(paths...)
	if err != nil {
		return [sha256.Size]byte{}, err
	}
	h := sha256.New()
	for _, f := range l.Files {
		b, err := os.ReadFile(f)
		if err != nil {
			return [sha256.Size]byte{}, err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", f, len(b))
		h.Write(b)
	}
	var out [sha256.Size]byte
	copy(out[:], h.Sum(nil))
	return out, nil
}

// handlerTransport serves requests with a handler in-process, so the
// server applies its configuration through its own admin API (access
// guard, audit, validation, notifications) without a network hop.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	if r.Body != nil {
		defer r.Body.Close()
	}
	r.RemoteAddr = "127.0.0.1:0"
	r.RequestURI = r.URL.RequestURI()
	t.h.ServeHTTP(rec, r)
	resp := rec.Result()
	resp.Request = r
	if resp.Body == nil {
		resp.Body = io.NopCloser(nil)
	}
	return resp, nil
}

// bearerToken sends the admin token.
type bearerToken string

func (b bearerToken) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		req.Header().Set("Authorization", "Bearer "+string(b))
		return next(ctx, req)
	}
}

func (bearerToken) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (bearerToken) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}
