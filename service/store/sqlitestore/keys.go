package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"

	"github.com/tollgate-dev/tollgate/service/store"
)

const teamColumns = "id, display_name, labels, created_at, version"

func scanTeam(r scanner) (store.Team, error) {
	var t store.Team
	var labels string
	var created int64
	if err := r.Scan(&t.ID, &t.DisplayName, &labels, &created, &t.Version); err != nil {
		return t, err
	}
	var err error
	t.Labels, err = parseMap(labels)
	t.CreatedAt = fromMicros(created)
	return t, err
}

// CreateTeam stores t and sets its creation time and Version; ErrConflict
// if the id exists.
func (s *Store) CreateTeam(ctx context.Context, team *store.Team) error {
	now := s.clock()
	return s.write(ctx, func(t *tx) error {
		v, err := t.nextVersion(ctx)
		if err != nil {
			return err
		}
		if _, err := t.ExecContext(ctx, "INSERT INTO teams (id, display_name, labels, created_at, version) VALUES (?, ?, ?, ?, ?)",
			team.ID, team.DisplayName, mapJSON(team.Labels), micros(now), v); err != nil {
			return mapErr(fmt.Sprintf("create team %q", team.ID), err, nil)
		}
		team.CreatedAt, team.Version = now, v
		t.changed(store.ChangeTeam, team.ID)
		return nil
	})
}

// GetTeam returns the team or ErrNotFound.
func (s *Store) GetTeam(ctx context.Context, id string) (*store.Team, error) {
	t, err := scanTeam(s.r.QueryRowContext(ctx, "SELECT "+teamColumns+" FROM teams WHERE id = ?", id))
	if err != nil {
		return nil, mapErr(fmt.Sprintf("team %q", id), err, nil)
	}
	return &t, nil
}

// ListTeams returns all teams ordered by id.
func (s *Store) ListTeams(ctx context.Context) ([]store.Team, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT "+teamColumns+" FROM teams ORDER BY id")
	ts, err := collect(rows, err, scanTeam)
	if err != nil {
		return nil, fmt.Errorf("list teams: %w", err)
	}
	return ts, nil
}

// PageTeams returns a page of teams ordered by id.
func (s *Store) PageTeams(ctx context.Context, p store.Page) ([]store.Team, string, error) {
	return pageRows(ctx, s, keyPage{columns: teamColumns, table: "teams", key: "id"}, p, scanTeam,
		func(t store.Team) string { return t.ID })
}

// DeleteTeam deletes the team and its revoked keys if ifVersion is 0 or
// its version; ErrNotFound if missing, ErrVersionMismatch if changed,
// ErrInUse if it has unrevoked keys.
func (s *Store) DeleteTeam(ctx context.Context, id string, ifVersion int64) error {
	entity := fmt.Sprintf("delete team %q", id)
	return s.write(ctx, func(t *tx) error {
		var version int64
		if err := t.QueryRowContext(ctx, "SELECT version FROM teams WHERE id = ?", id).Scan(&version); err != nil {
			return mapErr(entity, err, nil)
		}
		if ifVersion != 0 && version != ifVersion {
			return fmt.Errorf("%s: %w", entity, store.ErrVersionMismatch)
		}
		var live bool
		if err := t.QueryRowContext(ctx,
			"SELECT EXISTS (SELECT 1 FROM virtual_keys WHERE team_id = ? AND revoked_at IS NULL)", id).Scan(&live); err != nil {
			return fmt.Errorf("%s: %w", entity, err)
		}
		if live {
			return fmt.Errorf("%s: has unrevoked keys: %w", entity, store.ErrInUse)
		}
		rows, err := t.QueryContext(ctx, "DELETE FROM virtual_keys WHERE team_id = ? RETURNING id", id)
		keys, err := collect(rows, err, func(r scanner) (string, error) {
			var k string
			return k, r.Scan(&k)
		})
		if err != nil {
			return fmt.Errorf("%s: %w", entity, err)
		}
		if _, err := t.ExecContext(ctx, "DELETE FROM teams WHERE id = ?", id); err != nil {
			return mapErr(entity, err, store.ErrInUse)
		}
		for _, k := range keys {
			t.changed(store.ChangeKey, k)
		}
		t.changed(store.ChangeTeam, id)
		return nil
	})
}

