package rpc

import (
	"context"
	"errors"
	"fmt"

	"connectrpc.com/connect"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/service/access"
	"github.com/tollgate-dev/tollgate/service/store"
)

// ListAdminAuditEvents lists the admin audit log, newest first. The access
// guard lets only principals with audit.read in (never a virtual key).
func (u *Usage) ListAdminAuditEvents(ctx context.Context, req *connect.Request[tollgatev1.ListAdminAuditEventsRequest]) (*connect.Response[tollgatev1.ListAdminAuditEventsResponse], error) {
	if d := access.DecisionFrom(ctx); !d.All {
		return nil, toConnectError(ctx, u.log, fmt.Errorf("%w: reading the audit log needs the auditor, viewer, admin or owner role", access.ErrPermissionDenied))
	}
	if u.audit == nil {
		return nil, connect.NewError(connect.CodeUnimplemented, errors.New("the admin audit log is not available on this server"))
	}
	m := req.Msg
	page, err := readPage(m)
	if err != nil {
		return nil, toConnectError(ctx, u.log, err)
	}
	f := store.AuditFilter{Action: m.GetAction(), ResourceKind: m.GetResourceKind(), ResourceID: m.GetResourceId(),
		Actor: m.GetActor(), Outcome: m.GetOutcome(), Limit: page.Size, After: page.After}
	if m.GetStartTime() != nil {
		if err := m.GetStartTime().CheckValid(); err != nil {
			return nil, toConnectError(ctx, u.log, badParam("start_time", err.Error()))
		}
		f.Start = m.GetStartTime().AsTime()
	}
	if m.GetEndTime() != nil {
		if err := m.GetEndTime().CheckValid(); err != nil {
			return nil, toConnectError(ctx, u.log, badParam("end_time", err.Error()))
		}
		f.End = m.GetEndTime().AsTime()
	}
	es, next, err := u.audit.ListAuditEvents(ctx, f)
	if err != nil {
		return nil, toConnectError(ctx, u.log, err)
	}
	out := &tollgatev1.ListAdminAuditEventsResponse{Events: make([]*tollgatev1.AdminAuditEvent, len(es)), NextPageToken: nextPageToken(m, next)}
	for i, e := range es {
		out.Events[i] = &tollgatev1.AdminAuditEvent{
			Id: e.ID, Time: timeToProto(e.Time), Actor: e.Actor, Action: e.Action, ResourceKind: e.ResourceKind,
			ResourceId: e.ResourceID, RequestId: e.RequestID, Summary: e.Summary, Outcome: e.Outcome,
			SourceIp: e.SourceIP, UserAgent: e.UserAgent,
		}
		if e.ActorType != "" {
			out.Events[i].ActorDetail = &tollgatev1.AuditActor{Type: e.ActorType, Subject: e.ActorSubject, Name: e.ActorName,
				TokenId: e.ActorTokenID, Role: e.ActorRole, Issuer: e.ActorIssuer}
		}
	}
	return connect.NewResponse(out), nil
}
