package alerts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/tollgate-dev/tollgate/internal/money"
	"github.com/tollgate-dev/tollgate/service/governance"
	"github.com/tollgate-dev/tollgate/service/pricing"
	"github.com/tollgate-dev/tollgate/service/secrets"
	"github.com/tollgate-dev/tollgate/service/store"
	"github.com/tollgate-dev/tollgate/service/webhooks"
)

// Kind is a kind of alert, as stored in store.AlertWebhook.Kinds.
type Kind string

// The alert kinds.
const (
	KindBudgetThreshold Kind = "budget_threshold"
	KindSpendVelocity   Kind = "spend_velocity"
	// KindCredentialRefresh: a credential reference failed to refresh (credential.go).
	KindCredentialRefresh Kind = "credential_refresh"
)

// ActorAlerts is the audit-log actor of the Monitor's own actions.
const ActorAlerts = "alerts"

// Store is what a Monitor needs from the store.
type Store interface {
	store.Alerts
	store.AuditLog
	// RevokeKey suspends a key on a velocity alert (see store.Keys).
	RevokeKey(ctx context.Context, id string, at time.Time) (*store.Key, error)
}

// Budgets is what a Monitor reads budgets' spend from: governance's Manager.
type Budgets interface {
	// Budgets returns the budgets (all with a zero subject and team "").
	Budgets(s governance.Subject, teamID string) []store.Budget
	// Status returns a budget's spend in its current period.
	Status(ctx context.Context, b store.Budget) (governance.BudgetStatus, error)
}

var _ Budgets = (*governance.Manager)(nil)

// Recorder receives request records without blocking (gateway.Recorder).
type Recorder interface {
	Record(r store.Record)
}

// Monitor raises budget-threshold and spend-velocity alerts (see the
// package documentation). It is safe for concurrent use.
type Monitor struct {
	st       Store
	budgets  Budgets         // nil: no budget alerts
	sealer   *secrets.Sealer // nil: sealed webhook URLs cannot be sent to
	rates    *rates
	log      *slog.Logger
	now      func() time.Time
	client   *http.Client
	interval time.Duration
	factor   float64
	floor    int64
	suspend  bool
	attempts int
	backoff  time.Duration
}

// Option configures a Monitor.
type Option func(*Monitor)

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(m *Monitor) { m.log = l } }

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) Option { return func(m *Monitor) { m.now = now } }

// WithHTTPClient sets the client webhooks are posted with.
func WithHTTPClient(c *http.Client) Option { return func(m *Monitor) { m.client = c } }

// WithSealer sets the sealer webhook URLs stored sealed (see SealContext)
// are opened with just before an alert is posted.
func WithSealer(s *secrets.Sealer) Option { return func(m *Monitor) { m.sealer = s } }

// WithInterval sets how often Run checks (15 seconds by default).
func WithInterval(d time.Duration) Option { return func(m *Monitor) { m.interval = d } }

// WithVelocity sets the velocity rule: a key's five-minute spend must
// exceed max(factor × its hourly average per five minutes, floorNanos).
// The defaults are 10 and one dollar.
func WithVelocity(factor float64, floorNanos int64) Option {
	return func(m *Monitor) { m.factor, m.floor = factor, floorNanos }
}

// WithSuspendOnVelocity makes a velocity alert suspend (revoke) the key.
func WithSuspendOnVelocity(on bool) Option { return func(m *Monitor) { m.suspend = on } }

// WithRetry sets the delivery attempts per webhook and the first backoff
// (doubled after each attempt); 4 and one second by default.
func WithRetry(attempts int, backoff time.Duration) Option {
	return func(m *Monitor) { m.attempts, m.backoff = attempts, backoff }
}

// New returns a Monitor over st that reads budget spend from budgets (nil
// for none).
func New(st Store, budgets Budgets, opts ...Option) *Monitor {
	m := &Monitor{
		st: st, budgets: budgets, rates: newRates(), log: slog.New(slog.DiscardHandler), now: time.Now,
		client: &http.Client{}, interval: 15 * time.Second, factor: 10, floor: pricing.NanosPerUSD,
		attempts: 4, backoff: time.Second,
	}
	for _, o := range opts {
		o(m)
	}
	return m
}

// Observe adds a finished request's cost to its key's spend rate. It is
// cheap and never blocks on I/O.
func (m *Monitor) Observe(r *store.Record) { m.rates.observe(r) }

// tee passes records to the next recorder and to the Monitor.
type tee struct {
	next Recorder
	m    *Monitor
}