const keyColumns = `id, name, team_id, service_id, allowed_models, tags, expires_at, secret_hash,
	secret_prefix, prev_secret_hash, prev_secret_expires_at, created_at, revoked_at, rotated_at, cache_policy, version, drop_params, created_by`

func scanKey(r scanner) (store.Key, error) {
	var k store.Key
	var allowed, tags string
	var expires, prevExpires, revoked, rotated sql.NullInt64
	var created int64
	var policy sql.NullString
	if err := r.Scan(&k.ID, &k.Name, &k.TeamID, &k.ServiceID, &allowed, &tags, &expires, &k.SecretHash,
		&k.SecretPrefix, &k.PrevSecretHash, &prevExpires, &created, &revoked, &rotated, &policy, &k.Version, &k.DropParams, &k.CreatedBy); err != nil {
		return k, err
	}
	var err error
	if k.AllowedModels, err = parseList(allowed); err != nil {
		return k, err
	}
	if k.Tags, err = parseMap(tags); err != nil {
		return k, err
	}
	k.ExpiresAt, k.PrevSecretExpiresAt = timeOrZero(expires), timeOrZero(prevExpires)
	k.CreatedAt, k.RevokedAt, k.RotatedAt = fromMicros(created), timeOrZero(revoked), timeOrZero(rotated)
	if policy.Valid {
		k.CachePolicy = []byte(policy.String)
	}
	return k, nil
}

