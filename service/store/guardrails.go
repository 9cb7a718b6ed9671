package store

import (
	"context"
	"time"
)

// ChangeGuardrailPolicy is the change kind of guardrail policies; the
// Change's ID is the policy id.
const ChangeGuardrailPolicy ChangeKind = "guardrail_policy"

// GuardrailPolicy is a stored guardrail policy. The store keeps the
// guardrails opaque: Spec is the JSON package guardrails reads and writes.
type GuardrailPolicy struct {
	ID          string
	Description string
	// AttachKind is team, service, key or route; AttachTo the id or name.
	AttachKind string
	AttachTo   string
	// Spec is a JSON object.
	Spec      []byte
	CreatedAt time.Time
	UpdatedAt time.Time
}

// GuardrailPolicies stores guardrail policies.
type GuardrailPolicies interface {
	// CreateGuardrailPolicy stores p and sets its timestamps; ErrConflict if the id exists.
	CreateGuardrailPolicy(ctx context.Context, p *GuardrailPolicy) error
	// GetGuardrailPolicy returns the policy or ErrNotFound.
	GetGuardrailPolicy(ctx context.Context, id string) (*GuardrailPolicy, error)
	// ListGuardrailPolicies returns all policies ordered by id.
	ListGuardrailPolicies(ctx context.Context) ([]GuardrailPolicy, error)
	// UpdateGuardrailPolicy replaces the description, attachment and spec and sets UpdatedAt; ErrNotFound if missing.
	UpdateGuardrailPolicy(ctx context.Context, p *GuardrailPolicy) error
	// DeleteGuardrailPolicy deletes it; ErrNotFound if missing.
	DeleteGuardrailPolicy(ctx context.Context, id string) error
}
