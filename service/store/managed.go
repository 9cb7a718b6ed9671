package store

import (
	"context"
	"time"
)

// ManagedResource marks a resource as managed by configuration as code:
// `tollgate config apply` (and `serve --config`) writes the mark with the
// resource; --prune deletes only marked resources, and the admin API
// refuses or warns about changes to them made out of band.
type ManagedResource struct {
	// Kind is the resource kind: provider, model, route, team, key,
	// budget, rate_limit, guardrail_policy or alert_webhook.
	Kind string
	// Name is the resource's id (a model's or route's name).
	Name string
	// Manager says what manages it, e.g. "config".
	Manager string
	// UpdatedAt is when the mark was last written.
	UpdatedAt time.Time
}

// ManagedResources stores the managed-by marks and the lock that lets one
// replica at a time apply a configuration.
type ManagedResources interface {
	// ListManaged returns every mark ordered by kind and name.
	ListManaged(ctx context.Context) ([]ManagedResource, error)
	// ManagedBy returns the manager of a resource, "" when it has no mark.
	ManagedBy(ctx context.Context, kind, name string) (string, error)
	// MarkManaged writes (or refreshes) a mark.
	MarkManaged(ctx context.Context, kind, name, manager string) error
	// UnmarkManaged removes a mark; no error when there is none.
	UnmarkManaged(ctx context.Context, kind, name string) error
	// WithConfigLock runs fn while holding the configuration lock shared
	// by every replica of the store (a Postgres advisory lock; the
	// embedded store has one process), waiting for it until ctx is done.
	WithConfigLock(ctx context.Context, fn func(ctx context.Context) error) error
}
