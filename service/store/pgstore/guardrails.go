package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-dev/tollgate/service/store"
)

const guardrailPolicyColumns = "id, description, attach_kind, attach_to, spec, created_at, updated_at, version"

// guardrailPolicyRow is a row of guardrail_policies.
type guardrailPolicyRow struct {
	ID          string    `db:"id"`
	Description string    `db:"description"`
	AttachKind  string    `db:"attach_kind"`
	AttachTo    string    `db:"attach_to"`
	Spec        []byte    `db:"spec"`
	CreatedAt   time.Time `db:"created_at"`
	UpdatedAt   time.Time `db:"updated_at"`
	Version     int64     `db:"version"`
}

func (r guardrailPolicyRow) policy() store.GuardrailPolicy {
	return store.GuardrailPolicy{
		ID: r.ID, Description: r.Description, AttachKind: r.AttachKind, AttachTo: r.AttachTo, Spec: r.Spec,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), Version: r.Version,
	}
}

// CreateGuardrailPolicy stores p and sets its timestamps and Version;
// ErrConflict if the id exists.
func (s *Store) CreateGuardrailPolicy(ctx context.Context, p *store.GuardrailPolicy) error {
	err := s.pool.QueryRow(ctx, `
		INSERT INTO guardrail_policies (id, description, attach_kind, attach_to, spec)
		VALUES ($1, $2, $3, $4, $5::jsonb)
		RETURNING created_at, updated_at, version`,
		p.ID, p.Description, p.AttachKind, p.AttachTo, specArg(p.Spec),
	).Scan(&p.CreatedAt, &p.UpdatedAt, &p.Version)
	if err != nil {
		return mapErr(fmt.Sprintf("create guardrail policy %q", p.ID), err, nil)
	}
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	return nil
}

// GetGuardrailPolicy returns the policy or ErrNotFound.
func (s *Store) GetGuardrailPolicy(ctx context.Context, id string) (*store.GuardrailPolicy, error) {
	rows, _ := s.pool.Query(ctx, "SELECT "+guardrailPolicyColumns+" FROM guardrail_policies WHERE id = $1", id)
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[guardrailPolicyRow])
	if err != nil {
		return nil, mapErr(fmt.Sprintf("guardrail policy %q", id), err, nil)
	}
	out := r.policy()
	return &out, nil
}

// ListGuardrailPolicies returns all policies ordered by id.
func (s *Store) ListGuardrailPolicies(ctx context.Context) ([]store.GuardrailPolicy, error) {
	rows, _ := s.pool.Query(ctx, "SELECT "+guardrailPolicyColumns+" FROM guardrail_policies ORDER BY id")
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByName[guardrailPolicyRow])
	if err != nil {
		return nil, mapErr("list guardrail policies", err, nil)
	}
	out := make([]store.GuardrailPolicy, len(rs))
	for i, r := range rs {
		out[i] = r.policy()
	}
	return out, nil
}

// PageGuardrailPolicies returns a page of policies ordered by id.
func (s *Store) PageGuardrailPolicies(ctx context.Context, p store.Page) ([]store.GuardrailPolicy, string, error) {
	rs, next, err := pageRows(ctx, s, keyPage{columns: guardrailPolicyColumns, table: "guardrail_policies", key: "id"}, p,
		func(r guardrailPolicyRow) string { return r.ID })
	if err != nil {
		return nil, "", err
	}
	out := make([]store.GuardrailPolicy, len(rs))
	for i, r := range rs {
		out[i] = r.policy()
	}
	return out, next, nil
}

// UpdateGuardrailPolicy replaces the description, attachment and spec if
// p.Version is 0 or the stored version, and sets p's timestamps and
// Version; ErrNotFound if missing, ErrVersionMismatch if changed.
func (s *Store) UpdateGuardrailPolicy(ctx context.Context, p *store.GuardrailPolicy) error {
	entity := fmt.Sprintf("update guardrail policy %q", p.ID)
	err := s.pool.QueryRow(ctx, `
		UPDATE guardrail_policies
		SET description = $2, attach_kind = $3, attach_to = $4, spec = $5::jsonb, updated_at = now()
		WHERE id = $1 AND ($6::bigint = 0 OR version = $6)
		RETURNING created_at, updated_at, version`,
		p.ID, p.Description, p.AttachKind, p.AttachTo, specArg(p.Spec), p.Version,
	).Scan(&p.CreatedAt, &p.UpdatedAt, &p.Version)
	if errors.Is(err, pgx.ErrNoRows) {
		return conditionalMiss(ctx, s.pool, "guardrail_policies", "id", p.ID, entity)
	}
	if err != nil {
		return mapErr(entity, err, nil)
	}
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	return nil
}

// DeleteGuardrailPolicy deletes it if ifVersion is 0 or its version;
// ErrNotFound if missing, ErrVersionMismatch if changed.
func (s *Store) DeleteGuardrailPolicy(ctx context.Context, id string, ifVersion int64) error {
	return s.deleteIf(ctx, "guardrail_policies", "id", id, ifVersion, fmt.Sprintf("delete guardrail policy %q", id), nil)
}