// CreateKey stores k and sets its CreatedAt and Version. It stores k's
// current secret and expiry only: rotation and revocation fields start
// empty. ErrConflict if the id or hash exists, ErrNotFound if the team
// does not.
func (s *Store) CreateKey(ctx context.Context, k *store.Key) error {
	now := s.clock()
	return s.write(ctx, func(t *tx) error {
		v, err := t.nextVersion(ctx)
		if err != nil {
			return err
		}
		var policy any
		if len(k.CachePolicy) > 0 {
			policy = string(k.CachePolicy)
		}
		if _, err := t.ExecContext(ctx, `
			INSERT INTO virtual_keys (id, name, team_id, service_id, allowed_models, tags, expires_at,
				secret_hash, secret_prefix, cache_policy, created_at, version, drop_params, created_by)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			k.ID, k.Name, k.TeamID, k.ServiceID, listJSON(k.AllowedModels), mapJSON(k.Tags), nullMicros(k.ExpiresAt),
			k.SecretHash, k.SecretPrefix, policy, micros(now), v, k.DropParams, k.CreatedBy); err != nil {
			return mapErr(fmt.Sprintf("create key %q (team %q)", k.ID, k.TeamID), err, store.ErrNotFound)
		}
		k.CreatedAt, k.Version = now, v
		k.PrevSecretHash, k.PrevSecretExpiresAt = nil, time.Time{}
		k.RevokedAt, k.RotatedAt = time.Time{}, time.Time{}
		t.changed(store.ChangeKey, k.ID)
		return nil
	})
}

// GetKey returns the key or ErrNotFound.
func (s *Store) GetKey(ctx context.Context, id string) (*store.Key, error) {
	k, err := scanKey(s.r.QueryRowContext(ctx, "SELECT "+keyColumns+" FROM virtual_keys WHERE id = ?", id))
	if err != nil {
		return nil, mapErr(fmt.Sprintf("key %q", id), err, nil)
	}
	return &k, nil
}

// ListKeys returns a page of keys, newest first, and the cursor of the next
// page ("" at the end). A Limit outside [1, 1000] means 100 or 1000.
func (s *Store) ListKeys(ctx context.Context, f store.KeyFilter) ([]store.Key, string, error) {
	limit := store.PageSize(f.Limit)
	var w where
	if f.TeamID != "" {
		w.add("team_id = ?", f.TeamID)
	}
	if !f.IncludeRevoked {
		w.add("revoked_at IS NULL")
	}
	if f.After != "" {
		at, id, err := store.DecodeCursor(f.After)
		if err != nil {
			return nil, "", fmt.Errorf("list keys: %w", err)
		}
		w.add("(created_at, id) < (?, ?)", micros(at), id)
	}
	rows, err := s.r.QueryContext(ctx, "SELECT "+keyColumns+" FROM virtual_keys"+w.clause()+
		" ORDER BY created_at DESC, id DESC LIMIT "+strconv.Itoa(limit+1), w.args...)
	ks, err := collect(rows, err, scanKey)
	if err != nil {
		return nil, "", fmt.Errorf("list keys: %w", err)
	}
	next := ""
	if len(ks) > limit {
		ks = ks[:limit]
		last := ks[limit-1]
		next = store.EncodeCursor(last.CreatedAt, last.ID)
	}
	return ks, next, nil
}

// AllKeys returns every unrevoked key.
func (s *Store) AllKeys(ctx context.Context) ([]store.Key, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT "+keyColumns+" FROM virtual_keys WHERE revoked_at IS NULL ORDER BY id")
	ks, err := collect(rows, err, scanKey)
	if err != nil {
		return nil, fmt.Errorf("all keys: %w", err)
	}
	return ks, nil
}

// RevokeKey sets RevokedAt to at (the store's clock for a zero at) unless
// the key is already revoked, and returns the key; ErrNotFound if missing.
func (s *Store) RevokeKey(ctx context.Context, id string, at time.Time) (*store.Key, error) {
	if at.IsZero() {
		at = s.clock()
	}
	entity := fmt.Sprintf("revoke key %q", id)
	var k store.Key
	err := s.write(ctx, func(t *tx) error {
		v, err := t.nextVersion(ctx)
		if err != nil {
			return err
		}
		// Only a first revocation changes the row, and so its version.
		if _, err := t.ExecContext(ctx, "UPDATE virtual_keys SET revoked_at = ?, version = ? WHERE id = ? AND revoked_at IS NULL",
			micros(at), v, id); err != nil {
			return mapErr(entity, err, nil)
		}
		if k, err = scanKey(t.QueryRowContext(ctx, "SELECT "+keyColumns+" FROM virtual_keys WHERE id = ?", id)); err != nil {
			return mapErr(entity, err, nil)
		}
		t.changed(store.ChangeKey, id)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &k, nil
}

// RotateKey replaces the key's secret hash and prefix and sets RotatedAt to
// at (the store's clock for a zero at). The replaced hash stays valid until
// graceUntil; when graceUntil is not after at, no previous hash is kept.
// ErrNotFound if the key is missing or revoked, ErrConflict if newHash
// belongs to a key.
func (s *Store) RotateKey(ctx context.Context, id string, newHash []byte, newPrefix string, at, graceUntil time.Time) (*store.Key, error) {
	if at.IsZero() {
		at = s.clock()
	}
	var grace any
	if graceUntil.After(at) {
		grace = micros(graceUntil)
	}
	entity := fmt.Sprintf("rotate key %q", id)
	var k store.Key
	err := s.write(ctx, func(t *tx) error {
		v, err := t.nextVersion(ctx)
		if err != nil {
			return err
		}
		// The right-hand sides see the row as it was, so prev_secret_hash
		// takes the replaced hash.
		k, err = scanKey(t.QueryRowContext(ctx, `
			UPDATE virtual_keys
			SET prev_secret_hash = CASE WHEN ?1 IS NULL THEN NULL ELSE secret_hash END,
				prev_secret_expires_at = ?1,
				secret_hash = ?2, secret_prefix = ?3, rotated_at = ?4, version = ?5
			WHERE id = ?6 AND revoked_at IS NULL
			RETURNING `+keyColumns, grace, newHash, newPrefix, micros(at), v, id))
		if err != nil {
			return mapErr(entity, err, nil)
		}
		t.changed(store.ChangeKey, id)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &k, nil
}
