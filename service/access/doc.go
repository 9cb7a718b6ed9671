// Package access decides who may do what on the admin API.
//
// Every admin call (CatalogService, TeamService, PolicyService,
// IdentityService, CredentialService) and every UsageService call passes
// one [Guard]: as a Connect interceptor for the RPCs and as HTTP middleware
// for admin HTTP routes. The guard authenticates the caller to a
// [Principal] (through an [Authenticator]: the break-glass admin token,
// service-account tokens, identity-provider tokens, console sessions,
// virtual keys), looks the procedure up in one declarative table ([Rules]:
// procedure → [Permission], and for team-scoped permissions the teams the
// request touches) and checks the principal's roles grant it. Nothing on
// this path reads the database: principals and roles are held in memory by
// package identity.
//
// Roles ([RoleName]):
//
//	owner       everything
//	admin       everything but writing principals and role bindings
//	team-admin  for one team (a principal may hold several): the team's
//	            keys, budgets, rate limits and usage; reads the catalog
//	viewer      reads everything but principals
//	auditor     reads everything, principals and the audit log included
//	billing     usage, budgets and their status, team names
//
// A virtual key is a principal too, but only on UsageService, for its own
// team's usage and budget status: virtual keys never authorise an admin
// call.
//
// A list call a team-admin makes without naming a team is allowed; the
// handler then narrows the answer to the principal's teams ([TeamScope]).
package access
