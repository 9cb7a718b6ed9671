package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-dev/tollgate/service/store"
)

var (
	_ store.Principals  = (*Store)(nil)
	_ store.Keyring     = (*Store)(nil)
	_ store.KeyCreators = (*Store)(nil)
)

// KeyCreators implements store.KeyCreators.
func (s *Store) KeyCreators(ctx context.Context, ids []string) (map[string]string, error) {
	rows, _ := s.pool.Query(ctx, "SELECT id, created_by FROM virtual_keys WHERE id = ANY($1) AND created_by <> ''", ids)
	out := map[string]string{}
	var id, by string
	_, err := pgx.ForEachRow(rows, []any{&id, &by}, func() error {
		out[id] = by
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("key creators: %w", err)
	}
	return out, nil
}

type serviceAccountRow struct {
	ID          string    `db:"id"`
	Description string    `db:"description"`
	Owner       string    `db:"owner"`
	Roles       []string  `db:"roles"`
	Disabled    bool      `db:"disabled"`
	CreatedBy   string    `db:"created_by"`
	CreatedAt   time.Time `db:"created_at"`
	UpdatedAt   time.Time `db:"updated_at"`
	Version     int64     `db:"version"`
}

const serviceAccountColumns = "id, description, owner, roles, disabled, created_by, created_at, updated_at, version"

func (r serviceAccountRow) toStore() store.ServiceAccount {
	return store.ServiceAccount{ID: r.ID, Description: r.Description, Owner: r.Owner, Roles: r.Roles, Disabled: r.Disabled,
		CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), Version: r.Version}
}

// CreateServiceAccount implements store.Principals.
func (s *Store) CreateServiceAccount(ctx context.Context, a *store.ServiceAccount) error {
	err := s.pool.QueryRow(ctx, `
		INSERT INTO service_accounts (id, description, owner, roles, disabled, created_by)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING created_at, updated_at, version`,
		a.ID, a.Description, a.Owner, nonNilSlice(a.Roles), a.Disabled, a.CreatedBy,
	).Scan(&a.CreatedAt, &a.UpdatedAt, &a.Version)
	if err != nil {
		return mapErr(fmt.Sprintf("create service account %q", a.ID), err, nil)
	}
	a.CreatedAt, a.UpdatedAt = a.CreatedAt.UTC(), a.UpdatedAt.UTC()
	return nil
}

// GetServiceAccount implements store.Principals.
func (s *Store) GetServiceAccount(ctx context.Context, id string) (*store.ServiceAccount, error) {
	rows, _ := s.pool.Query(ctx, "SELECT "+serviceAccountColumns+" FROM service_accounts WHERE id = $1", id)
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[serviceAccountRow])
	if err != nil {
		return nil, mapErr(fmt.Sprintf("service account %q", id), err, nil)
	}
	a := r.toStore()
	return &a, nil
}

// PageServiceAccounts implements store.Principals.
func (s *Store) PageServiceAccounts(ctx context.Context, p store.Page) ([]store.ServiceAccount, string, error) {
	rs, next, err := pageRows(ctx, s, keyPage{columns: serviceAccountColumns, table: "service_accounts", key: "id"}, p,
		func(r serviceAccountRow) string { return r.ID })
	if err != nil {
		return nil, "", err
	}
	out := make([]store.ServiceAccount, len(rs))
	for i, r := range rs {
		out[i] = r.toStore()
	}
	return out, next, nil
}

// AllServiceAccounts implements store.Principals.
func (s *Store) AllServiceAccounts(ctx context.Context) ([]store.ServiceAccount, error) {
	rows, _ := s.pool.Query(ctx, "SELECT "+serviceAccountColumns+" FROM service_accounts ORDER BY id")
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByName[serviceAccountRow])
	if err != nil {
		return nil, fmt.Errorf("list service accounts: %w", err)
	}
	out := make([]store.ServiceAccount, len(rs))
	for i, r := range rs {
		out[i] = r.toStore()
	}
	return out, nil
}

