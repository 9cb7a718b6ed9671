package store

import (
	"context"
	"time"
)

// AuditEvent is one admin write, as recorded in the admin audit log.
type AuditEvent struct {
	ID           int64
	Time         time.Time
	Actor        string
	Action       string
	ResourceKind string
	ResourceID   string
	RequestID    string
	// Summary is the request as JSON with secrets removed.
	Summary string
	// Outcome is "ok" or an error code.
	Outcome string
	// ActorType, ActorSubject, ActorName, ActorIssuer and ActorTokenID
	// describe the principal (see package access); ActorRole is the role
	// that allowed the call ("" for refusals).
	ActorType, ActorSubject, ActorName, ActorIssuer, ActorTokenID, ActorRole string
	// SourceIP and UserAgent say where the call came from.
	SourceIP, UserAgent string
}

// AuditFilter selects audit events to list.
type AuditFilter struct {
	// Start and End bound the time; zero means unbounded.
	Start, End   time.Time
	Action       string
	ResourceKind string
	ResourceID   string
	// Actor matches the actor id or the actor's subject.
	Actor string
	// Outcome matches the outcome ("ok", "permission_denied", ...).
	Outcome string
	// Limit is the page size (> 0).
	Limit int
	// After is the cursor returned by the previous page, "" for the first.
	After string
}

// AuditLog stores the admin audit log.
type AuditLog interface {
	// AppendAuditEvent stores e; the store sets ID and, when zero, Time.
	AppendAuditEvent(ctx context.Context, e *AuditEvent) error
	// ListAuditEvents returns a page of events, newest first, and the
	// cursor of the next page ("" at the end).
	ListAuditEvents(ctx context.Context, f AuditFilter) ([]AuditEvent, string, error)
}
