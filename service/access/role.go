package access

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Permission is something a role may do. Team-scoped permissions (see
// teamScoped) may be granted for some teams only.
type Permission string

// The permissions.
const (
	// CatalogRead and CatalogWrite: providers, models, routes.
	CatalogRead  Permission = "catalog.read"
	CatalogWrite Permission = "catalog.write"
	// TeamsRead and TeamsWrite: teams (creating and deleting them).
	TeamsRead  Permission = "teams.read"
	TeamsWrite Permission = "teams.write"
	// KeysRead and KeysWrite: virtual keys.
	KeysRead  Permission = "keys.read"
	KeysWrite Permission = "keys.write"
	// BudgetsRead and BudgetsWrite: budgets and their status.
	BudgetsRead  Permission = "budgets.read"
	BudgetsWrite Permission = "budgets.write"
	// LimitsRead and LimitsWrite: rate limits.
	LimitsRead  Permission = "limits.read"
	LimitsWrite Permission = "limits.write"
	// PoliciesRead and PoliciesWrite: guardrail policies, alert webhooks,
	// the response cache.
	PoliciesRead  Permission = "policies.read"
	PoliciesWrite Permission = "policies.write"
	// UsageRead: request records, usage summaries, exports.
	UsageRead Permission = "usage.read"
	// AuditRead: the admin audit log.
	AuditRead Permission = "audit.read"
	// PrincipalsRead and PrincipalsWrite: service accounts, their tokens,
	// role bindings.
	PrincipalsRead  Permission = "principals.read"
	PrincipalsWrite Permission = "principals.write"
	// CredentialsRead and CredentialsWrite: credential references and the
	// master key (never their values).
	CredentialsRead  Permission = "credentials.read"
	CredentialsWrite Permission = "credentials.write"
	// Self: asking who one is. Every admin principal has it.
	Self Permission = "self"
	// Public: no credential needed.
	Public Permission = "public"
)

// AllPermissions lists every permission but Public.
var AllPermissions = []Permission{
	CatalogRead, CatalogWrite, TeamsRead, TeamsWrite, KeysRead, KeysWrite, BudgetsRead, BudgetsWrite,
	LimitsRead, LimitsWrite, PoliciesRead, PoliciesWrite, UsageRead, AuditRead, PrincipalsRead, PrincipalsWrite,
	CredentialsRead, CredentialsWrite, Self,
}

// teamScoped are the permissions that can be granted for some teams only.
var teamScoped = map[Permission]bool{
	TeamsRead: true, KeysRead: true, KeysWrite: true, BudgetsRead: true, BudgetsWrite: true,
	LimitsRead: true, LimitsWrite: true, UsageRead: true,
}

// TeamScoped reports whether p can be granted for some teams only.
func TeamScoped(p Permission) bool { return teamScoped[p] }

// RoleName names a role.
type RoleName string

// The roles. RoleKey is not assignable: it is what a virtual key holds on
// UsageService.
const (
	RoleOwner     RoleName = "owner"
	RoleAdmin     RoleName = "admin"
	RoleTeamAdmin RoleName = "team-admin"
	RoleViewer    RoleName = "viewer"
	RoleAuditor   RoleName = "auditor"
	RoleBilling   RoleName = "billing"
	RoleKey       RoleName = "key"
)

// reads are the read permissions of viewer and auditor.
var reads = []Permission{CatalogRead, TeamsRead, KeysRead, BudgetsRead, LimitsRead, PoliciesRead, UsageRead, AuditRead, CredentialsRead, Self}

// grants are each role's permissions. Team-scoped roles grant theirs for
// their team only (their other permissions, e.g. a team-admin's catalog
// reads, for every team).
var grants = map[RoleName][]Permission{
	RoleOwner:     AllPermissions,
	RoleAdmin:     slices.DeleteFunc(slices.Clone(AllPermissions), func(p Permission) bool { return p == PrincipalsWrite }),
	RoleTeamAdmin: {TeamsRead, KeysRead, KeysWrite, BudgetsRead, BudgetsWrite, LimitsRead, LimitsWrite, UsageRead, CatalogRead, Self},
	RoleViewer:    reads,
	RoleAuditor:   append(slices.Clone(reads), PrincipalsRead),
	RoleBilling:   {UsageRead, BudgetsRead, TeamsRead, Self},
	RoleKey:       {UsageRead, BudgetsRead},
}

// privilege orders roles from least to most privileged: the role recorded
// as "used" for a call is the least privileged one that allows it.
var privilege = []RoleName{RoleKey, RoleBilling, RoleViewer, RoleAuditor, RoleTeamAdmin, RoleAdmin, RoleOwner}

// Role is a role held by a principal; Team is set for team-admin (and for
// a virtual key's role) only.
type Role struct {
	Name RoleName
	Team string
}

// String returns the role as written in configuration: "admin",
// "team-admin:search".
func (r Role) String() string {
	if r.Team != "" {
		return string(r.Name) + ":" + r.Team
	}
	return string(r.Name)
}

// teamScopedRole reports whether the role's team-scoped permissions are
// limited to its team.
func (r Role) teamScopedRole() bool { return r.Name == RoleTeamAdmin || r.Name == RoleKey }

// grants reports whether the role grants p, and for team-scoped grants,
// for which team ("" for all teams).
func (r Role) grants(p Permission) (ok bool, team string) {
	if !slices.Contains(grants[r.Name], p) {
		return false, ""
	}
	if r.teamScopedRole() && teamScoped[p] {
		return true, r.Team
	}
	return true, ""
}

var teamRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// ParseRole parses an assignable role: "owner", "admin", "viewer",
// "auditor", "billing" or "team-admin:TEAM".
func ParseRole(s string) (Role, error) {
	name, team, hasTeam := strings.Cut(strings.TrimSpace(s), ":")
	r := Role{Name: RoleName(name), Team: team}
	switch r.Name {
	case RoleOwner, RoleAdmin, RoleViewer, RoleAuditor, RoleBilling:
		if hasTeam {
			return Role{}, fmt.Errorf("role %q takes no team", name)
		}
	case RoleTeamAdmin:
		if !teamRE.MatchString(team) {
			return Role{}, fmt.Errorf("role %q: want team-admin:TEAM with a team id", s)
		}
	default:
		return Role{}, fmt.Errorf("unknown role %q: want owner, admin, team-admin:TEAM, viewer, auditor or billing", s)
	}
	return r, nil
}

// ParseRoles parses a list of roles, dropping duplicates.
func ParseRoles(ss []string) ([]Role, error) {
	out := make([]Role, 0, len(ss))
	for _, s := range ss {
		r, err := ParseRole(s)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out, nil
}

// RoleStrings returns roles as strings.
func RoleStrings(rs []Role) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.String()
	}
	return out
}
