package identity

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tollgate-dev/tollgate/service/access"
	"github.com/tollgate-dev/tollgate/service/edge"
	"github.com/tollgate-dev/tollgate/service/jwtauth"
	"github.com/tollgate-dev/tollgate/service/keys"
)

// KeyAuthenticator checks a virtual key (the gateway's engine does). A
// refused key's error wraps access.ErrUnauthenticated; any other error
// (the key's state cannot be confirmed now) is returned as it is.
type KeyAuthenticator func(ctx context.Context, secret string) (keyID, teamID string, err error)

// SessionAuthenticator checks a console session cookie (see WebLogin); it
// returns ok=false when the request carries no session.
type SessionAuthenticator interface {
	AuthenticateSession(ctx context.Context, r access.Request) (p *access.Principal, ok bool, err error)
}

// OIDCConfig configures single sign-on.
type OIDCConfig struct {
	// Issuer is the identity provider's issuer URL.
	Issuer string
	// Audiences are the accepted "aud" values of ID tokens and access
	// tokens: the console's and the CLI's client ids, the API's audience.
	Audiences []string
	// GroupsClaim names the claim holding the user's groups (default "groups").
	GroupsClaim string
	// GroupRoles maps group names to roles ("*" maps every signed-in user).
	GroupRoles map[string][]access.Role
	// ClockSkew is tolerated on exp, nbf and iat (default 1m, at most 5m).
	ClockSkew time.Duration
	// Verifier overrides the token verifier built from the fields above (tests).
	Verifier *jwtauth.Verifier
}

// Authenticator turns credentials into principals; it implements
// access.Authenticator.
type Authenticator struct {
	dir        *Directory
	admin      keys.AdminToken
	breakGlass bool // false: the admin token is refused once an owner exists
	keyAuth    KeyAuthenticator
	sessions   SessionAuthenticator
	oidc       *OIDCConfig
	verifier   *jwtauth.Verifier
	now        func() time.Time
}

var _ access.Authenticator = (*Authenticator)(nil)

