package server

import (
	"errors"
	"log/slog"
	"time"

	"github.com/tollgate-dev/tollgate/service/gateway"
	"github.com/tollgate-dev/tollgate/service/governance"
	"github.com/tollgate-dev/tollgate/service/store"
)

// GovernanceConfig holds the budget and rate-limit settings of the process.
type GovernanceConfig struct {
	// OutageRunway is how long budgeted traffic is served from leases
	// while Postgres cannot be reached, before it fails closed with 503
	// (see governance.WithOutageRunway).
	OutageRunway time.Duration
	// MaxWait bounds how long a request waits for a lease refill.
	MaxWait time.Duration
	// DefaultOutputTokens is what a chat request without max_tokens
	// reserves per choice, at least (see gateway.WithDefaultOutputTokens).
	DefaultOutputTokens int64
}

func defaultGovernanceConfig() GovernanceConfig {
	return GovernanceConfig{OutageRunway: 15 * time.Second, MaxWait: 2 * time.Second, DefaultOutputTokens: gateway.DefaultOutputTokens}
}

// registerFlags binds the governance settings to flags with defaults from
// the environment.
func (c *GovernanceConfig) registerFlags(e *envFlags) {
	e.duration(&c.OutageRunway, "budget-outage-runway", "TOLLGATE_BUDGET_OUTAGE_RUNWAY",
		"how long budgeted requests are served from leases while Postgres is unreachable before they get 503 (0: only while the lease held lasts)")
	e.duration(&c.MaxWait, "budget-max-wait", "TOLLGATE_BUDGET_MAX_WAIT",
		"longest a request waits for a budget or rate-limit lease refill before it gets 503")
	e.int64(&c.DefaultOutputTokens, "budget-default-output-tokens", "TOLLGATE_BUDGET_DEFAULT_OUTPUT_TOKENS",
		"output tokens a chat request without max_tokens reserves per choice, at least (raised to the largest recent output of its model)")
}

func (c *GovernanceConfig) validate() error {
	var errs []error
	if c.OutageRunway < 0 {
		errs = append(errs, errors.New("-budget-outage-runway must not be negative"))
	}
	if c.MaxWait <= 0 {
		errs = append(errs, errors.New("-budget-max-wait must be positive"))
	}
	if c.DefaultOutputTokens <= 0 {
		errs = append(errs, errors.New("-budget-default-output-tokens must be positive"))
	}
	return errors.Join(errs...)
}

// newGovernance returns the budget and rate-limit manager of cfg.
func newGovernance(cfg *GovernanceConfig, st store.Store, log *slog.Logger) *governance.Manager {
	return governance.New(st, governance.WithLogger(log), governance.WithOutageRunway(cfg.OutageRunway),
		governance.WithMaxWait(cfg.MaxWait))
}
