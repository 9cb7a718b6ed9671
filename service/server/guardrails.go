package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tollgate-dev/tollgate/service/guardrails"
	"github.com/tollgate-dev/tollgate/service/registry"
	"github.com/tollgate-dev/tollgate/service/secrets"
	"github.com/tollgate-dev/tollgate/service/store"
)

// newGuardrails builds the guardrail engine and loads the stored policies.
// When model is set, moderation guardrails classify with that chat model
// (a plain model or route of the gateway's own registry) as the "default"
// classifier. A stored policy that no longer compiles is logged, not
// fatal: the others must keep running. Webhook secrets, stored sealed,
// are opened with sealer when a policy compiles.
func newGuardrails(ctx context.Context, st store.Store, reg *registry.Registry, sealer *secrets.Sealer, model string, log *slog.Logger) (*guardrails.Engine, *guardrails.Registry, error) {
	var opts []guardrails.Option
	if model != "" {
		opts = append(opts, guardrails.WithClassifier("default", &registryClassifier{reg: reg, model: model}))
	}
	ge := guardrails.New(opts...)
	greg := guardrails.NewRegistry(ge, st, guardrails.WithSealer(sealer))
	if err := greg.Load(ctx); err != nil {
		if !errors.Is(err, guardrails.ErrInvalidPolicy) {
			return nil, nil, err
		}
		log.Error("guardrails: some policies do not compile and are not applied", "err", err)
	}
	return ge, greg, nil
}

// watchGuardrails applies the store's changes to the guardrail registry
// until ctx is done. A change that cannot be applied is not dropped: the
// policies are reloaded with a backoff until that succeeds, and every
// reconcile interval anyway, so a new blocking policy cannot be missed.
func (s *Server) watchGuardrails(ctx context.Context) {
	kick := make(chan struct{}, 1)
	go s.reloadGuardrails(ctx, kick)
	err := s.store.Watch(ctx, func(c store.Change) {
		actx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := s.guardrails.Apply(actx, c); err != nil && !errors.Is(err, guardrails.ErrInvalidPolicy) && ctx.Err() == nil {
			s.log.Error("guardrails: applying change failed; reloading every policy until it succeeds", "kind", c.Kind, "id", c.ID, "err", err)
			select {
			case kick <- struct{}{}:
			default:
			}
		}
	})
	if err != nil && !errors.Is(err, context.Canceled) && ctx.Err() == nil {
		s.log.Error("guardrails: watch stopped", "err", err)
	}
}

// reloadGuardrails reloads every policy when kicked (retrying with a
// backoff until a load succeeds) and every reconcile interval.
func (s *Server) reloadGuardrails(ctx context.Context, kick <-chan struct{}) {
	t := time.NewTicker(s.cfg.ConfigReconcile)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-kick:
		case <-t.C:
		}
		for backoff := 100 * time.Millisecond; ; backoff = min(2*backoff, 5*time.Second) {
			lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			err := s.guardrails.Load(lctx)
			cancel()
			if err == nil || errors.Is(err, guardrails.ErrInvalidPolicy) || ctx.Err() != nil {
				break
			}
			s.log.Warn("guardrails: reload failed; retrying", "retry_in", backoff, "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
		}
	}
}

// registryClassifier is a guardrails.Classifier asking a chat model of the
// registry, resolved on every call so provider changes apply.
type registryClassifier struct {
	reg   *registry.Registry
	model string
}

var _ guardrails.Classifier = (*registryClassifier)(nil)

// Classify implements guardrails.Classifier with the route's first usable target.
func (c *registryClassifier) Classify(ctx context.Context, text string) (bool, []string, error) {
	rt, ok := c.reg.Route(c.model)
	if !ok || rt.Embedding {
		return false, nil, fmt.Errorf("moderation model %q is not a configured chat model", c.model)
	}
	for _, sv := range rt.Serving {
		if sv.Provider != nil {
			cc := guardrails.ChatClassifier{Provider: sv.Provider, Model: sv.UpstreamModel}
			return cc.Classify(ctx, text)
		}
	}
	return false, nil, fmt.Errorf("moderation model %q has no usable provider", c.model)
}
