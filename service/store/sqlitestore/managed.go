package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/tollgate-dev/tollgate/service/store"
)

var _ store.ManagedResources = (*Store)(nil)

// ListManaged returns every mark ordered by kind and name.
func (s *Store) ListManaged(ctx context.Context) ([]store.ManagedResource, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT kind, name, manager, updated_at FROM managed_resources ORDER BY kind, name")
	out, err := collect(rows, err, func(r scanner) (store.ManagedResource, error) {
		var m store.ManagedResource
		var at int64
		err := r.Scan(&m.Kind, &m.Name, &m.Manager, &at)
		m.UpdatedAt = fromMicros(at)
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
	err := s.r.QueryRowContext(ctx, "SELECT manager FROM managed_resources WHERE kind = ? AND name = ?", kind, name).Scan(&m)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("managed mark of %s %q: %w", kind, name, err)
	}
	return m, nil
}

// MarkManaged writes (or refreshes) a mark.
func (s *Store) MarkManaged(ctx context.Context, kind, name, manager string) error {
	now := s.clock()
	return s.write(ctx, func(t *tx) error {
		_, err := t.ExecContext(ctx, `INSERT INTO managed_resources (kind, name, manager, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (kind, name) DO UPDATE SET manager = excluded.manager, updated_at = excluded.updated_at`, kind, name, manager, micros(now))
		if err != nil {
			return fmt.Errorf("mark %s %q as managed: %w", kind, name, err)
		}
		return nil
	})
}

// UnmarkManaged removes a mark; no error when there is none.
func (s *Store) UnmarkManaged(ctx context.Context, kind, name string) error {
	return s.write(ctx, func(t *tx) error {
		if _, err := t.ExecContext(ctx, "DELETE FROM managed_resources WHERE kind = ? AND name = ?", kind, name); err != nil {
			return fmt.Errorf("unmark %s %q: %w", kind, name, err)
		}
		return nil
	})
}

// WithConfigLock runs fn under a lock of this process: the embedded store
// has a single process, which holds the data directory's lock.
func (s *Store) WithConfigLock(ctx context.Context, fn func(ctx context.Context) error) error {
	select {
	case s.configLock <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.configLock }()
	return fn(ctx)
}
