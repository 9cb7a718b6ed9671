package rpc

import (
	"context"
	"errors"

	"connectrpc.com/connect"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/service/governance"
	"github.com/tollgate-dev/tollgate/service/store"
)

// Appliers applies a change to each of its Appliers in turn (e.g. the
// registry and the governance manager), returning the errors joined.
type Appliers []Applier

// Apply implements Applier.
func (as Appliers) Apply(ctx context.Context, c store.Change) error {
	var errs []error
	for _, a := range as {
		errs = append(errs, a.Apply(ctx, c))
	}
	return errors.Join(errs...)
}

var scopeToStore = map[tollgatev1.GovernanceScope]store.Scope{
	tollgatev1.GovernanceScope_GOVERNANCE_SCOPE_KEY:     store.ScopeKey,
	tollgatev1.GovernanceScope_GOVERNANCE_SCOPE_TEAM:    store.ScopeTeam,
	tollgatev1.GovernanceScope_GOVERNANCE_SCOPE_SERVICE: store.ScopeService,
}

var periodToStore = map[tollgatev1.BudgetPeriod]store.Period{
	tollgatev1.BudgetPeriod_BUDGET_PERIOD_DAILY:    store.PeriodDaily,
	tollgatev1.BudgetPeriod_BUDGET_PERIOD_WEEKLY:   store.PeriodWeekly,
	tollgatev1.BudgetPeriod_BUDGET_PERIOD_MONTHLY:  store.PeriodMonthly,
	tollgatev1.BudgetPeriod_BUDGET_PERIOD_LIFETIME: store.PeriodLifetime,
}

func reverse[K, V comparable](m map[K]V) map[V]K {
	out := make(map[V]K, len(m))
	for k, v := range m {
		out[v] = k
	}
	return out
}

var (
	scopeToProto  = reverse(scopeToStore)
	periodToProto = reverse(periodToStore)
)

// budgetFromProto converts and validates a budget.
func budgetFromProto(in *tollgatev1.Budget) (*store.Budget, error) {
	if in == nil {
		return nil, badParam("budget", "is required")
	}
	if err := checkSlug("budget.id", in.GetId()); err != nil {
		return nil, err
	}
	limit, err := moneyFromProto("budget.limit", in.GetLimit())
	if err != nil {
		return nil, err
	}
	b := &store.Budget{
		ID: in.GetId(), Scope: scopeToStore[in.GetScope()], TeamID: in.GetTeamId(), ServiceID: in.GetServiceId(),
		KeyID: in.GetKeyId(), Period: periodToStore[in.GetPeriod()], TimeZone: in.GetTimeZone(),
		LimitNanos: limit, LimitTokens: in.GetLimitTokens(),
	}
	if err := governance.ValidateBudget(b); err != nil {
		return nil, badParam("budget", err.Error())
	}
	if b.Version, err = ifVersion("budget.etag", in.GetEtag()); err != nil {
		return nil, err
	}
	if b.AlertThresholds, err = alertThresholds(in.GetAlertThresholds()); err != nil {
		return nil, err
	}
	return b, nil
}

func budgetToProto(b *store.Budget) *tollgatev1.Budget {
	out := &tollgatev1.Budget{
		Id: b.ID, Scope: scopeToProto[b.Scope], TeamId: b.TeamID, ServiceId: b.ServiceID, KeyId: b.KeyID,
		Period: periodToProto[b.Period], TimeZone: b.TimeZone, LimitTokens: b.LimitTokens,
		CreateTime: timeToProto(b.CreatedAt), UpdateTime: timeToProto(b.UpdatedAt), Etag: etag(b.Version),
	}
	for _, t := range b.AlertThresholds {
		out.AlertThresholds = append(out.AlertThresholds, int32(t))
	}
	if b.LimitNanos > 0 {
		out.Limit = moneyToProto(b.LimitNanos)
	}
	return out
}

func rateLimitFromProto(in *tollgatev1.RateLimit) (*store.RateLimit, error) {
	if in == nil {
		return nil, badParam("rate_limit", "is required")
	}
	if err := checkSlug("rate_limit.id", in.GetId()); err != nil {
		return nil, err
	}
	l := &store.RateLimit{
		ID: in.GetId(), Scope: scopeToStore[in.GetScope()], TeamID: in.GetTeamId(), KeyID: in.GetKeyId(),
		RequestsPerMinute: in.GetRequestsPerMinute(), TokensPerMinute: in.GetTokensPerMinute(), MaxConcurrent: in.GetMaxConcurrent(),
	}
	if err := governance.ValidateRateLimit(l); err != nil {
		return nil, badParam("rate_limit", err.Error())
	}
	var err error
	if l.Version, err = ifVersion("rate_limit.etag", in.GetEtag()); err != nil {
		return nil, err
	}
	return l, nil
}

func rateLimitToProto(l *store.RateLimit) *tollgatev1.RateLimit {
	return &tollgatev1.RateLimit{
		Id: l.ID, Scope: scopeToProto[l.Scope], TeamId: l.TeamID, KeyId: l.KeyID,
		RequestsPerMinute: l.RequestsPerMinute, TokensPerMinute: l.TokensPerMinute, MaxConcurrent: l.MaxConcurrent,
		CreateTime: timeToProto(l.CreatedAt), UpdateTime: timeToProto(l.UpdatedAt), Etag: etag(l.Version),
	}
}

