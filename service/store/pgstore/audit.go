package pgstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-dev/tollgate/service/store"
)

var _ store.AuditLog = (*Store)(nil)

// auditRow is a row of admin_audit_log.
type auditRow struct {
	ID           int64     `db:"id"`
	Time         time.Time `db:"time"`
	Actor        string    `db:"actor"`
	Action       string    `db:"action"`
	ResourceKind string    `db:"resource_kind"`
	ResourceID   string    `db:"resource_id"`
	RequestID    string    `db:"request_id"`
	Summary      string    `db:"summary"`
	Outcome      string    `db:"outcome"`
	ActorType    string    `db:"actor_type"`
	ActorSubject string    `db:"actor_subject"`
	ActorName    string    `db:"actor_name"`
	ActorIssuer  string    `db:"actor_issuer"`
	ActorTokenID string    `db:"actor_token_id"`
	ActorRole    string    `db:"actor_role"`
	SourceIP     string    `db:"source_ip"`
	UserAgent    string    `db:"user_agent"`
}

const auditColumns = "id, time, actor, action, resource_kind, resource_id, request_id, summary::text AS summary, outcome, " +
	"actor_type, actor_subject, actor_name, actor_issuer, actor_token_id, actor_role, source_ip, user_agent"

// AppendAuditEvent stores e, setting its ID and (when zero) its Time.
func (s *Store) AppendAuditEvent(ctx context.Context, e *store.AuditEvent) error {
	summary := e.Summary
	if summary == "" || !json.Valid([]byte(summary)) {
		summary = "{}"
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	err := s.pool.QueryRow(ctx, `
		INSERT INTO admin_audit_log (time, actor, action, resource_kind, resource_id, request_id, summary, outcome,
			actor_type, actor_subject, actor_name, actor_issuer, actor_token_id, actor_role, source_ip, user_agent)
		VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id`,
		e.Time, e.Actor, e.Action, e.ResourceKind, e.ResourceID, e.RequestID, summary, e.Outcome,
		e.ActorType, e.ActorSubject, e.ActorName, e.ActorIssuer, e.ActorTokenID, e.ActorRole, e.SourceIP, e.UserAgent,
	).Scan(&e.ID)
	if err != nil {
		return fmt.Errorf("append audit event %s: %w", e.Action, err)
	}
	e.Time = e.Time.UTC()
	return nil
}

// ListAuditEvents returns a page of audit events, newest first.
func (s *Store) ListAuditEvents(ctx context.Context, f store.AuditFilter) ([]store.AuditEvent, string, error) {
	limit := store.PageSize(f.Limit)
	var q queryArgs
	if !f.Start.IsZero() {
		q.add("time >= %s", f.Start)
	}
	if !f.End.IsZero() {
		q.add("time < %s", f.End)
	}
	if f.Action != "" {
		q.add("action = %s", f.Action)
	}
	if f.ResourceKind != "" {
		q.add("resource_kind = %s", f.ResourceKind)
	}
	if f.ResourceID != "" {
		q.add("resource_id = %s", f.ResourceID)
	}
	if f.Actor != "" {
		q.add("(actor = %s OR actor_subject = %s)", f.Actor, f.Actor)
	}
	if f.Outcome != "" {
		q.add("outcome = %s", f.Outcome)
	}
	if f.After != "" {
		at, id, err := store.DecodeCursor(f.After)
		if err != nil {
			return nil, "", fmt.Errorf("list audit events: %w", err)
		}
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil {
			return nil, "", fmt.Errorf("list audit events: invalid cursor %q", f.After)
		}
		q.add("(time, id) < (%s, %s)", at, n)
	}
	sql := "SELECT " + auditColumns + " FROM admin_audit_log" + q.clause() +
		" ORDER BY time DESC, id DESC LIMIT " + strconv.Itoa(limit+1)
	rows, _ := s.pool.Query(ctx, sql, q.args...)
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByName[auditRow])
	if err != nil {
		return nil, "", fmt.Errorf("list audit events: %w", err)
	}
	next := ""
	if len(rs) > limit {
		rs = rs[:limit]
		last := rs[limit-1]
		next = store.EncodeCursor(last.Time, strconv.FormatInt(last.ID, 10))
	}
	out := make([]store.AuditEvent, len(rs))
	for i, r := range rs {
		out[i] = store.AuditEvent{
			ID: r.ID, Time: r.Time.UTC(), Actor: r.Actor, Action: r.Action, ResourceKind: r.ResourceKind,
			ResourceID: r.ResourceID, RequestID: r.RequestID, Summary: r.Summary, Outcome: r.Outcome,
			ActorType: r.ActorType, ActorSubject: r.ActorSubject, ActorName: r.ActorName, ActorIssuer: r.ActorIssuer,
			ActorTokenID: r.ActorTokenID, ActorRole: r.ActorRole, SourceIP: r.SourceIP, UserAgent: r.UserAgent,
		}
	}
	return out, next, nil
}
