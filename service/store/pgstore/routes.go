package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-dev/tollgate/service/store"
)

const routeColumns = "name, strategy, spec, created_at, updated_at, version"

// routeRow is a row of routes.
type routeRow struct {
	Name      string    `db:"name"`
	Strategy  string    `db:"strategy"`
	Spec      []byte    `db:"spec"`
	CreatedAt time.Time `db:"created_at"`
	UpdatedAt time.Time `db:"updated_at"`
	Version   int64     `db:"version"`
}

func (r routeRow) route() store.Route {
	return store.Route{Name: r.Name, Strategy: r.Strategy, Spec: r.Spec, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
		Version: r.Version}
}

func specArg(spec []byte) string {
	if len(spec) == 0 {
		return "{}"
	}
	return string(spec)
}

// CreateRoute stores r and sets its timestamps and Version; ErrConflict if
// the name exists.
func (s *Store) CreateRoute(ctx context.Context, r *store.Route) error {
	err := s.pool.QueryRow(ctx, `
		INSERT INTO routes (name, strategy, spec) VALUES ($1, $2, $3::jsonb)
		RETURNING created_at, updated_at, version`,
		r.Name, r.Strategy, specArg(r.Spec),
	).Scan(&r.CreatedAt, &r.UpdatedAt, &r.Version)
	if err != nil {
		return mapErr(fmt.Sprintf("create route %q", r.Name), err, nil)
	}
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return nil
}

// GetRoute returns the route or ErrNotFound.
func (s *Store) GetRoute(ctx context.Context, name string) (*store.Route, error) {
	rows, _ := s.pool.Query(ctx, "SELECT "+routeColumns+" FROM routes WHERE name = $1", name)
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[routeRow])
	if err != nil {
		return nil, mapErr(fmt.Sprintf("route %q", name), err, nil)
	}
	out := r.route()
	return &out, nil
}

// ListRoutes returns all routes ordered by name.
func (s *Store) ListRoutes(ctx context.Context) ([]store.Route, error) {
	rows, _ := s.pool.Query(ctx, "SELECT "+routeColumns+" FROM routes ORDER BY name")
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByName[routeRow])
	if err != nil {
		return nil, mapErr("list routes", err, nil)
	}
	out := make([]store.Route, len(rs))
	for i, r := range rs {
		out[i] = r.route()
	}
	return out, nil
}

// PageRoutes returns a page of routes ordered by name.
func (s *Store) PageRoutes(ctx context.Context, p store.Page) ([]store.Route, string, error) {
	rs, next, err := pageRows(ctx, s, keyPage{columns: routeColumns, table: "routes", key: "name"}, p,
		func(r routeRow) string { return r.Name })
	if err != nil {
		return nil, "", err
	}
	out := make([]store.Route, len(rs))
	for i, r := range rs {
		out[i] = r.route()
	}
	return out, next, nil
}

// UpdateRoute replaces the strategy and spec if r.Version is 0 or the
// stored version, and sets r's timestamps and Version; ErrNotFound if
// missing, ErrVersionMismatch if changed.
func (s *Store) UpdateRoute(ctx context.Context, r *store.Route) error {
	entity := fmt.Sprintf("update route %q", r.Name)
	err := s.pool.QueryRow(ctx, `
		UPDATE routes SET strategy = $2, spec = $3::jsonb, updated_at = now()
		WHERE name = $1 AND ($4::bigint = 0 OR version = $4)
		RETURNING created_at, updated_at, version`,
		r.Name, r.Strategy, specArg(r.Spec), r.Version,
	).Scan(&r.CreatedAt, &r.UpdatedAt, &r.Version)
	if errors.Is(err, pgx.ErrNoRows) {
		return conditionalMiss(ctx, s.pool, "routes", "name", r.Name, entity)
	}
	if err != nil {
		return mapErr(entity, err, nil)
	}
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return nil
}

// DeleteRoute deletes it if ifVersion is 0 or its version; ErrNotFound if
// missing, ErrVersionMismatch if changed.
func (s *Store) DeleteRoute(ctx context.Context, name string, ifVersion int64) error {
	return s.deleteIf(ctx, "routes", "name", name, ifVersion, fmt.Sprintf("delete route %q", name), nil)
}
