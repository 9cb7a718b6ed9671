package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/tollgate-dev/tollgate/service/alerts"
	"github.com/tollgate-dev/tollgate/service/guardrails"
	"github.com/tollgate-dev/tollgate/service/secrets"
	"github.com/tollgate-dev/tollgate/service/store"
	"github.com/tollgate-dev/tollgate/service/store/pgstore"
)

// resealSecrets seals the secrets that rows written before they were
// sealed still hold in plain text: guardrail webhook secrets and URLs,
// and alert webhook URLs. It runs at start; it is idempotent, and
// replicas starting together at worst seal a value twice over (each
// result opens). A failure is logged, not fatal: the values keep working
// in plain text and the next start tries again.
func resealSecrets(ctx context.Context, st *pgstore.Store, sealer *secrets.Sealer, log *slog.Logger) {
	if err := resealGuardrails(ctx, st, sealer, log); err != nil {
		log.Warn("sealing guardrail webhook secrets stored in plain text failed; retried at the next start", "err", err)
	}
	hooks, err := st.ListAlertWebhooks(ctx)
	if err != nil {
		log.Warn("sealing alert webhook URLs stored in plain text failed; retried at the next start", "err", err)
		return
	}
	for _, h := range hooks {
		if h.URL == "" || len(h.SealedURL) > 0 {
			continue
		}
		sealed, err := sealer.Seal([]byte(h.URL), alerts.SealContext(h.ID))
		if err == nil {
			_, err = st.SealAlertWebhookURL(ctx, h.ID, sealed, guardrails.URLHint(h.URL))
		}
		if err != nil {
			log.Warn("sealing an alert webhook URL stored in plain text failed; retried at the next start", "webhook", h.ID, "err", err)
			continue
		}
		log.Info("sealed an alert webhook URL stored in plain text", "webhook", h.ID)
	}
}

func resealGuardrails(ctx context.Context, st store.Store, sealer *secrets.Sealer, log *slog.Logger) error {
	ps, err := st.ListGuardrailPolicies(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for i := range ps {
		p := &ps[i]
		spec, err := guardrails.ParseSpec(p.Spec)
		if err != nil || !guardrails.NeedsSealing(spec) {
			continue
		}
		keep := map[string]bool{}
		for _, f := range guardrails.SealedFields {
			keep[f] = true // values already sealed stay as they are
		}
		for j := range spec.Guardrails {
			if err := guardrails.SealWebhookFields(sealer, p.ID, &spec.Guardrails[j], keep); err != nil {
				return err
			}
		}
		if p.Spec, err = spec.Marshal(); err == nil {
			err = st.UpdateGuardrailPolicy(ctx, p)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("policy %q: %w", p.ID, err))
			continue
		}
		log.Info("sealed guardrail webhook secrets stored in plain text", "policy", p.ID)
	}
	return errors.Join(errs...)
}
