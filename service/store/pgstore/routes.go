package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-dev/tollgate/service/store"
)

const routeColumns = "name, strategy, spec, created_at, updated_at"

// routeRow is a row of routes.
type routeRow struct {
	Name      string    `db:"name"`
	Strategy  string    `db:"strategy"`
	Spec      []byte    `db:"spec"`
	CreatedAt time.Time `db:"created_at"`
	UpdatedAt time.Time `db:"updated_at"`
}

func (r routeRow) route() store.Route {
	return store.Route{Name: r.Name, Strategy: r.Strategy, Spec: r.Spec, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

func specArg(spec []byte) string {
	if len(spec) == 0 {
		return "{}"
	}
	return string(spec)
}

// CreateRoute stores r and sets its timestamps; ErrConflict if the name exists.
func (s *Store) CreateRoute(ctx context.Context, r *store.Route) error {
	err := s.pool.QueryRow(ctx, `
		INSERT INTO routes (name, strategy, spec) VALUES ($1, $2, $3::jsonb)
		RETURNING created_at, updated_at`,
		r.Name, r.Strategy, specArg(r.Spec),
	).Scan(&r.CreatedAt, &r.UpdatedAt)
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

// UpdateRoute replaces the strategy and spec and sets UpdatedAt; ErrNotFound if missing.
func (s *Store) UpdateRoute(ctx context.Context, r *store.Route) error {
	err := s.pool.QueryRow(ctx, `
		UPDATE routes SET strategy = $2, spec = $3::jsonb, updated_at = now()
		WHERE name = $1
		RETURNING created_at, updated_at`,
		r.Name, r.Strategy, specArg(r.Spec),
	).Scan(&r.CreatedAt, &r.UpdatedAt)
	if err != nil {
		return mapErr(fmt.Sprintf("update route %q", r.Name), err, nil)
	}
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return nil
}

// DeleteRoute deletes it; ErrNotFound if missing.
func (s *Store) DeleteRoute(ctx context.Context, name string) error {
	tag, err := s.pool.Exec(ctx, "DELETE FROM routes WHERE name = $1", name)
	if err == nil && tag.RowsAffected() == 0 {
		err = pgx.ErrNoRows
	}
	if err != nil {
		return mapErr(fmt.Sprintf("delete route %q", name), err, nil)
	}
	return nil
}
