package access

import (
	"context"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	c "github.com/tollgate-dev/tollgate/gen/tollgate/v1/tollgatev1connect"
)

// Lookup finds the team of a resource a request names only by id, for
// team-scoped checks. Implementations read the in-memory registry or the
// store; they are only asked about team-scoped principals.
type Lookup interface {
	// KeyTeam returns the team of a virtual key; ok is false if there is
	// no such key.
	KeyTeam(ctx context.Context, id string) (team string, ok bool, err error)
	// BudgetTeam returns the team of a budget (of its key for key budgets).
	BudgetTeam(ctx context.Context, id string) (team string, ok bool, err error)
	// RateLimitTeam returns the team of a rate limit (of its key for key limits).
	RateLimitTeam(ctx context.Context, id string) (team string, ok bool, err error)
}

// Rule is what a procedure needs.
type Rule struct {
	// Perm is the permission the call needs.
	Perm Permission
	// Teams returns the teams a request touches, for team-scoped
	// permissions: a principal whose grant is limited to some teams must
	// hold every one of them. nil for calls that touch no team in
	// particular (a principal must then hold the permission for all teams,
	// unless List is set).
	Teams func(ctx context.Context, l Lookup, msg any) ([]string, error)
	// List marks calls whose handler narrows the answer to the caller's
	// teams (TeamScope) when the request names none.
	List bool
	// KeyOK lets a virtual key make the call (UsageService reads of its
	// own team). No admin service sets it.
	KeyOK bool
}

// requestTeam reads the team a request names directly (a filter or the
// resource's team field); "" when it names none.
func requestTeam(get func(any) string) func(context.Context, Lookup, any) ([]string, error) {
	return func(_ context.Context, _ Lookup, msg any) ([]string, error) {
		if t := get(msg); t != "" {
			return []string{t}, nil
		}
		return nil, nil
	}
}

// keyTeam reads the team of the key a request names by id.
func keyTeam(id func(any) string) func(context.Context, Lookup, any) ([]string, error) {
	return func(ctx context.Context, l Lookup, msg any) ([]string, error) {
		team, ok, err := l.KeyTeam(ctx, id(msg))
		if err != nil || !ok {
			return []string{""}, err
		}
		return []string{team}, nil
	}
}

// scopedTeams returns the teams a budget or rate limit set by a request
// belongs to: its team (its key's for key scope) and, when it replaces a
// stored one, the stored one's.
func scopedTeams(ctx context.Context, l Lookup, team, key, id string, stored func(context.Context, string) (string, bool, error)) ([]string, error) {
	var out []string
	switch {
	case team != "":
		out = append(out, team)
	case key != "":
		t, ok, err := l.KeyTeam(ctx, key)
		if err != nil {
			return nil, err
		}
		if !ok {
			t = ""
		}
		out = append(out, t)
	default:
		out = append(out, "") // no team: only principals with all teams
	}
	if id != "" {
		t, ok, err := stored(ctx, id)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, t)
		}
	}
	return out, nil
}

func storedTeam(stored func(Lookup) func(context.Context, string) (string, bool, error), id func(any) string) func(context.Context, Lookup, any) ([]string, error) {
	return func(ctx context.Context, l Lookup, msg any) ([]string, error) {
		team, ok, err := stored(l)(ctx, id(msg))
		if err != nil || !ok {
			return []string{""}, err
		}
		return []string{team}, nil
	}
}

func budgetLookup(l Lookup) func(context.Context, string) (string, bool, error) { return l.BudgetTeam }
func limitLookup(l Lookup) func(context.Context, string) (string, bool, error) {
	return l.RateLimitTeam
}

// m casts a request message for the table's accessors.
func m[T any](msg any) T {
	v, _ := msg.(T)
	return v
}

