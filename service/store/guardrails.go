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
	// Version changes on every write (see Versions).
	Version int64
}

// GuardrailPolicies stores guardrail policies.
type GuardrailPolicies interface {
	// CreateGuardrailPolicy stores p and sets its timestamps; ErrConflict if the id exists.
	CreateGuardrailPolicy(ctx context.Context, p *GuardrailPolicy) error
	// GetGuardrailPolicy returns the policy or ErrNotFound.
	GetGuardrailPolicy(ctx context.Context, id string) (*GuardrailPolicy, error)
	// ListGuardrailPolicies returns all policies ordered by id.
	ListGuardrailPolicies(ctx context.Context) ([]GuardrailPolicy, error)
	// PageGuardrailPolicies returns a page of policies ordered by id and
	// the cursor of the next page ("" at the end).
	PageGuardrailPolicies(ctx context.Context, p Page) ([]GuardrailPolicy, string, error)
	// UpdateGuardrailPolicy replaces the description, attachment and spec
	// if p.Version matches (see Versions) and sets p's timestamps and
	// Version; ErrNotFound if missing.
	UpdateGuardrailPolicy(ctx context.Context, p *GuardrailPolicy) error
	// DeleteGuardrailPolicy deletes it if ifVersion matches; ErrNotFound if missing.
	DeleteGuardrailPolicy(ctx context.Context, id string, ifVersion int64) error
}