// teamOfKey fills in the team of a key-scoped budget or limit, so that
// team listings and a key's status find it.
func (a *Admin) teamOfKey(ctx context.Context, keyID string) (string, error) {
	k, err := a.store.GetKey(ctx, keyID)
	if err != nil {
		return "", err
	}
	return k.TeamID, nil
}

// SetBudget creates or replaces a budget.
func (a *Admin) SetBudget(ctx context.Context, req *connect.Request[tollgatev1.SetBudgetRequest]) (*connect.Response[tollgatev1.SetBudgetResponse], error) {
	b, err := budgetFromProto(req.Msg.GetBudget())
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	if b.Scope == store.ScopeKey {
		if b.TeamID, err = a.teamOfKey(ctx, b.KeyID); err != nil {
			return nil, a.fail(ctx, err)
		}
	}
	if err := a.store.PutBudget(ctx, b); err != nil {
		return nil, a.fail(ctx, err)
	}
	a.apply(ctx, store.ChangeBudget, b.ID)
	return connect.NewResponse(&tollgatev1.SetBudgetResponse{Budget: budgetToProto(b)}), nil
}

// ListBudgets lists budgets, optionally of one team.
func (a *Admin) ListBudgets(ctx context.Context, req *connect.Request[tollgatev1.ListBudgetsRequest]) (*connect.Response[tollgatev1.ListBudgetsResponse], error) {
	page, err := readPage(req.Msg)
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	bs, next, err := a.store.PageBudgets(ctx, req.Msg.GetTeamId(), page)
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	teamOf := a.keyTeamOf(ctx)
	bs = narrow(ctx, bs, func(b store.Budget) string { return teamOf(b.TeamID, b.KeyID) })
	out := make([]*tollgatev1.Budget, len(bs))
	for i := range bs {
		out[i] = budgetToProto(&bs[i])
	}
	return connect.NewResponse(&tollgatev1.ListBudgetsResponse{Budgets: out, NextPageToken: nextPageToken(req.Msg, next)}), nil
}

// DeleteBudget removes a budget and its counters.
func (a *Admin) DeleteBudget(ctx context.Context, req *connect.Request[tollgatev1.DeleteBudgetRequest]) (*connect.Response[tollgatev1.DeleteBudgetResponse], error) {
	v, err := ifVersion("etag", req.Msg.GetEtag())
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	if err := a.store.DeleteBudget(ctx, req.Msg.GetId(), v); err != nil {
		return nil, a.fail(ctx, err)
	}
	a.apply(ctx, store.ChangeBudget, req.Msg.GetId())
	return connect.NewResponse(&tollgatev1.DeleteBudgetResponse{}), nil
}

// SetRateLimit creates or replaces a rate limit.
func (a *Admin) SetRateLimit(ctx context.Context, req *connect.Request[tollgatev1.SetRateLimitRequest]) (*connect.Response[tollgatev1.SetRateLimitResponse], error) {
	l, err := rateLimitFromProto(req.Msg.GetRateLimit())
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	if l.Scope == store.ScopeKey {
		if l.TeamID, err = a.teamOfKey(ctx, l.KeyID); err != nil {
			return nil, a.fail(ctx, err)
		}
	}
	if err := a.store.PutRateLimit(ctx, l); err != nil {
		return nil, a.fail(ctx, err)
	}
	a.apply(ctx, store.ChangeRateLimit, l.ID)
	return connect.NewResponse(&tollgatev1.SetRateLimitResponse{RateLimit: rateLimitToProto(l)}), nil
}

// ListRateLimits lists rate limits, optionally of one team.
func (a *Admin) ListRateLimits(ctx context.Context, req *connect.Request[tollgatev1.ListRateLimitsRequest]) (*connect.Response[tollgatev1.ListRateLimitsResponse], error) {
	page, err := readPage(req.Msg)
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	ls, next, err := a.store.PageRateLimits(ctx, req.Msg.GetTeamId(), page)
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	teamOf := a.keyTeamOf(ctx)
	ls = narrow(ctx, ls, func(l store.RateLimit) string { return teamOf(l.TeamID, l.KeyID) })
	out := make([]*tollgatev1.RateLimit, len(ls))
	for i := range ls {
		out[i] = rateLimitToProto(&ls[i])
	}
	return connect.NewResponse(&tollgatev1.ListRateLimitsResponse{RateLimits: out, NextPageToken: nextPageToken(req.Msg, next)}), nil
}

// DeleteRateLimit removes a rate limit.
func (a *Admin) DeleteRateLimit(ctx context.Context, req *connect.Request[tollgatev1.DeleteRateLimitRequest]) (*connect.Response[tollgatev1.DeleteRateLimitResponse], error) {
	v, err := ifVersion("etag", req.Msg.GetEtag())
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	if err := a.store.DeleteRateLimit(ctx, req.Msg.GetId(), v); err != nil {
		return nil, a.fail(ctx, err)
	}
	a.apply(ctx, store.ChangeRateLimit, req.Msg.GetId())
	return connect.NewResponse(&tollgatev1.DeleteRateLimitResponse{}), nil
}
