package sqlitestore

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/tollgate-dev/tollgate/service/store"
)

const auditColumns = "id, time, actor, action, resource_kind, resource_id, request_id, summary, outcome, " +
	"actor_type, actor_subject, actor_name, actor_issuer, actor_token_id, actor_role, source_ip, user_agent"

// AppendAuditEvent stores e, setting its ID and (when zero) its Time.
func (s *Store) AppendAuditEvent(ctx context.Context, e *store.AuditEvent) error {
	summary := e.Summary
	if summary == "" || !json.Valid([]byte(summary)) {
		summary = "{}"
	}
	if e.Time.IsZero() {
		e.Time = s.clock()
	}
	err := s.write(ctx, func(t *tx) error {
		return t.QueryRowContext(ctx, `
			INSERT INTO admin_audit_log (time, actor, action, resource_kind, resource_id, request_id, summary, outcome,
				actor_type, actor_subject, actor_name, actor_issuer, actor_token_id, actor_role, source_ip, user_agent)
			VALUES (?, ?, ?, ?, ?, ?, json(?), ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			micros(e.Time), e.Actor, e.Action, e.ResourceKind, e.ResourceID, e.RequestID, summary, e.Outcome,
			e.ActorType, e.ActorSubject, e.ActorName, e.ActorIssuer, e.ActorTokenID, e.ActorRole, e.SourceIP, e.UserAgent,
		).Scan(&e.ID)
	})
	if err != nil {
		return fmt.Errorf("append audit event %s: %w", e.Action, err)
	}
	e.Time = e.Time.UTC().Truncate(time.Microsecond)
	return nil
}

// ListAuditEvents returns a page of audit events, newest first.
func (s *Store) ListAuditEvents(ctx context.Context, f store.AuditFilter) ([]store.AuditEvent, string, error) {
	limit := store.PageSize(f.Limit)
	var w where
	if !f.Start.IsZero() {
		w.add("time >= ?", micros(f.Start))
	}
	if !f.End.IsZero() {
		w.add("time < ?", micros(f.End))
	}
	if f.Action != "" {
		w.add("action = ?", f.Action)
	}
	if f.ResourceKind != "" {
		w.add("resource_kind = ?", f.ResourceKind)
	}
	if f.ResourceID != "" {
		w.add("resource_id = ?", f.ResourceID)
	}
	if f.Actor != "" {
		w.add("(actor = ? OR actor_subject = ?)", f.Actor, f.Actor)
	}
	if f.Outcome != "" {
		w.add("outcome = ?", f.Outcome)
	}
	if f.After != "" {
		at, id, err := store.DecodeCursor(f.After)
		if err != nil {
			return nil, "", fmt.Errorf("list audit events: %w", err)
		}
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil {
			return nil, "", fmt.Errorf("list audit events: %w %q", store.ErrInvalidCursor, f.After)
		}
		w.add("(time, id) < (?, ?)", micros(at), n)
	}
	rows, err := s.r.QueryContext(ctx, "SELECT "+auditColumns+" FROM admin_audit_log"+w.clause()+
		" ORDER BY time DESC, id DESC LIMIT "+strconv.Itoa(limit+1), w.args...)
	es, err := collect(rows, err, func(r scanner) (store.AuditEvent, error) {
		var e store.AuditEvent
		var at int64
		err := r.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.ResourceKind, &e.ResourceID, &e.RequestID, &e.Summary, &e.Outcome,
			&e.ActorType, &e.ActorSubject, &e.ActorName, &e.ActorIssuer, &e.ActorTokenID, &e.ActorRole, &e.SourceIP, &e.UserAgent)
		e.Time = fromMicros(at)
		return e, err
	})
	if err != nil {
		return nil, "", fmt.Errorf("list audit events: %w", err)
	}
	next := ""
	if len(es) > limit {
		es = es[:limit]
		last := es[limit-1]
		next = store.EncodeCursor(last.Time, strconv.FormatInt(last.ID, 10))
	}
	return es, next, nil
}
