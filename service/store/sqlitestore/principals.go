package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tollgate-dev/tollgate/service/store"
)

var (
	_ store.Principals  = (*Store)(nil)
	_ store.Keyring     = (*Store)(nil)
	_ store.KeyCreators = (*Store)(nil)
)

// KeyCreators implements store.KeyCreators.
func (s *Store) KeyCreators(ctx context.Context, ids []string) (map[string]string, error) {
	out := map[string]string{}
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := s.r.QueryContext(ctx, "SELECT id, created_by FROM virtual_keys WHERE created_by <> '' AND id IN (?"+
		strings.Repeat(", ?", len(ids)-1)+")", args...)
	pairs, err := collect(rows, err, func(r scanner) ([2]string, error) {
		var p [2]string
		err := r.Scan(&p[0], &p[1])
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("key creators: %w", err)
	}
	for _, p := range pairs {
		out[p[0]] = p[1]
	}
	return out, nil
}

const serviceAccountColumns = "id, description, owner, roles, disabled, created_by, created_at, updated_at, version"

func scanServiceAccount(r scanner) (store.ServiceAccount, error) {
	var a store.ServiceAccount
	var roles string
	var created, updated int64
	if err := r.Scan(&a.ID, &a.Description, &a.Owner, &roles, &a.Disabled, &a.CreatedBy, &created, &updated, &a.Version); err != nil {
		return a, err
	}
	var err error
	if a.Roles, err = parseList(roles); err != nil {
		return a, err
	}
	if a.Roles == nil {
		a.Roles = []string{}
	}
	a.CreatedAt, a.UpdatedAt = fromMicros(created), fromMicros(updated)
	return a, nil
}

// CreateServiceAccount implements store.Principals.
func (s *Store) CreateServiceAccount(ctx context.Context, a *store.ServiceAccount) error {
	now := s.clock()
	return s.write(ctx, func(t *tx) error {
		v, err := t.nextVersion(ctx)
		if err != nil {
			return err
		}
		if _, err := t.ExecContext(ctx, `INSERT INTO service_accounts (`+serviceAccountColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.ID, a.Description, a.Owner, listJSON(a.Roles), a.Disabled, a.CreatedBy, micros(now), micros(now), v); err != nil {
			return mapErr(fmt.Sprintf("create service account %q", a.ID), err, nil)
		}
		a.CreatedAt, a.UpdatedAt, a.Version = now, now, v
		t.changed(store.ChangeServiceAccount, a.ID)
		return nil
	})
}

// GetServiceAccount implements store.Principals.
func (s *Store) GetServiceAccount(ctx context.Context, id string) (*store.ServiceAccount, error) {
	a, err := scanServiceAccount(s.r.QueryRowContext(ctx, "SELECT "+serviceAccountColumns+" FROM service_accounts WHERE id = ?", id))
	if err != nil {
		return nil, mapErr(fmt.Sprintf("service account %q", id), err, nil)
	}
	return &a, nil
}

// PageServiceAccounts implements store.Principals.
func (s *Store) PageServiceAccounts(ctx context.Context, p store.Page) ([]store.ServiceAccount, string, error) {
	return pageRows(ctx, s, keyPage{columns: serviceAccountColumns, table: "service_accounts", key: "id"}, p, scanServiceAccount,
		func(a store.ServiceAccount) string { return a.ID })
}

// AllServiceAccounts implements store.Principals.
func (s *Store) AllServiceAccounts(ctx context.Context) ([]store.ServiceAccount, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT "+serviceAccountColumns+" FROM service_accounts ORDER BY id")
	as, err := collect(rows, err, scanServiceAccount)
	if err != nil {
		return nil, fmt.Errorf("list service accounts: %w", err)
	}
	return as, nil
}

// UpdateServiceAccount implements store.Principals.
func (s *Store) UpdateServiceAccount(ctx context.Context, a *store.ServiceAccount) error {
	entity := fmt.Sprintf("update service account %q", a.ID)
	now := s.clock()
	return s.write(ctx, func(t *tx) error {
		v, err := t.nextVersion(ctx)
		if err != nil {
			return err
		}
		var created int64
		err = t.QueryRowContext(ctx, `
			UPDATE service_accounts SET description = ?, owner = ?, roles = ?, disabled = ?, updated_at = ?, version = ?
			WHERE id = ? AND (? = 0 OR version = ?)
			RETURNING created_by, created_at`,
			a.Description, a.Owner, listJSON(a.Roles), a.Disabled, micros(now), v, a.ID, a.Version, a.Version,
		).Scan(&a.CreatedBy, &created)
		if errors.Is(err, sql.ErrNoRows) {
			return conditionalMiss(ctx, t, "service_accounts", "id", a.ID, entity)
		}
		if err != nil {
			return mapErr(entity, err, nil)
		}
		a.CreatedAt, a.UpdatedAt, a.Version = fromMicros(created), now, v
		t.changed(store.ChangeServiceAccount, a.ID)
		return nil
	})
}

// DeleteServiceAccount implements store.Principals. Its tokens go with it
// (ON DELETE CASCADE), each with a change notification.
func (s *Store) DeleteServiceAccount(ctx context.Context, id string, ifVersion int64) error {
	entity := fmt.Sprintf("delete service account %q", id)
	return s.write(ctx, func(t *tx) error {
		rows, err := t.QueryContext(ctx, "SELECT id FROM service_account_tokens WHERE service_account_id = ?", id)
		tokens, err := collect(rows, err, func(r scanner) (string, error) {
			var id string
			return id, r.Scan(&id)
		})
		if err != nil {
			return fmt.Errorf("%s: %w", entity, err)
		}
		res, err := t.ExecContext(ctx, "DELETE FROM service_accounts WHERE id = ? AND (? = 0 OR version = ?)", id, ifVersion, ifVersion)
		if err != nil {
			return mapErr(entity, err, nil)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return conditionalMiss(ctx, t, "service_accounts", "id", id, entity)
		}
		for _, tok := range tokens {
			t.changed(store.ChangeServiceAccountToken, tok)
		}
		t.changed(store.ChangeServiceAccount, id)
		return nil
	})
}

const tokenColumns = "id, service_account_id, name, secret_hash, secret_prefix, expires_at, created_at, revoked_at, last_used_at, rotated_from, created_by"

func scanToken(r scanner) (store.ServiceAccountToken, error) {
	var t store.ServiceAccountToken
	var expires, created int64
	var revoked, used sql.NullInt64
	err := r.Scan(&t.ID, &t.ServiceAccountID, &t.Name, &t.SecretHash, &t.SecretPrefix, &expires, &created, &revoked, &used,
		&t.RotatedFrom, &t.CreatedBy)
	t.ExpiresAt, t.CreatedAt = fromMicros(expires), fromMicros(created)
	t.RevokedAt, t.LastUsedAt = timeOrZero(revoked), timeOrZero(used)
	return t, err
}

// insertToken stores tok and sets its CreatedAt.
func (s *Store) insertToken(ctx context.Context, t *tx, tok *store.ServiceAccountToken) error {
	now := s.clock()
	if _, err := t.ExecContext(ctx, `
		INSERT INTO service_account_tokens (id, service_account_id, name, secret_hash, secret_prefix, expires_at, created_at, rotated_from, created_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		tok.ID, tok.ServiceAccountID, tok.Name, tok.SecretHash, tok.SecretPrefix, micros(tok.ExpiresAt), micros(now),
		tok.RotatedFrom, tok.CreatedBy); err != nil {
		return mapErr(fmt.Sprintf("create token of service account %q", tok.ServiceAccountID), err, store.ErrNotFound)
	}
	tok.CreatedAt = now
	t.changed(store.ChangeServiceAccountToken, tok.ID)
	return nil
}

// CreateServiceAccountToken implements store.Principals.
func (s *Store) CreateServiceAccountToken(ctx context.Context, tok *store.ServiceAccountToken) error {
	return s.write(ctx, func(t *tx) error { return s.insertToken(ctx, t, tok) })
}

// GetServiceAccountToken implements store.Principals.
func (s *Store) GetServiceAccountToken(ctx context.Context, id string) (*store.ServiceAccountToken, error) {
	t, err := scanToken(s.r.QueryRowContext(ctx, "SELECT "+tokenColumns+" FROM service_account_tokens WHERE id = ?", id))
	if err != nil {
		return nil, mapErr(fmt.Sprintf("service account token %q", id), err, nil)
	}
	return &t, nil
}

func (s *Store) tokens(ctx context.Context, where string, args ...any) ([]store.ServiceAccountToken, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT "+tokenColumns+" FROM service_account_tokens WHERE "+where+
		" ORDER BY created_at DESC, id DESC", args...)
	ts, err := collect(rows, err, scanToken)
	if err != nil {
		return nil, fmt.Errorf("list service account tokens: %w", err)
	}
	return ts, nil
}

// ListServiceAccountTokens implements store.Principals.
func (s *Store) ListServiceAccountTokens(ctx context.Context, accountID string) ([]store.ServiceAccountToken, error) {
	return s.tokens(ctx, "service_account_id = ?", accountID)
}

// AllServiceAccountTokens implements store.Principals.
func (s *Store) AllServiceAccountTokens(ctx context.Context, now time.Time) ([]store.ServiceAccountToken, error) {
	return s.tokens(ctx, "revoked_at IS NULL AND expires_at > ?", micros(now))
}

// RevokeServiceAccountToken implements store.Principals.
func (s *Store) RevokeServiceAccountToken(ctx context.Context, id string, at time.Time) (*store.ServiceAccountToken, error) {
	var out store.ServiceAccountToken
	err := s.write(ctx, func(t *tx) error {
		var err error
		out, err = scanToken(t.QueryRowContext(ctx, `
			UPDATE service_account_tokens SET revoked_at = coalesce(revoked_at, ?) WHERE id = ? RETURNING `+tokenColumns, micros(at), id))
		if err != nil {
			return mapErr(fmt.Sprintf("revoke service account token %q", id), err, nil)
		}
		if out.RevokedAt.Equal(fromMicros(micros(at))) {
			t.changed(store.ChangeServiceAccountToken, id)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// RotateServiceAccountToken implements store.Principals.
func (s *Store) RotateServiceAccountToken(ctx context.Context, next *store.ServiceAccountToken, oldExpiresAt time.Time) error {
	return s.write(ctx, func(t *tx) error {
		res, err := t.ExecContext(ctx, `
			UPDATE service_account_tokens SET expires_at = min(expires_at, ?)
			WHERE id = ? AND revoked_at IS NULL AND service_account_id = ?`, micros(oldExpiresAt), next.RotatedFrom, next.ServiceAccountID)
		if err != nil {
			return fmt.Errorf("rotate service account token %q: %w", next.RotatedFrom, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("service account token %q: %w", next.RotatedFrom, store.ErrNotFound)
		}
		t.changed(store.ChangeServiceAccountToken, next.RotatedFrom)
		return s.insertToken(ctx, t, next)
	})
}

// TouchServiceAccountTokens implements store.Principals: one transaction
// for the whole batch, without change notifications (as on PostgreSQL).
func (s *Store) TouchServiceAccountTokens(ctx context.Context, used map[string]time.Time) error {
	if len(used) == 0 {
		return nil
	}
	err := s.write(ctx, func(t *tx) error {
		for id, at := range used {
			if _, err := t.ExecContext(ctx, `
				UPDATE service_account_tokens SET last_used_at = max(coalesce(last_used_at, 0), ?) WHERE id = ?`,
				micros(at), id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record service account token use: %w", err)
	}
	return nil
}

const roleBindingColumns = "id, subject_kind, subject, role, created_by, created_at"

func scanRoleBinding(r scanner) (store.RoleBinding, error) {
	var b store.RoleBinding
	var created int64
	err := r.Scan(&b.ID, &b.SubjectKind, &b.Subject, &b.Role, &b.CreatedBy, &created)
	b.CreatedAt = fromMicros(created)
	return b, err
}

// CreateRoleBinding implements store.Principals.
func (s *Store) CreateRoleBinding(ctx context.Context, b *store.RoleBinding) error {
	now := s.clock()
	return s.write(ctx, func(t *tx) error {
		if _, err := t.ExecContext(ctx, "INSERT INTO role_bindings ("+roleBindingColumns+") VALUES (?, ?, ?, ?, ?, ?)",
			b.ID, b.SubjectKind, b.Subject, b.Role, b.CreatedBy, micros(now)); err != nil {
			return mapErr(fmt.Sprintf("create role binding of %s %q to %q", b.SubjectKind, b.Subject, b.Role), err, nil)
		}
		b.CreatedAt = now
		t.changed(store.ChangeRoleBinding, b.ID)
		return nil
	})
}

// PageRoleBindings implements store.Principals.
func (s *Store) PageRoleBindings(ctx context.Context, p store.Page) ([]store.RoleBinding, string, error) {
	return pageRows(ctx, s, keyPage{columns: roleBindingColumns, table: "role_bindings", key: "id"}, p, scanRoleBinding,
		func(b store.RoleBinding) string { return b.ID })
}

// AllRoleBindings implements store.Principals.
func (s *Store) AllRoleBindings(ctx context.Context) ([]store.RoleBinding, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT "+roleBindingColumns+" FROM role_bindings ORDER BY id")
	bs, err := collect(rows, err, scanRoleBinding)
	if err != nil {
		return nil, fmt.Errorf("list role bindings: %w", err)
	}
	return bs, nil
}

// DeleteRoleBinding implements store.Principals.
func (s *Store) DeleteRoleBinding(ctx context.Context, id string) error {
	return s.write(ctx, func(t *tx) error {
		res, err := t.ExecContext(ctx, "DELETE FROM role_bindings WHERE id = ?", id)
		if err != nil {
			return fmt.Errorf("delete role binding %q: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("role binding %q: %w", id, store.ErrNotFound)
		}
		t.changed(store.ChangeRoleBinding, id)
		return nil
	})
}

// PrimaryKeyID implements store.Keyring.
func (s *Store) PrimaryKeyID(ctx context.Context) (string, error) {
	var id string
	err := s.r.QueryRowContext(ctx, "SELECT primary_key_id FROM master_key_state").Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("master key state: %w", err)
	}
	return id, nil
}

// SetPrimaryKeyID implements store.Keyring.
func (s *Store) SetPrimaryKeyID(ctx context.Context, id string) error {
	err := s.write(ctx, func(t *tx) error {
		if _, err := t.ExecContext(ctx, `
			INSERT INTO master_key_state (singleton, primary_key_id, updated_at) VALUES (1, ?, ?)
			ON CONFLICT (singleton) DO UPDATE SET primary_key_id = excluded.primary_key_id, updated_at = excluded.updated_at`,
			id, micros(s.clock())); err != nil {
			return err
		}
		t.changed(store.ChangeMasterKey, id)
		return nil
	})
	if err != nil {
		return fmt.Errorf("record master key %s: %w", id, err)
	}
	return nil
}

// NotifyCredentials implements store.Keyring: the embedded store's one
// process hears it at once.
func (s *Store) NotifyCredentials(ctx context.Context, id string) error {
	s.hub.publish([]store.Change{{Kind: store.ChangeCredentials, ID: id}})
	return nil
}

// sealedColumn is a BLOB column holding sealed values.
type sealedColumn struct{ kind, table, id, column string }

// sealedColumns are the columns of sealed values, for the master-key
// rotation. A migration that adds one adds it here (as in pgstore).
var sealedColumns = []sealedColumn{
	{"provider_credential", "providers", "id", "sealed_credential"},
	{"alert_webhook_url", "alert_webhooks", "id", "sealed_url"},
	{"alert_webhook_secret", "alert_webhooks", "id", "sealed_secret"},
}

// SealedValues implements store.Keyring.
func (s *Store) SealedValues(ctx context.Context) ([]store.SealedValue, error) {
	var out []store.SealedValue
	for _, c := range sealedColumns {
		rows, err := s.r.QueryContext(ctx, "SELECT "+c.id+", "+c.column+" FROM "+c.table+" WHERE "+c.column+" IS NOT NULL ORDER BY "+c.id)
		vs, err := collect(rows, err, func(r scanner) (store.SealedValue, error) {
			v := store.SealedValue{Kind: c.kind}
			err := r.Scan(&v.ID, &v.Sealed)
			return v, err
		})
		if err != nil {
			return nil, fmt.Errorf("sealed values of %s: %w", c.table, err)
		}
		out = append(out, vs...)
	}
	return out, nil
}

// ReplaceSealed implements store.Keyring (compare and swap).
func (s *Store) ReplaceSealed(ctx context.Context, v store.SealedValue, sealed []byte) (bool, error) {
	for _, c := range sealedColumns {
		if c.kind != v.Kind {
			continue
		}
		var n int64
		err := s.write(ctx, func(t *tx) error {
			res, err := t.ExecContext(ctx, "UPDATE "+c.table+" SET "+c.column+" = ? WHERE "+c.id+" = ? AND "+c.column+" = ?", sealed, v.ID, v.Sealed)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return false, fmt.Errorf("re-seal %s %q: %w", c.kind, v.ID, err)
		}
		return n == 1, nil
	}
	return false, fmt.Errorf("re-seal: unknown kind %q", v.Kind)
}
