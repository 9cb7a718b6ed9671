package access

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Type is the kind of a principal.
type Type string

// The principal types.
const (
	TypeAdminToken     Type = "admin_token"
	TypeUser           Type = "user"
	TypeServiceAccount Type = "service_account"
	TypeVirtualKey     Type = "virtual_key"
	TypeSystem         Type = "system"
	// TypeAnonymous is recorded for refused calls without a valid credential.
	TypeAnonymous Type = "anonymous"
)

// Principal is an authenticated caller.
type Principal struct {
	Type Type
	// Subject is its stable id: the identity provider's "sub", the service
	// account id, the key id, "admin-token".
	Subject string
	// Issuer is the identity provider's issuer, for people.
	Issuer string
	// Name is a display name; Email the e-mail address of a person.
	Name, Email string
	// TokenID names the credential used: a service-account token id, a
	// key id, an ID token's "jti", a console session's id.
	TokenID string
	// Roles are what the principal may do.
	Roles []Role
	// Groups are the identity provider's groups, for people.
	Groups []string
}

// ID returns the principal's id as recorded on what it creates:
// "user:<sub>", "service-account:<id>", "admin-token", "key:<id>".
func (p *Principal) ID() string {
	switch p.Type {
	case TypeUser:
		return "user:" + p.Subject
	case TypeServiceAccount:
		return "service-account:" + p.Subject
	case TypeAdminToken:
		return "admin-token"
	case TypeVirtualKey:
		return "key:" + p.Subject
	case TypeAnonymous:
		return "anonymous"
	}
	return string(p.Type) + ":" + p.Subject
}

// Display returns a name for people: the e-mail address or name when
// known, else the id.
func (p *Principal) Display() string {
	switch {
	case p.Email != "":
		return p.Email
	case p.Name != "":
		return p.Name
	}
	return p.ID()
}

// ErrPermissionDenied is the sentinel of refusals; see Decide.
var ErrPermissionDenied = errors.New("permission denied")

// Decision is what a principal may do for one permission: everything
// (All), or the listed teams only.
type Decision struct {
	// Role is the role that allowed the call, as recorded in the audit log.
	Role string
	// All is true when the permission is granted for every team.
	All bool
	// Teams lists the teams a team-scoped grant covers (when !All).
	Teams []string
}

// Allows reports whether the decision covers team.
func (d Decision) Allows(team string) bool { return d.All || slices.Contains(d.Teams, team) }

// Decide reports what p may do with perm: an error wrapping
// ErrPermissionDenied when nothing, else the decision's scope. It does not
// look at the teams a request touches (see Rule and Guard).
func Decide(p *Principal, perm Permission) (Decision, error) {
	if perm == Self && p.Type != TypeVirtualKey {
		return Decision{All: true}, nil // asking who one is needs no role
	}
	var d Decision
	best := len(privilege)
	for _, r := range p.Roles {
		ok, team := r.grants(perm)
		if !ok {
			continue
		}
		rank := slices.Index(privilege, r.Name)
		if team == "" {
			if !d.All || rank < best {
				d.Role, best = r.String(), rank
			}
			d.All = true
			continue
		}
		if !slices.Contains(d.Teams, team) {
			d.Teams = append(d.Teams, team)
		}
		if !d.All && d.Role == "" {
			d.Role = r.String()
		}
	}
	if !d.All && len(d.Teams) == 0 {
		return Decision{}, fmt.Errorf("%w: %s may not %s", ErrPermissionDenied, p.Display(), describe(perm))
	}
	if d.All {
		d.Teams = nil
	}
	slices.Sort(d.Teams)
	return d, nil
}

// describe turns "keys.write" into "write keys".
func describe(p Permission) string {
	what, verb, ok := strings.Cut(string(p), ".")
	if !ok {
		return string(p)
	}
	return verb + " " + what
}

type principalKey struct{}
type decisionKey struct{}

// WithPrincipal returns ctx carrying p and the decision that let it in.
func WithPrincipal(ctx context.Context, p *Principal, d Decision) context.Context {
	return context.WithValue(context.WithValue(ctx, principalKey{}, p), decisionKey{}, d)
}

// FromContext returns the principal of an authorised call.
func FromContext(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	return p, ok && p != nil
}

// DecisionFrom returns the decision that authorised the call; the zero
// Decision (nothing) outside of one.
func DecisionFrom(ctx context.Context) Decision {
	d, _ := ctx.Value(decisionKey{}).(Decision)
	return d
}

// TeamScope returns the teams the call may see: all (true) or the listed
// ones. List handlers narrow their answers with it.
func TeamScope(ctx context.Context) (teams []string, all bool) {
	d := DecisionFrom(ctx)
	return d.Teams, d.All
}

// CreatorID returns the id of the calling principal, as recorded on what a
// call creates ("" outside of an authorised call).
func CreatorID(ctx context.Context) string {
	if p, ok := FromContext(ctx); ok {
		return p.ID()
	}
	return ""
}