// UpdateServiceAccount implements store.Principals.
func (s *Store) UpdateServiceAccount(ctx context.Context, a *store.ServiceAccount) error {
	err := s.pool.QueryRow(ctx, `
		UPDATE service_accounts SET description = $2, owner = $3, roles = $4, disabled = $5, updated_at = now()
		WHERE id = $1 AND ($6::bigint = 0 OR version = $6)
		RETURNING created_by, created_at, updated_at, version`,
		a.ID, a.Description, a.Owner, nonNilSlice(a.Roles), a.Disabled, a.Version,
	).Scan(&a.CreatedBy, &a.CreatedAt, &a.UpdatedAt, &a.Version)
	if errors.Is(err, pgx.ErrNoRows) {
		return conditionalMiss(ctx, s.pool, "service_accounts", "id", a.ID, fmt.Sprintf("service account %q", a.ID))
	}
	if err != nil {
		return mapErr(fmt.Sprintf("update service account %q", a.ID), err, nil)
	}
	a.CreatedAt, a.UpdatedAt = a.CreatedAt.UTC(), a.UpdatedAt.UTC()
	return nil
}

// DeleteServiceAccount implements store.Principals. Its tokens go with it
// (ON DELETE CASCADE), each with a change notification.
func (s *Store) DeleteServiceAccount(ctx context.Context, id string, ifVersion int64) error {
	return s.deleteIf(ctx, "service_accounts", "id", id, ifVersion, fmt.Sprintf("service account %q", id), nil)
}

type tokenRow struct {
	ID               string     `db:"id"`
	ServiceAccountID string     `db:"service_account_id"`
	Name             string     `db:"name"`
	SecretHash       []byte     `db:"secret_hash"`
	SecretPrefix     string     `db:"secret_prefix"`
	ExpiresAt        time.Time  `db:"expires_at"`
	CreatedAt        time.Time  `db:"created_at"`
	RevokedAt        *time.Time `db:"revoked_at"`
	LastUsedAt       *time.Time `db:"last_used_at"`
	RotatedFrom      string     `db:"rotated_from"`
	CreatedBy        string     `db:"created_by"`
}

const tokenColumns = "id, service_account_id, name, secret_hash, secret_prefix, expires_at, created_at, revoked_at, last_used_at, rotated_from, created_by"

func (r tokenRow) toStore() store.ServiceAccountToken {
	return store.ServiceAccountToken{ID: r.ID, ServiceAccountID: r.ServiceAccountID, Name: r.Name, SecretHash: r.SecretHash,
		SecretPrefix: r.SecretPrefix, ExpiresAt: r.ExpiresAt.UTC(), CreatedAt: r.CreatedAt.UTC(), RevokedAt: timeOrZero(r.RevokedAt),
		LastUsedAt: timeOrZero(r.LastUsedAt), RotatedFrom: r.RotatedFrom, CreatedBy: r.CreatedBy}
}

func insertToken(ctx context.Context, q querier, t *store.ServiceAccountToken) error {
	err := q.QueryRow(ctx, `
		INSERT INTO service_account_tokens (id, service_account_id, name, secret_hash, secret_prefix, expires_at, rotated_from, created_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING created_at`,
		t.ID, t.ServiceAccountID, t.Name, t.SecretHash, t.SecretPrefix, t.ExpiresAt, t.RotatedFrom, t.CreatedBy,
	).Scan(&t.CreatedAt)
	if err != nil {
		return mapErr(fmt.Sprintf("create token of service account %q", t.ServiceAccountID), err, store.ErrNotFound)
	}
	t.CreatedAt = t.CreatedAt.UTC()
	return nil
}

// CreateServiceAccountToken implements store.Principals.
func (s *Store) CreateServiceAccountToken(ctx context.Context, t *store.ServiceAccountToken) error {
	return insertToken(ctx, s.pool, t)
}

// GetServiceAccountToken implements store.Principals.
func (s *Store) GetServiceAccountToken(ctx context.Context, id string) (*store.ServiceAccountToken, error) {
	rows, _ := s.pool.Query(ctx, "SELECT "+tokenColumns+" FROM service_account_tokens WHERE id = $1", id)
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[tokenRow])
	if err != nil {
		return nil, mapErr(fmt.Sprintf("service account token %q", id), err, nil)
	}
	t := r.toStore()
	return &t, nil
}

func (s *Store) tokens(ctx context.Context, where string, args ...any) ([]store.ServiceAccountToken, error) {
	rows, _ := s.pool.Query(ctx, "SELECT "+tokenColumns+" FROM service_account_tokens WHERE "+where+" ORDER BY created_at DESC, id DESC", args...)
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByName[tokenRow])
	if err != nil {
		return nil, fmt.Errorf("list service account tokens: %w", err)
	}
	out := make([]store.ServiceAccountToken, len(rs))
	for i, r := range rs {
		out[i] = r.toStore()
	}
	return out, nil
}

