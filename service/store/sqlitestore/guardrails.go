package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/tollgate-dev/tollgate/service/store"
)

const guardrailPolicyColumns = "id, description, attach_kind, attach_to, spec, created_at, updated_at, version"

func scanGuardrailPolicy(r scanner) (store.GuardrailPolicy, error) {
	var p store.GuardrailPolicy
	var spec string
	var created, updated int64
	err := r.Scan(&p.ID, &p.Description, &p.AttachKind, &p.AttachTo, &spec, &created, &updated, &p.Version)
	p.Spec, p.CreatedAt, p.UpdatedAt = []byte(spec), fromMicros(created), fromMicros(updated)
	return p, err
}

// CreateGuardrailPolicy stores p and sets its timestamps and Version;
// ErrConflict if the id exists.
func (s *Store) CreateGuardrailPolicy(ctx context.Context, p *store.GuardrailPolicy) error {
	now := s.clock()
	return s.write(ctx, func(t *tx) error {
		v, err := t.nextVersion(ctx)
		if err != nil {
			return err
		}
		if _, err := t.ExecContext(ctx, `INSERT INTO guardrail_policies (id, description, attach_kind, attach_to, spec, created_at, updated_at, version)
			VALUES (?, ?, ?, ?, json(?), ?, ?, ?)`,
			p.ID, p.Description, p.AttachKind, p.AttachTo, specText(p.Spec), micros(now), micros(now), v); err != nil {
			return mapErr(fmt.Sprintf("create guardrail policy %q", p.ID), err, nil)
		}
		p.CreatedAt, p.UpdatedAt, p.Version = now, now, v
		t.changed(store.ChangeGuardrailPolicy, p.ID)
		return nil
	})
}

// GetGuardrailPolicy returns the policy or ErrNotFound.
func (s *Store) GetGuardrailPolicy(ctx context.Context, id string) (*store.GuardrailPolicy, error) {
	p, err := scanGuardrailPolicy(s.r.QueryRowContext(ctx, "SELECT "+guardrailPolicyColumns+" FROM guardrail_policies WHERE id = ?", id))
	if err != nil {
		return nil, mapErr(fmt.Sprintf("guardrail policy %q", id), err, nil)
	}
	return &p, nil
}

// ListGuardrailPolicies returns all policies ordered by id.
func (s *Store) ListGuardrailPolicies(ctx context.Context) ([]store.GuardrailPolicy, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT "+guardrailPolicyColumns+" FROM guardrail_policies ORDER BY id")
	ps, err := collect(rows, err, scanGuardrailPolicy)
	if err != nil {
		return nil, mapErr("list guardrail policies", err, nil)
	}
	return ps, nil
}

// PageGuardrailPolicies returns a page of policies ordered by id.
func (s *Store) PageGuardrailPolicies(ctx context.Context, p store.Page) ([]store.GuardrailPolicy, string, error) {
	return pageRows(ctx, s, keyPage{columns: guardrailPolicyColumns, table: "guardrail_policies", key: "id"}, p,
		scanGuardrailPolicy, func(p store.GuardrailPolicy) string { return p.ID })
}

// UpdateGuardrailPolicy replaces the description, attachment and spec if
// p.Version is 0 or the stored version, and sets p's timestamps and
// Version; ErrNotFound if missing, ErrVersionMismatch if changed.
func (s *Store) UpdateGuardrailPolicy(ctx context.Context, p *store.GuardrailPolicy) error {
	entity := fmt.Sprintf("update guardrail policy %q", p.ID)
	now := s.clock()
	return s.write(ctx, func(t *tx) error {
		v, err := t.nextVersion(ctx)
		if err != nil {
			return err
		}
		var created int64
		err = t.QueryRowContext(ctx, `UPDATE guardrail_policies
			SET description = ?, attach_kind = ?, attach_to = ?, spec = json(?), updated_at = ?, version = ?
			WHERE id = ? AND (?8 = 0 OR version = ?8) RETURNING created_at`,
			p.Description, p.AttachKind, p.AttachTo, specText(p.Spec), micros(now), v, p.ID, p.Version).Scan(&created)
		if errors.Is(err, sql.ErrNoRows) {
			return conditionalMiss(ctx, t, "guardrail_policies", "id", p.ID, entity)
		}
		if err != nil {
			return mapErr(entity, err, nil)
		}
		p.CreatedAt, p.UpdatedAt, p.Version = fromMicros(created), now, v
		t.changed(store.ChangeGuardrailPolicy, p.ID)
		return nil
	})
}

// DeleteGuardrailPolicy deletes it if ifVersion is 0 or its version;
// ErrNotFound if missing, ErrVersionMismatch if changed.
func (s *Store) DeleteGuardrailPolicy(ctx context.Context, id string, ifVersion int64) error {
	return s.deleteIf(ctx, "guardrail_policies", "id", id, ifVersion, fmt.Sprintf("delete guardrail policy %q", id), nil, store.ChangeGuardrailPolicy)
}
