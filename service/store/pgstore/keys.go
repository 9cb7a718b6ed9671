package pgstore

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-dev/tollgate/service/store"
)

// teamRow is a row of teams.
type teamRow struct {
	ID          string            `db:"id"`
	DisplayName string            `db:"display_name"`
	Labels      map[string]string `db:"labels"`
	CreatedAt   time.Time         `db:"created_at"`
	Version     int64             `db:"version"`
}

const teamColumns = "id, display_name, labels, created_at, version"

func (r teamRow) team() store.Team {
	return store.Team{ID: r.ID, DisplayName: r.DisplayName, Labels: r.Labels, CreatedAt: r.CreatedAt.UTC(), Version: r.Version}
}

// CreateTeam stores t and sets its creation time and Version; ErrConflict
// if the id exists.
func (s *Store) CreateTeam(ctx context.Context, t *store.Team) error {
	err := s.pool.QueryRow(ctx, `
		INSERT INTO teams (id, display_name, labels) VALUES ($1, $2, $3)
		RETURNING created_at, version`,
		t.ID, t.DisplayName, nonNilMap(t.Labels),
	).Scan(&t.CreatedAt, &t.Version)
	if err != nil {
		return mapErr(fmt.Sprintf("create team %q", t.ID), err, nil)
	}
	t.CreatedAt = t.CreatedAt.UTC()
	return nil
}

// GetTeam returns the team or ErrNotFound.
func (s *Store) GetTeam(ctx context.Context, id string) (*store.Team, error) {
	rows, _ := s.pool.Query(ctx, "SELECT "+teamColumns+" FROM teams WHERE id = $1", id)
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[teamRow])
	if err != nil {
		return nil, mapErr(fmt.Sprintf("team %q", id), err, nil)
	}
	t := r.team()
	return &t, nil
}

// ListTeams returns all teams ordered by id.
func (s *Store) ListTeams(ctx context.Context) ([]store.Team, error) {
	rows, _ := s.pool.Query(ctx, "SELECT "+teamColumns+" FROM teams ORDER BY id")
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByName[teamRow])
	if err != nil {
		return nil, fmt.Errorf("list teams: %w", err)
	}
	ts := make([]store.Team, len(rs))
	for i, r := range rs {
		ts[i] = r.team()
	}
	return ts, nil
}

// PageTeams returns a page of teams ordered by id.
func (s *Store) PageTeams(ctx context.Context, p store.Page) ([]store.Team, string, error) {
	rs, next, err := pageRows(ctx, s, keyPage{columns: teamColumns, table: "teams", key: "id"}, p,
		func(r teamRow) string { return r.ID })
	if err != nil {
		return nil, "", err
	}
	ts := make([]store.Team, len(rs))
	for i, r := range rs {
		ts[i] = r.team()
	}
	return ts, next, nil
}

// DeleteTeam deletes the team and its revoked keys if ifVersion is 0 or
// its version; ErrNotFound if missing, ErrVersionMismatch if changed,
// ErrInUse if it has unrevoked keys.
func (s *Store) DeleteTeam(ctx context.Context, id string, ifVersion int64) error {
	entity := fmt.Sprintf("delete team %q", id)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// Locking the team row waits for, and then blocks, key inserts
		// referencing it, so the check below sees every key.
		var version int64
		if err := tx.QueryRow(ctx, "SELECT version FROM teams WHERE id = $1 FOR UPDATE", id).Scan(&version); err != nil {
			return mapErr(entity, err, nil)
		}
		if ifVersion != 0 && version != ifVersion {
			return fmt.Errorf("%s: %w", entity, store.ErrVersionMismatch)
		}
		var live bool
		if err := tx.QueryRow(ctx,
			"SELECT EXISTS (SELECT 1 FROM virtual_keys WHERE team_id = $1 AND revoked_at IS NULL)", id,
		).Scan(&live); err != nil {
			return fmt.Errorf("%s: %w", entity, err)
		}
		if live {
			return fmt.Errorf("%s: has unrevoked keys: %w", entity, store.ErrInUse)
		}
		if _, err := tx.Exec(ctx, "DELETE FROM teams WHERE id = $1", id); err != nil {
			return mapErr(entity, err, store.ErrInUse)
		}
		return nil
	})
	return err
}