// ListServiceAccountTokens implements store.Principals.
func (s *Store) ListServiceAccountTokens(ctx context.Context, accountID string) ([]store.ServiceAccountToken, error) {
	return s.tokens(ctx, "service_account_id = $1", accountID)
}

// AllServiceAccountTokens implements store.Principals.
func (s *Store) AllServiceAccountTokens(ctx context.Context, now time.Time) ([]store.ServiceAccountToken, error) {
	return s.tokens(ctx, "revoked_at IS NULL AND expires_at > $1", now)
}

// RevokeServiceAccountToken implements store.Principals.
func (s *Store) RevokeServiceAccountToken(ctx context.Context, id string, at time.Time) (*store.ServiceAccountToken, error) {
	rows, _ := s.pool.Query(ctx, `
		UPDATE service_account_tokens SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1 RETURNING `+tokenColumns, id, at)
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[tokenRow])
	if err != nil {
		return nil, mapErr(fmt.Sprintf("revoke service account token %q", id), err, nil)
	}
	t := r.toStore()
	return &t, nil
}

// RotateServiceAccountToken implements store.Principals.
func (s *Store) RotateServiceAccountToken(ctx context.Context, next *store.ServiceAccountToken, oldExpiresAt time.Time) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
			UPDATE service_account_tokens SET expires_at = least(expires_at, $2)
			WHERE id = $1 AND revoked_at IS NULL AND service_account_id = $3`, next.RotatedFrom, oldExpiresAt, next.ServiceAccountID)
		if err != nil {
			return fmt.Errorf("rotate service account token %q: %w", next.RotatedFrom, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("service account token %q: %w", next.RotatedFrom, store.ErrNotFound)
		}
		return insertToken(ctx, tx, next)
	})
}

// TouchServiceAccountTokens implements store.Principals: one statement for
// the whole batch; the update does not notify (see migration 0070).
func (s *Store) TouchServiceAccountTokens(ctx context.Context, used map[string]time.Time) error {
	if len(used) == 0 {
		return nil
	}
	ids := make([]string, 0, len(used))
	ats := make([]time.Time, 0, len(used))
	for id, at := range used {
		ids, ats = append(ids, id), append(ats, at)
	}
	_, err := s.pool.Exec(ctx, `
		UPDATE service_account_tokens t SET last_used_at = greatest(t.last_used_at, u.at)
		FROM unnest($1::text[], $2::timestamptz[]) AS u(id, at) WHERE t.id = u.id`, ids, ats)
	if err != nil {
		return fmt.Errorf("record service account token use: %w", err)
	}
	return nil
}

type roleBindingRow struct {
	ID          string    `db:"id"`
	SubjectKind string    `db:"subject_kind"`
	Subject     string    `db:"subject"`
	Role        string    `db:"role"`
	CreatedBy   string    `db:"created_by"`
	CreatedAt   time.Time `db:"created_at"`
}

const roleBindingColumns = "id, subject_kind, subject, role, created_by, created_at"

func (r roleBindingRow) toStore() store.RoleBinding {
	return store.RoleBinding{ID: r.ID, SubjectKind: r.SubjectKind, Subject: r.Subject, Role: r.Role, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.UTC()}
}

// CreateRoleBinding implements store.Principals.
func (s *Store) CreateRoleBinding(ctx context.Context, b *store.RoleBinding) error {
	err := s.pool.QueryRow(ctx, `
		INSERT INTO role_bindings (id, subject_kind, subject, role, created_by) VALUES ($1, $2, $3, $4, $5) RETURNING created_at`,
		b.ID, b.SubjectKind, b.Subject, b.Role, b.CreatedBy).Scan(&b.CreatedAt)
	if err != nil {
		return mapErr(fmt.Sprintf("create role binding of %s %q to %q", b.SubjectKind, b.Subject, b.Role), err, nil)
	}
	b.CreatedAt = b.CreatedAt.UTC()
	return nil
}

// PageRoleBindings implements store.Principals.
func (s *Store) PageRoleBindings(ctx context.Context, p store.Page) ([]store.RoleBinding, string, error) {
	rs, next, err := pageRows(ctx, s, keyPage{columns: roleBindingColumns, table: "role_bindings", key: "id"}, p,
		func(r roleBindingRow) string { return r.ID })
	if err != nil {
		return nil, "", err
	}
	out := make([]store.RoleBinding, len(rs))
	for i, r := range rs {
		out[i] = r.toStore()
	}
	return out, next, nil
}

// AllRoleBindings implements store.Principals.
func (s *Store) AllRoleBindings(ctx context.Context) ([]store.RoleBinding, error) {
	rows, _ := s.pool.Query(ctx, "SELECT "+roleBindingColumns+" FROM role_bindings ORDER BY id")
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByName[roleBindingRow])
	if err != nil {
		return nil, fmt.Errorf("list role bindings: %w", err)
	}
	out := make([]store.RoleBinding, len(rs))
	for i, r := range rs {
		out[i] = r.toStore()
	}
	return out, nil
}

// DeleteRoleBinding implements store.Principals.
func (s *Store) DeleteRoleBinding(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, "DELETE FROM role_bindings WHERE id = $1", id)
	if err != nil {
		return fmt.Errorf("delete role binding %q: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("role binding %q: %w", id, store.ErrNotFound)
	}
	return nil
}

// PrimaryKeyID implements store.Keyring.
func (s *Store) PrimaryKeyID(ctx context.Context) (string, error) {
	var id string
	err := s.pool.QueryRow(ctx, "SELECT primary_key_id FROM master_key_state").Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("master key state: %w", err)
	}
	return id, nil
}

// SetPrimaryKeyID implements store.Keyring.
func (s *Store) SetPrimaryKeyID(ctx context.Context, id string) error {
	_, err := s.pool.Exec(ctx, `
		INSERT INTO master_key_state (primary_key_id) VALUES ($1)
		ON CONFLICT (singleton) DO UPDATE SET primary_key_id = excluded.primary_key_id, updated_at = now()`, id)
	if err != nil {
		return fmt.Errorf("record master key %s: %w", id, err)
	}
	return nil
}

// NotifyCredentials implements store.Keyring.
func (s *Store) NotifyCredentials(ctx context.Context, id string) error {
	if _, err := s.pool.Exec(ctx, "SELECT pg_notify($1, $2)", changeChannel, string(store.ChangeCredentials)+":"+id); err != nil {
		return fmt.Errorf("notify credential refresh: %w", err)
	}
	return nil
}

// sealedColumn is a bytea column holding sealed values.
type sealedColumn struct{ kind, table, id, column string }

// sealedColumns are the columns of sealed values, for the master-key
// rotation. A migration that adds one adds it here.
var sealedColumns = []sealedColumn{
	{"provider_credential", "providers", "id", "sealed_credential"},
	{"alert_webhook_url", "alert_webhooks", "id", "sealed_url"},
	{"alert_webhook_secret", "alert_webhooks", "id", "sealed_secret"},
}

// SealedValues implements store.Keyring.
func (s *Store) SealedValues(ctx context.Context) ([]store.SealedValue, error) {
	var out []store.SealedValue
	for _, c := range sealedColumns {
		rows, _ := s.pool.Query(ctx, "SELECT "+c.id+", "+c.column+" FROM "+c.table+" WHERE "+c.column+" IS NOT NULL ORDER BY "+c.id)
		var id string
		var sealed []byte
		_, err := pgx.ForEachRow(rows, []any{&id, &sealed}, func() error {
			out = append(out, store.SealedValue{Kind: c.kind, ID: id, Sealed: append([]byte(nil), sealed...)})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("sealed values of %s: %w", c.table, err)
		}
	}
	return out, nil
}

// ReplaceSealed implements store.Keyring (compare and swap).
func (s *Store) ReplaceSealed(ctx context.Context, v store.SealedValue, sealed []byte) (bool, error) {
	for _, c := range sealedColumns {
		if c.kind != v.Kind {
			continue
		}
		tag, err := s.pool.Exec(ctx, "UPDATE "+c.table+" SET "+c.column+" = $3 WHERE "+c.id+" = $1 AND "+c.column+" = $2", v.ID, v.Sealed, sealed)
		if err != nil {
			return false, fmt.Errorf("re-seal %s %q: %w", c.kind, v.ID, err)
		}
		return tag.RowsAffected() == 1, nil
	}
	return false, fmt.Errorf("re-seal: unknown kind %q", v.Kind)
}
