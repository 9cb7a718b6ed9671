package rpc

import (
	"context"
	"fmt"
	"time"

	"connectrpc.com/connect"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/service/gateway"
	"github.com/tollgate-dev/tollgate/service/governance"
)

// GetBudgetStatus reports the budgets' limit, spend, remaining and reset.
// An admin sees a team's budgets (all of them without team_id); a virtual
// key sees the budgets that apply to it: its own, its team's and its
// service's.
func (u *Usage) GetBudgetStatus(ctx context.Context, req *connect.Request[tollgatev1.GetBudgetStatusRequest]) (*connect.Response[tollgatev1.GetBudgetStatusResponse], error) {
	gov := u.engine.Governance()
	if gov == nil {
		return connect.NewResponse(&tollgatev1.GetBudgetStatusResponse{}), nil
	}
	tok := bearer(req.Header())
	var subject governance.Subject
	team := req.Msg.GetTeamId()
	if !u.admin.Matches(tok) {
		k, err := u.engine.Authenticate(ctx, &gateway.Call{RequestID: gateway.RequestIDFrom(ctx), Credential: tok})
		if err != nil {
			return nil, toConnectError(ctx, u.log, err)
		}
		if team != "" && team != k.TeamID {
			return nil, toConnectError(ctx, u.log, fmt.Errorf("%w: this key may only read the budgets of team %q", gateway.ErrPermissionDenied, k.TeamID))
		}
		subject = governance.Subject{KeyID: k.ID, TeamID: k.TeamID, ServiceID: k.ServiceID}
	}
	var out []*tollgatev1.BudgetStatus
	for _, b := range gov.Budgets(subject, team) {
		s, err := gov.Status(ctx, b)
		if err != nil {
			return nil, toConnectError(ctx, u.log, err)
		}
		bs := &tollgatev1.BudgetStatus{
			Budget: budgetToProto(&s.Budget), PeriodStartTime: timeToProto(s.PeriodStart), ResetTime: timeToProto(s.Reset),
			Spent: moneyToProto(s.SpentNanos), SpentTokens: s.SpentTokens, Reserved: moneyToProto(s.ReservedNanos),
			RemainingTokens: s.RemainingTokens,
		}
		if !s.Reset.IsZero() {
			bs.ResetAfter = durationToProto(max(time.Until(s.Reset), 0))
		}
		if b.LimitNanos > 0 {
			bs.Remaining = moneyToProto(s.RemainingNanos)
		}
		out = append(out, bs)
	}
	return connect.NewResponse(&tollgatev1.GetBudgetStatusResponse{Statuses: out}), nil
}
