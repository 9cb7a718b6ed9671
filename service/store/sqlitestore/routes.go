package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/tollgate-dev/tollgate/service/store"
)

const routeColumns = "name, strategy, spec, created_at, updated_at, version"

func scanRoute(r scanner) (store.Route, error) {
	var out store.Route
	var spec string
	var created, updated int64
	err := r.Scan(&out.Name, &out.Strategy, &spec, &created, &updated, &out.Version)
	out.Spec, out.CreatedAt, out.UpdatedAt = []byte(spec), fromMicros(created), fromMicros(updated)
	return out, err
}

// CreateRoute stores r and sets its timestamps and Version; ErrConflict if
// the name exists.
func (s *Store) CreateRoute(ctx context.Context, r *store.Route) error {
	now := s.clock()
	return s.write(ctx, func(t *tx) error {
		v, err := t.nextVersion(ctx)
		if err != nil {
			return err
		}
		if _, err := t.ExecContext(ctx, "INSERT INTO routes (name, strategy, spec, created_at, updated_at, version) VALUES (?, ?, json(?), ?, ?, ?)",
			r.Name, r.Strategy, specText(r.Spec), micros(now), micros(now), v); err != nil {
			return mapErr(fmt.Sprintf("create route %q", r.Name), err, nil)
		}
		r.CreatedAt, r.UpdatedAt, r.Version = now, now, v
		t.changed(store.ChangeRoute, r.Name)
		return nil
	})
}

// GetRoute returns the route or ErrNotFound.
func (s *Store) GetRoute(ctx context.Context, name string) (*store.Route, error) {
	r, err := scanRoute(s.r.QueryRowContext(ctx, "SELECT "+routeColumns+" FROM routes WHERE name = ?", name))
	if err != nil {
		return nil, mapErr(fmt.Sprintf("route %q", name), err, nil)
	}
	return &r, nil
}

// ListRoutes returns all routes ordered by name.
func (s *Store) ListRoutes(ctx context.Context) ([]store.Route, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT "+routeColumns+" FROM routes ORDER BY name")
	rs, err := collect(rows, err, scanRoute)
	if err != nil {
		return nil, mapErr("list routes", err, nil)
	}
	return rs, nil
}

// PageRoutes returns a page of routes ordered by name.
func (s *Store) PageRoutes(ctx context.Context, p store.Page) ([]store.Route, string, error) {
	return pageRows(ctx, s, keyPage{columns: routeColumns, table: "routes", key: "name"}, p, scanRoute,
		func(r store.Route) string { return r.Name })
}

// UpdateRoute replaces the strategy and spec if r.Version is 0 or the
// stored version, and sets r's timestamps and Version; ErrNotFound if
// missing, ErrVersionMismatch if changed.
func (s *Store) UpdateRoute(ctx context.Context, r *store.Route) error {
	entity := fmt.Sprintf("update route %q", r.Name)
	now := s.clock()
	return s.write(ctx, func(t *tx) error {
		v, err := t.nextVersion(ctx)
		if err != nil {
			return err
		}
		var created int64
		err = t.QueryRowContext(ctx, `UPDATE routes SET strategy = ?, spec = json(?), updated_at = ?, version = ?
			WHERE name = ? AND (?6 = 0 OR version = ?6) RETURNING created_at`,
			r.Strategy, specText(r.Spec), micros(now), v, r.Name, r.Version).Scan(&created)
		if errors.Is(err, sql.ErrNoRows) {
			return conditionalMiss(ctx, t, "routes", "name", r.Name, entity)
		}
		if err != nil {
			return mapErr(entity, err, nil)
		}
		r.CreatedAt, r.UpdatedAt, r.Version = fromMicros(created), now, v
		t.changed(store.ChangeRoute, r.Name)
		return nil
	})
}

// DeleteRoute deletes it if ifVersion is 0 or its version; ErrNotFound if
// missing, ErrVersionMismatch if changed.
func (s *Store) DeleteRoute(ctx context.Context, name string, ifVersion int64) error {
	return s.deleteIf(ctx, "routes", "name", name, ifVersion, fmt.Sprintf("delete route %q", name), nil, store.ChangeRoute)
}