// Record implements Recorder.
func (t tee) Record(r store.Record) {
	t.m.Observe(&r)
	t.next.Record(r)
}

// Tee returns a Recorder that feeds every record to the Monitor and then
// to next; install it as the engine's recorder.
func (m *Monitor) Tee(next Recorder) Recorder { return tee{next: next, m: m} }

// Run checks every interval until ctx is done, then returns ctx.Err().
func (m *Monitor) Run(ctx context.Context) error {
	t := time.NewTicker(m.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		if err := m.Check(ctx); err != nil && ctx.Err() == nil {
			m.log.WarnContext(ctx, "alerts: check failed", "err", err)
		}
	}
}

// Check evaluates every budget and key once and sends the alerts due.
func (m *Monitor) Check(ctx context.Context) error {
	return errors.Join(m.checkBudgets(ctx), m.checkVelocity(ctx))
}

// alert is one alert to deliver.
type alert struct {
	kind    Kind
	team    string
	subject string
	period  time.Time
	msg     Message
}

// checkBudgets fires the thresholds each budget's spend has reached. All
// reached thresholds are claimed; one message names the highest.
func (m *Monitor) checkBudgets(ctx context.Context) error {
	if m.budgets == nil {
		return nil
	}
	var errs []error
	for _, b := range m.budgets.Budgets(governance.Subject{}, "") {
		if b.LimitNanos <= 0 {
			continue
		}
		s, err := m.budgets.Status(ctx, b)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		pct := s.SpentNanos * 100 / b.LimitNanos
		ths := b.AlertThresholds
		if len(ths) == 0 {
			ths = store.DefaultAlertThresholds()
		}
		var claimed []int
		for _, th := range ths {
			if int64(th) > pct {
				continue
			}
			ok, err := m.st.ClaimAlert(ctx, "budget:"+b.ID, s.PeriodStart, th)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if ok {
				claimed = append(claimed, th)
			}
		}
		if len(claimed) == 0 {
			continue
		}
		top := slices.Max(claimed)
		a := alert{kind: KindBudgetThreshold, team: b.TeamID, subject: "budget:" + b.ID, period: s.PeriodStart,
			msg: newMessage(fmt.Sprintf("Budget %s reached %d%% of its limit", b.ID, top),
				fmt.Sprintf("Spent %s of %s this %s period (scope %s%s).", usd(s.SpentNanos), usd(b.LimitNanos), b.Period, b.Scope, who(b)))}
		if err := m.deliver(ctx, a); err != nil {
			for _, th := range claimed {
				if rerr := m.st.ReleaseAlert(ctx, a.subject, a.period, th); rerr != nil {
					errs = append(errs, rerr)
				}
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// checkVelocity fires for every key spending far above its usual rate, at
// most once per key and hour, and suspends the key when so configured.
func (m *Monitor) checkVelocity(ctx context.Context) error {
	now := m.now()
	var errs []error
	for _, s := range m.rates.spikes(now, m.factor, m.floor) {
		hour := now.UTC().Truncate(time.Hour)
		ok, err := m.st.ClaimAlert(ctx, "velocity:"+s.key, hour, 0)
		if err != nil || !ok {
			errs = append(errs, err)
			continue
		}
		action := "The key was not suspended."
		if m.suspend {
			if err := m.suspendKey(ctx, s); err != nil {
				errs = append(errs, err)
				action = "Suspending the key failed: " + err.Error()
			} else {
				action = "The key was suspended (revoked); an admin may issue a new one."
			}
		}
		a := alert{kind: KindSpendVelocity, team: s.team, subject: "velocity:" + s.key, period: hour,
			msg: newMessage(fmt.Sprintf("Spend spike on key %s", s.key),
				fmt.Sprintf("Key %s (team %s) spent %s in the last 5 minutes; its usual rate is %s per 5 minutes (alert above %s). %s",
					s.key, s.team, usd(s.recent), usd(s.baseline), usd(s.threshold), action))}
		if err := m.deliver(ctx, a); err != nil {
			if !m.suspend { // a suspension is not undone; do not alert twice for it
				errs = append(errs, m.st.ReleaseAlert(ctx, a.subject, a.period, 0))
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// suspendKey revokes the key and records why in the audit log.
func (m *Monitor) suspendKey(ctx context.Context, s spike) error {
	if _, err := m.st.RevokeKey(ctx, s.key, m.now()); err != nil {
		return fmt.Errorf("alerts: suspend key %s: %w", s.key, err)
	}
	summary, _ := json.Marshal(map[string]any{
		"reason": "spend velocity", "recent_nanos": s.recent, "baseline_nanos": s.baseline, "threshold_nanos": s.threshold,
	})
	e := &store.AuditEvent{Actor: ActorAlerts, Action: "SuspendKey", ResourceKind: "key", ResourceID: s.key,
		Summary: string(summary), Outcome: "ok", ActorType: "system", ActorSubject: ActorAlerts}
	if err := m.st.AppendAuditEvent(ctx, e); err != nil {
		return fmt.Errorf("alerts: audit suspension of key %s: %w", s.key, err)
	}
	m.log.WarnContext(ctx, "alerts: key suspended for spend velocity", "key", s.key, "recent_nanos", s.recent, "threshold_nanos", s.threshold)
	return nil
}

// deliver posts a to every matching webhook. It fails only when webhooks
// matched and none accepted the alert.
func (m *Monitor) deliver(ctx context.Context, a alert) error {
	hooks, err := m.st.ListAlertWebhooks(ctx)
	if err != nil {
		return err
	}
	var sent int
	var errs []error
	for _, h := range hooks {
		if (len(h.Kinds) > 0 && !slices.Contains(h.Kinds, string(a.kind))) || (h.TeamID != "" && h.TeamID != a.team) {
			continue
		}
		url, err := m.webhookURL(&h)
		if err != nil {
			errs = append(errs, fmt.Errorf("webhook %s: %w", h.ID, err))
			continue
		}
		signer, err := m.webhookSigner(&h)
		if err != nil {
			errs = append(errs, fmt.Errorf("webhook %s: %w", h.ID, err))
			continue
		}
		if err := post(ctx, m.client, url, signer, m.now, a.msg, m.attempts, m.backoff); err != nil {
			errs = append(errs, fmt.Errorf("webhook %s: %w", h.ID, err))
			continue
		}
		sent++
	}
	if sent == 0 && len(errs) > 0 {
		return errors.Join(errs...)
	}
	for _, err := range errs {
		m.log.WarnContext(ctx, "alerts: webhook delivery failed", "subject", a.subject, "err", err)
	}
	return nil
}

// SealContext is the context a webhook's URL is sealed under: it binds
// the ciphertext to the webhook, so a sealed URL copied to another row
// does not open.
func SealContext(webhookID string) string { return "alert-webhook:" + webhookID }

// SecretContext is the context a webhook's signing secret is sealed
// under: it binds the ciphertext to the webhook.
func SecretContext(webhookID string) string { return "alert-webhook-secret:" + webhookID }

// webhookSigner returns the signer of h's alerts, nil for a webhook
// created before alerts were signed (sent unsigned).
func (m *Monitor) webhookSigner(h *store.AlertWebhook) (*webhooks.Signer, error) {
	if len(h.SealedSecret) == 0 {
		return nil, nil
	}
	if m.sealer == nil {
		return nil, errNoSealer
	}
	pt, err := m.sealer.Open(h.SealedSecret, SecretContext(h.ID))
	if err != nil {
		return nil, fmt.Errorf("alerts: open webhook secret: %w", err)
	}
	return webhooks.NewSigner(string(pt))
}

// errNoSealer means a webhook's URL or secret is sealed but the Monitor
// has no sealer.
var errNoSealer = errors.New("alerts: sealed webhook URL or secret but no sealer")

// webhookURL returns h's URL, opening it when sealed (the plain URL of a
// webhook stored before URLs were sealed is used as is).
func (m *Monitor) webhookURL(h *store.AlertWebhook) (string, error) {
	if len(h.SealedURL) == 0 {
		return h.URL, nil
	}
	if m.sealer == nil {
		return "", errNoSealer
	}
	pt, err := m.sealer.Open(h.SealedURL, SealContext(h.ID))
	if err != nil {
		return "", fmt.Errorf("alerts: open webhook URL: %w", err)
	}
	return string(pt), nil
}

// usd formats nano-USD as dollars.
// usd formats nano-USD for people: "$0.00001" for a tiny budget, never "$0.00".
func usd(nanos int64) string { return money.FormatNanos(nanos) }

// who describes a budget's subject.
func who(b store.Budget) string {
	switch b.Scope {
	case store.ScopeKey:
		return ", key " + b.KeyID
	case store.ScopeService:
		return ", team " + b.TeamID + ", service " + b.ServiceID
	}
	return ", team " + b.TeamID
}
