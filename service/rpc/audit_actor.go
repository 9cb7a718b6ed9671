package rpc

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/tollgate-dev/tollgate/service/access"
	"github.com/tollgate-dev/tollgate/service/gateway"
	"github.com/tollgate-dev/tollgate/service/store"
)

// This file says who made an audited call: the principal the access
// guard authenticated, the role that allowed the call, where the call
// came from; and records the calls the guard refused.

// setActor fills e's actor fields from the call's principal and metadata.
func setActor(ctx context.Context, e *store.AuditEvent) {
	meta := access.MetaFrom(ctx)
	e.SourceIP, e.UserAgent = meta.SourceIP, truncate(meta.UserAgent, 256)
	p, ok := access.FromContext(ctx)
	if !ok {
		return
	}
	fillActor(e, p)
	e.ActorRole = access.DecisionFrom(ctx).Role
}

func fillActor(e *store.AuditEvent, p *access.Principal) {
	e.Actor = p.ID()
	e.ActorType, e.ActorSubject, e.ActorIssuer, e.ActorTokenID = string(p.Type), p.Subject, p.Issuer, p.TokenID
	e.ActorName = p.Email
	if e.ActorName == "" {
		e.ActorName = p.Name
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// responseResourceID returns the id of the resource a successful call
// answered with (the generated id of a created key), "" when it has none.
func responseResourceID(msg any) string {
	m, ok := msg.(proto.Message)
	if !ok {
		return ""
	}
	return idOnly(m.ProtoReflect())
}

// requestResourceID returns the id a request names. Keys and tokens are
// named by their generated id only: a key's name is not its id, and a
// CreateKey request has none yet (the response does).
func requestResourceID(kind string, m protoreflect.Message) string {
	switch kind {
	case "key", "service_account_token":
		return idOnly(m)
	}
	return resourceID(m)
}

// idOnly returns the "id" field of m or of its first message field that
// has one.
func idOnly(m protoreflect.Message) string {
	get := func(m protoreflect.Message) string {
		if f := m.Descriptor().Fields().ByName("id"); f != nil && f.Kind() == protoreflect.StringKind && !f.IsList() {
			return m.Get(f).String()
		}
		return ""
	}
	if id := get(m); id != "" {
		return id
	}
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		f := fields.Get(i)
		if f.Kind() == protoreflect.MessageKind && !f.IsList() && !f.IsMap() && m.Has(f) {
			if id := get(m.Get(f).Message()); id != "" {
				return id
			}
		}
	}
	return ""
}

// Auditor records refused admin calls (it is the access guard's Recorder).
type Auditor struct {
	log    store.AuditLog
	logger *slog.Logger
	now    func() time.Time
}

var _ access.Recorder = (*Auditor)(nil)

// NewAuditor returns the recorder of refused calls.
func NewAuditor(audit store.AuditLog, logger *slog.Logger) *Auditor {
	return &Auditor{log: audit, logger: logger, now: time.Now}
}

// RecordRefusal implements access.Recorder: the attempt, who made it, and
// why it was refused (outcome "permission_denied" or "unauthenticated").
func (a *Auditor) RecordRefusal(ctx context.Context, ev access.Event) {
	method := methodName(ev.Procedure)
	e := auditEvent(method, ev.Msg, nil)
	e.Time, e.RequestID = a.now(), gateway.RequestIDFrom(ctx)
	switch {
	case errors.Is(ev.Err, access.ErrPermissionDenied):
		e.Outcome = connect.CodePermissionDenied.String()
	case errors.Is(ev.Err, access.ErrUnauthenticated):
		e.Outcome = connect.CodeUnauthenticated.String()
	default:
		e.Outcome = connect.CodeUnavailable.String()
	}
	meta := access.MetaFrom(ctx)
	e.SourceIP, e.UserAgent = meta.SourceIP, truncate(meta.UserAgent, 256)
	fillActor(e, ev.Principal)
	auditInterceptor{log: a.log, logger: a.logger, now: a.now}.append(ctx, e)
}
