package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

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
// until ctx is done.
func (s *Server) watchGuardrails(ctx context.Context) {
	err := s.store.Watch(ctx, func(c store.Change) {
		if err := s.guardrails.Apply(ctx, c); err != nil && ctx.Err() == nil {
			s.log.Error("guardrails: applying change failed", "kind", c.Kind, "id", c.ID, "err", err)
		}
	})
	if err != nil && !errors.Is(err, context.Canceled) && ctx.Err() == nil {
		s.log.Error("guardrails: watch stopped", "err", err)
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
