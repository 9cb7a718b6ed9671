package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-dev/tollgate/service/store"
)

const guardrailPolicyColumns = "id, description, attach_kind, attach_to, spec, created_at, updated_at"

// guardrailPolicyRow is a row of guardrail_policies.
type guardrailPolicyRow struct {
	ID          string    `db:"id"`
	Description string    `db:"description"`
	AttachKind  string    `db:"attach_kind"`
	AttachTo    string    `db:"attach_to"`
	Spec        []byte    `db:"spec"`
	CreatedAt   time.Time `db:"created_at"`
	UpdatedAt   time.Time `db:"updated_at"`
}

func (r guardrailPolicyRow) policy() store.GuardrailPolicy {
	return store.GuardrailPolicy{
		ID: r.ID, Description: r.Description, AttachKind: r.AttachKind, AttachTo: r.AttachTo, Spec: r.Spec,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
}

// CreateGuardrailPolicy stores p and sets its timestamps; ErrConflict if the id exists.
func (s *Store) CreateGuardrailPolicy(ctx context.Context, p *store.GuardrailPolicy) error {
	err := s.pool.QueryRow(ctx, `
		INSERT INTO guardrail_policies (id, description, attach_kind, attach_to, spec)
		VALUES ($1, $2, $3, $4, $5::jsonb)
		RETURNING created_at, updated_at`,
		p.ID, p.Description, p.AttachKind, p.AttachTo, specArg(p.Spec),
	).Scan(&p.CreatedAt, &p.UpdatedAt)
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

// UpdateGuardrailPolicy replaces the description, attachment and spec and sets UpdatedAt; ErrNotFound if missing.
func (s *Store) UpdateGuardrailPolicy(ctx context.Context, p *store.GuardrailPolicy) error {
	err := s.pool.QueryRow(ctx, `
		UPDATE guardrail_policies
		SET description = $2, attach_kind = $3, attach_to = $4, spec = $5::jsonb, updated_at = now()
		WHERE id = $1
		RETURNING created_at, updated_at`,
		p.ID, p.Description, p.AttachKind, p.AttachTo, specArg(p.Spec),
	).Scan(&p.CreatedAt, &p.UpdatedAt)
	if err != nil {
		return mapErr(fmt.Sprintf("update guardrail policy %q", p.ID), err, nil)
	}
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	return nil
}

// DeleteGuardrailPolicy deletes it; ErrNotFound if missing.
func (s *Store) DeleteGuardrailPolicy(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, "DELETE FROM guardrail_policies WHERE id = $1", id)
	if err == nil && tag.RowsAffected() == 0 {
		err = pgx.ErrNoRows
	}
	if err != nil {
		return mapErr(fmt.Sprintf("delete guardrail policy %q", id), err, nil)
	}
	return nil
}