// keyRow is a row of virtual_keys.
type keyRow struct {
	ID                  string            `db:"id"`
	Name                string            `db:"name"`
	TeamID              string            `db:"team_id"`
	ServiceID           string            `db:"service_id"`
	AllowedModels       []string          `db:"allowed_models"`
	Tags                map[string]string `db:"tags"`
	ExpiresAt           *time.Time        `db:"expires_at"`
	SecretHash          []byte            `db:"secret_hash"`
	SecretPrefix        string            `db:"secret_prefix"`
	PrevSecretHash      []byte            `db:"prev_secret_hash"`
	PrevSecretExpiresAt *time.Time        `db:"prev_secret_expires_at"`
	CreatedAt           time.Time         `db:"created_at"`
	RevokedAt           *time.Time        `db:"revoked_at"`
	RotatedAt           *time.Time        `db:"rotated_at"`
	CachePolicy         []byte            `db:"cache_policy"`
	Version             int64             `db:"version"`
	DropParams          bool              `db:"drop_params"`
	CreatedBy           string            `db:"created_by"`
}

const keyColumns = `id, name, team_id, service_id, allowed_models, tags, expires_at, secret_hash,
	secret_prefix, prev_secret_hash, prev_secret_expires_at, created_at, revoked_at, rotated_at, cache_policy, version, drop_params, created_by`

func (r keyRow) key() store.Key {
	return store.Key{
		ID:                  r.ID,
		Name:                r.Name,
		TeamID:              r.TeamID,
		ServiceID:           r.ServiceID,
		AllowedModels:       r.AllowedModels,
		Tags:                r.Tags,
		ExpiresAt:           timeOrZero(r.ExpiresAt),
		SecretHash:          r.SecretHash,
		SecretPrefix:        r.SecretPrefix,
		PrevSecretHash:      r.PrevSecretHash,
		PrevSecretExpiresAt: timeOrZero(r.PrevSecretExpiresAt),
		CreatedAt:           r.CreatedAt.UTC(),
		RevokedAt:           timeOrZero(r.RevokedAt),
		RotatedAt:           timeOrZero(r.RotatedAt),
		CachePolicy:         r.CachePolicy,
		DropParams:          r.DropParams,
		Version:             r.Version,
		CreatedBy:           r.CreatedBy,
	}
}

// collectKey reads the one key rows returns.
func collectKey(entity string, rows pgx.Rows) (*store.Key, error) {
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[keyRow])
	if err != nil {
		return nil, mapErr(entity, err, nil)
	}
	k := r.key()
	return &k, nil
}

// CreateKey stores k and sets its CreatedAt and Version. It stores k's current secret
// and expiry only: rotation and revocation fields start empty. ErrConflict
// if the id or hash exists, ErrNotFound if the team does not.
func (s *Store) CreateKey(ctx context.Context, k *store.Key) error {
	err := s.pool.QueryRow(ctx, `
		INSERT INTO virtual_keys (id, name, team_id, service_id, allowed_models, tags, expires_at,
			secret_hash, secret_prefix, cache_policy, drop_params, created_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, $12)
		RETURNING created_at, version`,
		k.ID, k.Name, k.TeamID, k.ServiceID, nonNilSlice(k.AllowedModels), nonNilMap(k.Tags),
		timeOrNil(k.ExpiresAt), k.SecretHash, k.SecretPrefix, jsonOrNil(k.CachePolicy), k.DropParams, k.CreatedBy,
	).Scan(&k.CreatedAt, &k.Version)
	if err != nil {
		return mapErr(fmt.Sprintf("create key %q (team %q)", k.ID, k.TeamID), err, store.ErrNotFound)
	}
	k.CreatedAt = k.CreatedAt.UTC()
	k.PrevSecretHash, k.PrevSecretExpiresAt = nil, time.Time{}
	k.RevokedAt, k.RotatedAt = time.Time{}, time.Time{}
	return nil
}

// GetKey returns the key or ErrNotFound.
func (s *Store) GetKey(ctx context.Context, id string) (*store.Key, error) {
	rows, _ := s.pool.Query(ctx, "SELECT "+keyColumns+" FROM virtual_keys WHERE id = $1", id)
	return collectKey(fmt.Sprintf("key %q", id), rows)
}

