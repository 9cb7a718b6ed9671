package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-dev/tollgate/service/store"
)

var _ store.ManagedResources = (*Store)(nil)

// configLockKey is the advisory lock key of WithConfigLock (an arbitrary
// constant: "tollgate config" in ASCII, truncated to 63 bits).
const configLockKey int64 = 0x746f6c6c67617465

// ListManaged returns every mark ordered by kind and name.
func (s *Store) ListManaged(ctx context.Context) ([]store.ManagedResource, error) {
	rows, _ := s.pool.Query(ctx, "SELECT kind, name, manager, updated_at FROM managed_resources ORDER BY kind, name")
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.ManagedResource, error) {
		var m store.ManagedResource
		err := r.Scan(&m.Kind, &m.Name, &m.Manager, &m.UpdatedAt)
		m.UpdatedAt = m.UpdatedAt.UTC()
		return m, err
	})
	if err != nil {
		return nil, fmt.Errorf("list managed resources: %w", err)
	}
	return out, nil
}

// ManagedBy returns the manager of a resource, "" when it has no mark.
func (s *Store) ManagedBy(ctx context.Context, kind, name string) (string, error) {
	var m string
	err := s.pool.QueryRow(ctx, "SELECT manager FROM managed_resources WHERE kind = $1 AND name = $2", kind, name).Scan(&m)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("managed mark of %s %q: %w", kind, name, err)
	}
	return m, nil
}

// MarkManaged writes (or refreshes) a mark.
func (s *Store) MarkManaged(ctx context.Context, kind, name, manager string) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO managed_resources (kind, name, manager) VALUES ($1, $2, $3)
		ON CONFLICT (kind, name) DO UPDATE SET manager = EXCLUDED.manager, updated_at = now()`, kind, name, manager)
	if err != nil {
		return fmt.Errorf("mark %s %q as managed: %w", kind, name, err)
	}
	return nil
}

// UnmarkManaged removes a mark; no error when there is none.
func (s *Store) UnmarkManaged(ctx context.Context, kind, name string) error {
	if _, err := s.pool.Exec(ctx, "DELETE FROM managed_resources WHERE kind = $1 AND name = $2", kind, name); err != nil {
		return fmt.Errorf("unmark %s %q: %w", kind, name, err)
	}
	return nil
}

// WithConfigLock runs fn holding a session advisory lock on one
// connection of the pool, so one replica at a time applies a
// configuration; the others wait (until ctx is done).
func (s *Store) WithConfigLock(ctx context.Context, fn func(ctx context.Context) error) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("configuration lock: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", configLockKey); err != nil {
		return fmt.Errorf("configuration lock: %w", err)
	}
	defer func() {
		// Unlock even when ctx is done; a lost connection frees it anyway.
		if _, err := conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", configLockKey); err != nil {
			conn.Conn().Close(context.WithoutCancel(ctx))
		}
	}()
	return fn(ctx)
}
