// Who is signed in and what they may do. The gateway decides every call
// (its access guard refuses what a role does not allow); the console only
// follows the same rules to show people the buttons that will work.
//
// Roles (see IdentityService): "owner" and "admin" administer everything;
// "team-admin:TEAM" manages one team's keys, budgets and rate limits and
// reads its usage; "viewer" and "auditor" read; "billing" reads usage and
// budgets.

/** The signed-in principal. */
export interface Caller {
  /** As recorded on what it creates: "user:<sub>", "service-account:<id>", "admin-token". */
  id: string;
  /** For people. */
  name: string;
  /** "admin_token", "user", "service_account". */
  type: string;
  roles: string[];
}

const ADMIN = new Set(["owner", "admin"]);

/** isAdmin reports whether c administers the whole gateway. */
export function isAdmin(c: Caller): boolean {
  return c.roles.some((r) => ADMIN.has(r));
}

/** adminTeams returns the teams c is team-admin of. */
export function adminTeams(c: Caller): string[] {
  return c.roles.filter((r) => r.startsWith("team-admin:")).map((r) => r.slice("team-admin:".length));
}

/**
 * teamScope returns the teams whose data c sees, or null for all: people
 * whose only write roles are team-admin roles see their teams.
 */
export function teamScope(c: Caller): string[] | null {
  if (isAdmin(c) || c.roles.some((r) => r === "viewer" || r === "auditor" || r === "billing")) return null;
  return adminTeams(c);
}

/** canWriteCatalog: providers, models, routes, guardrails, the cache, alert webhooks. */
export function canWriteCatalog(c: Caller): boolean {
  return isAdmin(c);
}

/** canWriteTeam: a team's keys, budgets and rate limits. */
export function canWriteTeam(c: Caller, team: string): boolean {
  return isAdmin(c) || (team !== "" && adminTeams(c).includes(team));
}

/** canWriteAnyTeam: whether c manages some team (to offer "New key"). */
export function canWriteAnyTeam(c: Caller): boolean {
  return isAdmin(c) || adminTeams(c).length > 0;
}

/** canReadAudit: the admin audit log. */
export function canReadAudit(c: Caller): boolean {
  return c.roles.some((r) => r === "owner" || r === "admin" || r === "auditor" || r === "viewer");
}

/** roleSummary is a short text of c's roles for the header. */
export function roleSummary(c: Caller): string {
  return c.roles.length ? c.roles.join(", ") : "no role";
}
