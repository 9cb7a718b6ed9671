package rpc

import (
	"context"
	"time"

	"connectrpc.com/connect"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/service/access"
	"github.com/tollgate-dev/tollgate/service/gateway"
	"github.com/tollgate-dev/tollgate/service/governance"
	"github.com/tollgate-dev/tollgate/service/store"
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
	teams, err := u.scope(ctx, req.Msg.GetTeamId())
	if err != nil {
		return nil, toConnectError(ctx, u.log, err)
	}
	var subject governance.Subject
	if p, _ := access.FromContext(ctx); p.Type == access.TypeVirtualKey {
		// A key sees the budgets that apply to it: its own, its team's, its service's.
		k, err := u.engine.Authenticate(ctx, &gateway.Call{RequestID: gateway.RequestIDFrom(ctx), Credential: bearer(req.Header())})
		if err != nil {
			return nil, toConnectError(ctx, u.log, err)
		}
		subject, teams = governance.Subject{KeyID: k.ID, TeamID: k.TeamID, ServiceID: k.ServiceID}, []string{k.TeamID}
	}
	queries := teams
	if len(queries) == 0 {
		queries = []string{""}
	}
	var budgets []store.Budget
	for _, team := range queries {
		budgets = append(budgets, gov.Budgets(subject, team)...)
	}
	var out []*tollgatev1.BudgetStatus
	for _, b := range budgets {
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
		bs.AlertsFired = u.firedAlerts(ctx, "budget:"+b.ID, s.PeriodStart)
		out = append(out, bs)
	}
	return connect.NewResponse(&tollgatev1.GetBudgetStatusResponse{Statuses: out}), nil
}

// alertLog is the store's optional record of fired alerts (pgstore has it).
type alertLog interface {
	FiredAlerts(ctx context.Context, subject string, periodStart time.Time) ([]store.FiredAlert, error)
}

// firedAlerts returns the alerts fired for subject in the period; nil
// when the store does not know or fails (the status is still worth
// answering).
func (u *Usage) firedAlerts(ctx context.Context, subject string, periodStart time.Time) []*tollgatev1.FiredAlert {
	al, ok := u.records.(alertLog)
	if !ok {
		return nil
	}
	fs, err := al.FiredAlerts(ctx, subject, periodStart)
	if err != nil {
		u.log.WarnContext(ctx, "budget status: fired alerts unknown", "subject", subject, "err", err)
		return nil
	}
	out := make([]*tollgatev1.FiredAlert, len(fs))
	for i, f := range fs {
		out[i] = &tollgatev1.FiredAlert{Threshold: int32(f.Threshold), FireTime: timeToProto(f.At)}
	}
	return out
}
