package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-dev/tollgate/service/store/pgstore/migrations"
)

// Migrate applies the pending embedded migrations to the database named by
// dsn and returns. Open does the same; Migrate is for running migrations as
// a separate deployment step. The migrations live in the migrations
// package (service/store/pgstore/migrations/NNNN_*.sql).
func Migrate(ctx context.Context, dsn string) error {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return fmt.Errorf("pgstore: parse dsn: %w", err)
	}
	_, err = migrate(ctx, cfg)
	return err
}

// migrate applies the pending migrations and returns the newest embedded
// version (see migrations.Apply).
func migrate(ctx context.Context, cfg *pgx.ConnConfig) (int, error) {
	return migrations.Apply(ctx, cfg)
}