// ListKeys returns a page of keys, newest first, and the cursor of the next
// page ("" at the end). A Limit outside [1, 1000] means 100 or 1000.
func (s *Store) ListKeys(ctx context.Context, f store.KeyFilter) ([]store.Key, string, error) {
	limit := store.PageSize(f.Limit)
	sql, args, err := listKeysQuery(f, limit)
	if err != nil {
		return nil, "", fmt.Errorf("list keys: %w", err)
	}
	rows, _ := s.pool.Query(ctx, sql, args...)
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByName[keyRow])
	if err != nil {
		return nil, "", fmt.Errorf("list keys: %w", err)
	}
	next := ""
	if len(rs) > limit {
		rs = rs[:limit]
		last := rs[limit-1]
		next = store.EncodeCursor(last.CreatedAt, last.ID)
	}
	ks := make([]store.Key, len(rs))
	for i, r := range rs {
		ks[i] = r.key()
	}
	return ks, next, nil
}

// listKeysQuery returns ListKeys' SQL and arguments for f.
func listKeysQuery(f store.KeyFilter, limit int) (string, []any, error) {
	var q queryArgs
	if f.TeamID != "" {
		q.add("team_id = %s", f.TeamID)
	}
	if !f.IncludeRevoked {
		q.add("revoked_at IS NULL")
	}
	if f.After != "" {
		at, id, err := store.DecodeCursor(f.After)
		if err != nil {
			return "", nil, err
		}
		q.add("(created_at, id) < (%s, %s)", at, id)
	}
	sql := "SELECT " + keyColumns + " FROM virtual_keys" + q.clause() +
		" ORDER BY created_at DESC, id DESC LIMIT " + strconv.Itoa(limit+1)
	return sql, q.args, nil
}

// AllKeys returns every unrevoked key.
func (s *Store) AllKeys(ctx context.Context) ([]store.Key, error) {
	rows, _ := s.pool.Query(ctx, "SELECT "+keyColumns+" FROM virtual_keys WHERE revoked_at IS NULL ORDER BY id")
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByName[keyRow])
	if err != nil {
		return nil, fmt.Errorf("all keys: %w", err)
	}
	ks := make([]store.Key, len(rs))
	for i, r := range rs {
		ks[i] = r.key()
	}
	return ks, nil
}

// RevokeKey sets RevokedAt to at (the database's clock for a zero at)
// unless the key is already revoked, and returns the key; ErrNotFound if
// missing.
func (s *Store) RevokeKey(ctx context.Context, id string, at time.Time) (*store.Key, error) {
	rows, _ := s.pool.Query(ctx, `
		UPDATE virtual_keys SET revoked_at = COALESCE(revoked_at, $2, now())
		WHERE id = $1
		RETURNING `+keyColumns, id, timeOrNil(at))
	return collectKey(fmt.Sprintf("revoke key %q", id), rows)
}

// RotateKey replaces the key's secret hash and prefix and sets RotatedAt to
// at (the database's clock for a zero at). The replaced hash stays valid until graceUntil; when graceUntil is not
// after at, no previous hash is kept. ErrNotFound if the key is missing or
// revoked, ErrConflict if newHash belongs to a key.
func (s *Store) RotateKey(ctx context.Context, id string, newHash []byte, newPrefix string, at, graceUntil time.Time) (*store.Key, error) {
	var grace *time.Time
	if graceUntil.After(at) {
		grace = &graceUntil
	}
	// The right-hand sides see the row as it was, so prev_secret_hash
	// takes the replaced hash.
	rows, _ := s.pool.Query(ctx, `
		UPDATE virtual_keys
		SET prev_secret_hash = CASE WHEN $5::timestamptz IS NULL THEN NULL ELSE secret_hash END,
			prev_secret_expires_at = $5,
			secret_hash = $2, secret_prefix = $3, rotated_at = COALESCE($4, now())
		WHERE id = $1 AND revoked_at IS NULL
		RETURNING `+keyColumns, id, newHash, newPrefix, timeOrNil(at), grace)
	return collectKey(fmt.Sprintf("rotate key %q", id), rows)
}

// jsonOrNil returns b as a JSON argument, nil (SQL NULL) when b is empty.
func jsonOrNil(b []byte) *string {
	if len(b) == 0 {
		return nil
	}
	v := string(b)
	return &v
}
