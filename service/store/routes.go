package store

import (
	"context"
	"time"
)

// ChangeRoute is the change kind of routes; the Change's ID is the route name.
const ChangeRoute ChangeKind = "route"

// Route is a stored routing alias. The store keeps its definition opaque:
// Spec is the JSON the routing package reads and writes (targets,
// conditions, retry and breaker policy, timeouts).
type Route struct {
	Name     string
	Strategy string
	// Spec is a JSON object.
	Spec      []byte
	CreatedAt time.Time
	UpdatedAt time.Time
	// Version changes on every write (see Versions).
	Version int64
}

// Routes stores routes.
type Routes interface {
	// CreateRoute stores r and sets its timestamps; ErrConflict if the name exists.
	CreateRoute(ctx context.Context, r *Route) error
	// GetRoute returns the route or ErrNotFound.
	GetRoute(ctx context.Context, name string) (*Route, error)
	// ListRoutes returns all routes ordered by name.
	ListRoutes(ctx context.Context) ([]Route, error)
	// PageRoutes returns a page of routes ordered by name and the cursor
	// of the next page ("" at the end).
	PageRoutes(ctx context.Context, p Page) ([]Route, string, error)
	// UpdateRoute replaces the strategy and spec if r.Version matches (see
	// Versions) and sets r's timestamps and Version; ErrNotFound if missing.
	UpdateRoute(ctx context.Context, r *Route) error
	// DeleteRoute deletes it if ifVersion matches; ErrNotFound if missing.
	DeleteRoute(ctx context.Context, name string, ifVersion int64) error
}