// Options configure an Authenticator.
type Options struct {
	// AdminToken is the bootstrap admin token ("" for none).
	AdminToken string
	// BreakGlassOff refuses the admin token once a principal other than it
	// holds the owner role.
	BreakGlassOff bool
	// Keys checks virtual keys (nil: refused).
	Keys KeyAuthenticator
	// OIDC enables single sign-on (nil: off).
	OIDC *OIDCConfig
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// NewAuthenticator returns an authenticator over a directory.
func NewAuthenticator(dir *Directory, o Options) (*Authenticator, error) {
	a := &Authenticator{dir: dir, admin: keys.NewAdminToken(o.AdminToken), breakGlass: !o.BreakGlassOff, keyAuth: o.Keys, oidc: o.OIDC, now: o.Now}
	if a.now == nil {
		a.now = time.Now
	}
	if o.OIDC != nil {
		if o.OIDC.GroupsClaim == "" {
			o.OIDC.GroupsClaim = "groups"
		}
		a.verifier = o.OIDC.Verifier
		if a.verifier == nil {
			v, err := jwtauth.New(jwtauth.Config{Issuer: o.OIDC.Issuer, Audiences: o.OIDC.Audiences, ClockSkew: o.OIDC.ClockSkew, Now: a.now})
			if err != nil {
				return nil, fmt.Errorf("single sign-on: %w", err)
			}
			a.verifier = v
		}
	}
	return a, nil
}

// SetSessions adds console sessions as a credential.
func (a *Authenticator) SetSessions(s SessionAuthenticator) { a.sessions = s }

// errNoCredential is the message of calls without a credential.
var errNoCredential = fmt.Errorf("%w: admin calls need \"Authorization: Bearer <token>\": a service-account token (tga-...), "+
	"an identity-provider token (tollgate login) or the admin token", access.ErrUnauthenticated)

// Authenticate implements access.Authenticator.
func (a *Authenticator) Authenticate(ctx context.Context, r access.Request) (*access.Principal, error) {
	tok := edge.BearerToken(r.Header)
	if tok == "" && a.sessions != nil {
		p, ok, err := a.sessions.AuthenticateSession(ctx, r)
		if ok || err != nil {
			return p, err
		}
	}
	switch {
	case tok == "":
		return nil, errNoCredential
	case strings.HasPrefix(tok, TokenPrefix):
		return a.serviceAccount(tok)
	case keys.LooksLikeKey(tok):
		if a.keyAuth == nil {
			return nil, fmt.Errorf("%w: virtual keys are not accepted here", access.ErrUnauthenticated)
		}
		id, team, err := a.keyAuth(ctx, tok)
		if err != nil {
			return nil, err
		}
		return &access.Principal{Type: access.TypeVirtualKey, Subject: id, TokenID: id,
			Roles: []access.Role{{Name: access.RoleKey, Team: team}}}, nil
	case jwtauth.LooksLikeJWT(tok):
		return a.user(ctx, tok)
	}
	return a.adminToken(tok)
}

// Known reports, from memory only, whether tok is a live service-account
// token (known, not revoked, not expired, its account enabled). The
// server's admission control uses it to tell authorised admin calls from
// anonymous ones before the guard runs.
func (a *Authenticator) Known(tok string) bool {
	if !strings.HasPrefix(tok, TokenPrefix) {
		return false
	}
	t, acct, ok := a.dir.lookup(sha256.Sum256([]byte(tok)))
	return ok && acct != nil && t.RevokedAt.IsZero() && a.now().Before(t.ExpiresAt) && !acct.Disabled
}

func (a *Authenticator) serviceAccount(tok string) (*access.Principal, error) {
	t, acct, ok := a.dir.lookup(sha256.Sum256([]byte(tok)))
	now := a.now()
	switch {
	case !ok || acct == nil:
		return nil, fmt.Errorf("%w: unknown service-account token", access.ErrUnauthenticated)
	case !t.RevokedAt.IsZero():
		return nil, fmt.Errorf("%w: service-account token %s was revoked", access.ErrUnauthenticated, t.ID)
	case !now.Before(t.ExpiresAt):
		return nil, fmt.Errorf("%w: service-account token %s expired at %s", access.ErrUnauthenticated, t.ID, t.ExpiresAt.UTC().Format(time.RFC3339))
	case acct.Disabled:
		return nil, fmt.Errorf("%w: service account %s is disabled", access.ErrUnauthenticated, acct.ID)
	}
	a.dir.touch(t.ID, now)
	return &access.Principal{Type: access.TypeServiceAccount, Subject: acct.ID, Name: acct.ID, TokenID: t.ID,
		Roles: slices.Clone(acct.roles)}, nil
}

func (a *Authenticator) adminToken(tok string) (*access.Principal, error) {
	if !a.admin.Matches(tok) {
		return nil, fmt.Errorf("%w: unknown admin credential", access.ErrUnauthenticated)
	}
	if !a.breakGlass && (a.dir.ownerExists() || (a.oidc != nil && OwnerMapped(a.oidc.GroupRoles))) {
		return nil, fmt.Errorf("%w: the admin token is switched off now that an owner exists (TOLLGATE_BREAK_GLASS=off)", access.ErrUnauthenticated)
	}
	return &access.Principal{Type: access.TypeAdminToken, Subject: "admin-token", Name: "break-glass admin token",
		Roles: []access.Role{{Name: access.RoleOwner}}}, nil
}

func (a *Authenticator) user(ctx context.Context, raw string) (*access.Principal, error) {
	if a.verifier == nil {
		return nil, fmt.Errorf("%w: single sign-on is not configured on this gateway", access.ErrUnauthenticated)
	}
	t, err := a.verifier.Verify(ctx, raw)
	switch {
	case errors.Is(err, jwtauth.ErrUnavailable):
		return nil, fmt.Errorf("%w: single sign-on: %w", access.ErrUnavailable, err)
	case err != nil:
		return nil, fmt.Errorf("%w: identity-provider token: %w", access.ErrUnauthenticated, err)
	}
	return a.UserPrincipal(t), nil
}

// UserPrincipal returns the principal of a verified identity-provider
// token, with its roles from the group mapping and the role bindings.
func (a *Authenticator) UserPrincipal(t *jwtauth.Token) *access.Principal {
	p := &access.Principal{Type: access.TypeUser, Subject: t.Subject, Issuer: t.Issuer, TokenID: t.ID}
	if t.Bool("email_verified") {
		p.Email = t.String("email")
	}
	for _, c := range []string{"name", "preferred_username", "email"} {
		if p.Name = t.String(c); p.Name != "" {
			break
		}
	}
	if a.oidc != nil {
		p.Groups = t.Strings(a.oidc.GroupsClaim)
		p.Roles = append(p.Roles, a.oidc.GroupRoles["*"]...)
		for _, g := range p.Groups {
			p.Roles = append(p.Roles, a.oidc.GroupRoles[g]...)
		}
	}
	p.Roles = append(p.Roles, a.dir.bound(p.Subject, p.Email, p.Groups)...)
	slices.SortFunc(p.Roles, func(x, y access.Role) int { return strings.Compare(x.String(), y.String()) })
	p.Roles = slices.Compact(p.Roles)
	return p
}

// ParseGroupRoles parses a group → role mapping: comma- or
// semicolon-separated "group=role" pairs ("platform-admins=admin,
// team-search-admins=team-admin:search"); a group may appear several times.
func ParseGroupRoles(s string) (map[string][]access.Role, error) {
	out := map[string][]access.Role{}
	for pair := range strings.FieldsFuncSeq(s, func(r rune) bool { return r == ',' || r == ';' || r == '\n' }) {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		group, role, ok := strings.Cut(pair, "=")
		if !ok || strings.TrimSpace(group) == "" {
			return nil, fmt.Errorf("role mapping %q: want group=role", pair)
		}
		r, err := access.ParseRole(role)
		if err != nil {
			return nil, fmt.Errorf("role mapping %q: %w", pair, err)
		}
		g := strings.TrimSpace(group)
		out[g] = append(out[g], r)
	}
	return out, nil
}

// OwnerMapped reports whether a group mapping gives someone the owner role.
func OwnerMapped(m map[string][]access.Role) bool {
	for _, rs := range m {
		if hasRole(rs, access.RoleOwner) {
			return true
		}
	}
	return false
}