// Rules is the declarative table of every procedure of the admin
// services and UsageService and what it needs. A test fails when a
// procedure of these services has no entry, so a new RPC cannot be
// served unguarded.
var Rules = map[string]Rule{
	// CatalogService: providers, models, routes.
	c.CatalogServiceCreateProviderProcedure: {Perm: CatalogWrite},
	c.CatalogServiceGetProviderProcedure:    {Perm: CatalogRead},
	c.CatalogServiceListProvidersProcedure:  {Perm: CatalogRead},
	c.CatalogServiceUpdateProviderProcedure: {Perm: CatalogWrite},
	c.CatalogServiceDeleteProviderProcedure: {Perm: CatalogWrite},
	c.CatalogServiceCreateModelProcedure:    {Perm: CatalogWrite},
	c.CatalogServiceGetModelProcedure:       {Perm: CatalogRead},
	c.CatalogServiceListAllModelsProcedure:  {Perm: CatalogRead},
	c.CatalogServiceUpdateModelProcedure:    {Perm: CatalogWrite},
	c.CatalogServiceDeleteModelProcedure:    {Perm: CatalogWrite},
	c.CatalogServiceCreateRouteProcedure:    {Perm: CatalogWrite},
	c.CatalogServiceGetRouteProcedure:       {Perm: CatalogRead},
	c.CatalogServiceListRoutesProcedure:     {Perm: CatalogRead},
	c.CatalogServiceUpdateRouteProcedure:    {Perm: CatalogWrite},
	c.CatalogServiceDeleteRouteProcedure:    {Perm: CatalogWrite},

	// TeamService: teams and keys.
	c.TeamServiceCreateTeamProcedure: {Perm: TeamsWrite},
	c.TeamServiceGetTeamProcedure: {Perm: TeamsRead,
		Teams: requestTeam(func(x any) string { return m[*tollgatev1.GetTeamRequest](x).GetId() })},
	c.TeamServiceListTeamsProcedure:  {Perm: TeamsRead, List: true},
	c.TeamServiceDeleteTeamProcedure: {Perm: TeamsWrite},
	c.TeamServiceCreateKeyProcedure: {Perm: KeysWrite,
		Teams: func(_ context.Context, _ Lookup, x any) ([]string, error) {
			return []string{m[*tollgatev1.CreateKeyRequest](x).GetKey().GetTeamId()}, nil
		}},
	c.TeamServiceGetKeyProcedure: {Perm: KeysRead,
		Teams: keyTeam(func(x any) string { return m[*tollgatev1.GetKeyRequest](x).GetId() })},
	c.TeamServiceListKeysProcedure: {Perm: KeysRead, List: true,
		Teams: requestTeam(func(x any) string { return m[*tollgatev1.ListKeysRequest](x).GetTeamId() })},
	c.TeamServiceRevokeKeyProcedure: {Perm: KeysWrite,
		Teams: keyTeam(func(x any) string { return m[*tollgatev1.RevokeKeyRequest](x).GetId() })},
	c.TeamServiceRotateKeyProcedure: {Perm: KeysWrite,
		Teams: keyTeam(func(x any) string { return m[*tollgatev1.RotateKeyRequest](x).GetId() })},

	// PolicyService: budgets and rate limits (team-scoped), guardrails,
	// alerts, cache.
	c.PolicyServiceSetBudgetProcedure: {Perm: BudgetsWrite,
		Teams: func(ctx context.Context, l Lookup, x any) ([]string, error) {
			b := m[*tollgatev1.SetBudgetRequest](x).GetBudget()
			return scopedTeams(ctx, l, b.GetTeamId(), b.GetKeyId(), b.GetId(), l.BudgetTeam)
		}},
	c.PolicyServiceListBudgetsProcedure: {Perm: BudgetsRead, List: true,
		Teams: requestTeam(func(x any) string { return m[*tollgatev1.ListBudgetsRequest](x).GetTeamId() })},
	c.PolicyServiceDeleteBudgetProcedure: {Perm: BudgetsWrite,
		Teams: storedTeam(budgetLookup, func(x any) string { return m[*tollgatev1.DeleteBudgetRequest](x).GetId() })},
	c.PolicyServiceSetRateLimitProcedure: {Perm: LimitsWrite,
		Teams: func(ctx context.Context, l Lookup, x any) ([]string, error) {
			r := m[*tollgatev1.SetRateLimitRequest](x).GetRateLimit()
			return scopedTeams(ctx, l, r.GetTeamId(), r.GetKeyId(), r.GetId(), l.RateLimitTeam)
		}},
	c.PolicyServiceListRateLimitsProcedure: {Perm: LimitsRead, List: true,
		Teams: requestTeam(func(x any) string { return m[*tollgatev1.ListRateLimitsRequest](x).GetTeamId() })},
	c.PolicyServiceDeleteRateLimitProcedure: {Perm: LimitsWrite,
		Teams: storedTeam(limitLookup, func(x any) string { return m[*tollgatev1.DeleteRateLimitRequest](x).GetId() })},
	c.PolicyServiceCreateAlertWebhookProcedure:    {Perm: PoliciesWrite},
	c.PolicyServiceListAlertWebhooksProcedure:     {Perm: PoliciesRead},
	c.PolicyServiceDeleteAlertWebhookProcedure:    {Perm: PoliciesWrite},
	c.PolicyServicePurgeCacheProcedure:            {Perm: PoliciesWrite},
	c.PolicyServiceGetCacheStatsProcedure:         {Perm: PoliciesRead},
	c.PolicyServiceCreateGuardrailPolicyProcedure: {Perm: PoliciesWrite},
	c.PolicyServiceGetGuardrailPolicyProcedure:    {Perm: PoliciesRead},
	c.PolicyServiceListGuardrailPoliciesProcedure: {Perm: PoliciesRead},
	c.PolicyServiceUpdateGuardrailPolicyProcedure: {Perm: PoliciesWrite},
	c.PolicyServiceDeleteGuardrailPolicyProcedure: {Perm: PoliciesWrite},

	// IdentityService: principals and roles.
	c.IdentityServiceGetCallerProcedure:                 {Perm: Self},
	c.IdentityServiceGetLoginConfigProcedure:            {Perm: Public},
	c.IdentityServiceCreateServiceAccountProcedure:      {Perm: PrincipalsWrite},
	c.IdentityServiceGetServiceAccountProcedure:         {Perm: PrincipalsRead},
	c.IdentityServiceListServiceAccountsProcedure:       {Perm: PrincipalsRead},
	c.IdentityServiceUpdateServiceAccountProcedure:      {Perm: PrincipalsWrite},
	c.IdentityServiceDeleteServiceAccountProcedure:      {Perm: PrincipalsWrite},
	c.IdentityServiceCreateServiceAccountTokenProcedure: {Perm: PrincipalsWrite},
	c.IdentityServiceListServiceAccountTokensProcedure:  {Perm: PrincipalsRead},
	c.IdentityServiceRotateServiceAccountTokenProcedure: {Perm: PrincipalsWrite},
	c.IdentityServiceRevokeServiceAccountTokenProcedure: {Perm: PrincipalsWrite},
	c.IdentityServiceCreateRoleBindingProcedure:         {Perm: PrincipalsWrite},
	c.IdentityServiceListRoleBindingsProcedure:          {Perm: PrincipalsRead},
	c.IdentityServiceDeleteRoleBindingProcedure:         {Perm: PrincipalsWrite},

	// CredentialService: credential references and the master key.
	c.CredentialServiceRefreshCredentialsProcedure:       {Perm: CredentialsWrite},
	c.CredentialServiceListCredentialReferencesProcedure: {Perm: CredentialsRead},
	c.CredentialServiceRotateMasterKeyProcedure:          {Perm: CredentialsWrite},
	c.CredentialServiceGetMasterKeyStatusProcedure:       {Perm: CredentialsRead},

	// ConfigService: which resources configuration as code manages.
	c.ConfigServiceListManagedResourcesProcedure: {Perm: CatalogRead},

	// UsageService: records and summaries are team-scoped; a virtual key
	// reads its own team's.
	c.UsageServiceListRequestRecordsProcedure: {Perm: UsageRead, List: true, KeyOK: true,
		Teams: requestTeam(func(x any) string { return m[*tollgatev1.ListRequestRecordsRequest](x).GetTeamId() })},
	c.UsageServiceGetUsageSummaryProcedure: {Perm: UsageRead, List: true, KeyOK: true,
		Teams: requestTeam(func(x any) string { return m[*tollgatev1.GetUsageSummaryRequest](x).GetTeamId() })},
	c.UsageServiceGetBudgetStatusProcedure: {Perm: BudgetsRead, List: true, KeyOK: true,
		Teams: requestTeam(func(x any) string { return m[*tollgatev1.GetBudgetStatusRequest](x).GetTeamId() })},
	c.UsageServiceExportRequestRecordsProcedure: {Perm: UsageRead, List: true, KeyOK: true,
		Teams: requestTeam(func(x any) string { return m[*tollgatev1.ExportRequestRecordsRequest](x).GetTeamId() })},
	c.UsageServiceListAdminAuditEventsProcedure: {Perm: AuditRead},
}

// GuardedServices are the services whose every procedure must be in Rules.
var GuardedServices = []string{
	c.CatalogServiceName, c.TeamServiceName, c.PolicyServiceName,
	c.IdentityServiceName, c.CredentialServiceName, c.UsageServiceName, c.ConfigServiceName,
}
