package server

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/tollgate-dev/tollgate/service/access"
	"github.com/tollgate-dev/tollgate/service/callerauth"
	"github.com/tollgate-dev/tollgate/service/gateway"
	"github.com/tollgate-dev/tollgate/service/identity"
	"github.com/tollgate-dev/tollgate/service/jwtauth"
	"github.com/tollgate-dev/tollgate/service/rpc"
	"github.com/tollgate-dev/tollgate/service/store"
	"github.com/tollgate-dev/tollgate/service/weblogin"
)

// IdentityConfig holds the admin API's authentication settings: single
// sign-on with an OpenID Connect provider, the break-glass admin token,
// trusted proxies for audit source addresses.
type IdentityConfig struct {
	// OIDCIssuer enables single sign-on with this issuer.
	OIDCIssuer string
	// OIDCClientID is the console's client (confidential; its secret is
	// OIDCClientSecret) and an accepted audience.
	OIDCClientID, OIDCClientSecret string
	// OIDCCLIClientID is the public client `tollgate login` uses, and an
	// accepted audience.
	OIDCCLIClientID string
	// OIDCAudiences are further accepted audiences (an API identifier
	// that access tokens carry), comma-separated.
	OIDCAudiences string
	// OIDCGroupsClaim names the groups claim.
	OIDCGroupsClaim string
	// OIDCRoles maps groups to roles: "platform-admins=admin,team-search-admins=team-admin:search".
	OIDCRoles string
	// OIDCClockSkew is tolerated on token times (at most 5m).
	OIDCClockSkew time.Duration
	// OIDCScopes are the scopes logins ask for.
	OIDCScopes string
	// OIDCRedirectURL is the console's callback URL (".../auth/callback");
	// it enables the web login handlers.
	OIDCRedirectURL string
	// SessionTTL bounds a console session.
	SessionTTL time.Duration
	// BreakGlass is "on" (the admin token always works) or "off" (it is
	// refused once another principal holds the owner role).
	BreakGlass string
	// TrustedProxies are networks whose X-Forwarded-For is believed for
	// the audit log's source address, comma-separated CIDRs.
	TrustedProxies string
	// TokenUseFlush is how often service-account token last-use times are written.
	TokenUseFlush time.Duration
	// CallerJWTConfig is the file of trusted issuers whose JWTs callers of
	// the inference APIs may use instead of a virtual key (package callerauth).
	CallerJWTConfig string
}

func defaultIdentityConfig() IdentityConfig {
	return IdentityConfig{OIDCGroupsClaim: "groups", OIDCClockSkew: time.Minute, OIDCScopes: "openid email profile offline_access",
		SessionTTL: 12 * time.Hour, BreakGlass: "on", TokenUseFlush: 30 * time.Second}
}

func (c *IdentityConfig) registerFlags(e *envFlags) {
	e.str(&c.OIDCIssuer, "oidc-issuer", "TOLLGATE_OIDC_ISSUER", "OpenID Connect issuer for admin single sign-on (off when empty)")
	e.str(&c.OIDCClientID, "oidc-client-id", "TOLLGATE_OIDC_CLIENT_ID", "the console's OpenID Connect client id (its secret: $TOLLGATE_OIDC_CLIENT_SECRET)")
	e.str(&c.OIDCCLIClientID, "oidc-cli-client-id", "TOLLGATE_OIDC_CLI_CLIENT_ID", "the public client id that tollgate login uses")
	e.str(&c.OIDCAudiences, "oidc-audiences", "TOLLGATE_OIDC_AUDIENCES", "further accepted token audiences, comma-separated")
	e.str(&c.OIDCGroupsClaim, "oidc-groups-claim", "TOLLGATE_OIDC_GROUPS_CLAIM", "the claim holding the user's groups")
	e.str(&c.OIDCRoles, "oidc-roles", "TOLLGATE_OIDC_ROLES", "groups to roles, e.g. platform-admins=admin,team-search-admins=team-admin:search")
	e.duration(&c.OIDCClockSkew, "oidc-clock-skew", "TOLLGATE_OIDC_CLOCK_SKEW", "clock skew tolerated on token times (at most 5m)")
	e.str(&c.OIDCScopes, "oidc-scopes", "TOLLGATE_OIDC_SCOPES", "scopes logins ask for, space-separated")
	e.str(&c.OIDCRedirectURL, "oidc-redirect-url", "TOLLGATE_OIDC_REDIRECT_URL", "the console's login callback URL, https://HOST/auth/callback (enables web login)")
	e.duration(&c.SessionTTL, "session-ttl", "TOLLGATE_SESSION_TTL", "lifetime of a console session")
	e.str(&c.BreakGlass, "break-glass", "TOLLGATE_BREAK_GLASS", "on: the admin token always works; off: it is refused once another principal is owner")
	e.str(&c.TrustedProxies, "trusted-proxies", "TOLLGATE_TRUSTED_PROXIES", "CIDRs whose X-Forwarded-For names the audit log's source address")
	e.duration(&c.TokenUseFlush, "token-use-flush", "TOLLGATE_TOKEN_USE_FLUSH", "how often service-account token last-use times are written")
	e.str(&c.CallerJWTConfig, "caller-jwt-config", "TOLLGATE_CALLER_JWT_CONFIG", "file of trusted JWT issuers and rules for callers without virtual keys (YAML or JSON)")
}

func (c *IdentityConfig) validate() error {
	var errs []error
	if c.BreakGlass != "on" && c.BreakGlass != "off" {
		errs = append(errs, fmt.Errorf("-break-glass %q: want on or off", c.BreakGlass))
	}
	if c.OIDCIssuer != "" {
		if len(c.audiences()) == 0 {
			errs = append(errs, errors.New("single sign-on needs TOLLGATE_OIDC_CLIENT_ID, TOLLGATE_OIDC_CLI_CLIENT_ID or TOLLGATE_OIDC_AUDIENCES (the accepted token audiences)"))
		}
		if _, err := identity.ParseGroupRoles(c.OIDCRoles); err != nil {
			errs = append(errs, fmt.Errorf("-oidc-roles: %w", err))
		}
		if c.OIDCClockSkew < 0 || c.OIDCClockSkew > jwtauth.MaxClockSkew {
			errs = append(errs, fmt.Errorf("-oidc-clock-skew must be between 0 and %s", jwtauth.MaxClockSkew))
		}
		if c.OIDCRedirectURL != "" && (c.OIDCClientID == "" || c.OIDCClientSecret == "") {
			errs = append(errs, errors.New("web login (-oidc-redirect-url) needs TOLLGATE_OIDC_CLIENT_ID and TOLLGATE_OIDC_CLIENT_SECRET"))
		}
	}
	if _, err := c.proxies(); err != nil {
		errs = append(errs, err)
	}
	if c.TokenUseFlush < time.Second {
		errs = append(errs, errors.New("-token-use-flush must be at least 1s"))
	}
	return errors.Join(errs...)
}

func (c *IdentityConfig) audiences() []string {
	var out []string
	for _, a := range append([]string{c.OIDCClientID, c.OIDCCLIClientID}, strings.Split(c.OIDCAudiences, ",")...) {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

func (c *IdentityConfig) proxies() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range strings.Split(c.TrustedProxies, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("-trusted-proxies: %w", err)
		}
		out = append(out, p)
	}
	return out, nil
}

// secretEnv returns the secret setting name from the environment, or from
// the file named by name+"_FILE" (a mounted secret); setting both is an
// error. A file's trailing new line is dropped.
func secretEnv(getenv func(string) string, name string) (string, error) {
	v, file := getenv(name), getenv(name+"_FILE")
	switch {
	case v != "" && file != "":
		return "", fmt.Errorf("set %s or %s_FILE, not both", name, name)
	case file == "":
		return v, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("%s_FILE: %w", name, err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// identityParts are the admin API's authentication pieces.
type identityParts struct {
	dir   *identity.Directory
	authn *identity.Authenticator
	guard *access.Guard
	login rpc.LoginConfig
	// web is the console's login (nil unless -oidc-redirect-url is set).
	web *weblogin.Handler
}

// newIdentity loads the admin principals and builds the access guard.
func (s *Server) newIdentity(ctx context.Context, st store.Store, principals store.Principals, audit store.AuditLog) (*identityParts, error) {
	c := &s.cfg.Identity
	dir := identity.NewDirectory(principals, s.log, time.Now)
	if err := dir.Load(ctx); err != nil {
		return nil, err
	}
	opts := identity.Options{AdminToken: s.cfg.AdminToken, BreakGlassOff: c.BreakGlass == "off", Keys: s.keyPrincipal}
	login := rpc.LoginConfig{}
	if c.OIDCIssuer != "" {
		roles, err := identity.ParseGroupRoles(c.OIDCRoles)
		if err != nil {
			return nil, err
		}
		opts.OIDC = &identity.OIDCConfig{Issuer: c.OIDCIssuer, Audiences: c.audiences(), GroupsClaim: c.OIDCGroupsClaim,
			GroupRoles: roles, ClockSkew: c.OIDCClockSkew}
		login = rpc.LoginConfig{Issuer: c.OIDCIssuer, CLIClientID: c.OIDCCLIClientID, Scopes: strings.Fields(c.OIDCScopes)}
	}
	authn, err := identity.NewAuthenticator(dir, opts)
	if err != nil {
		return nil, err
	}
	var web *weblogin.Handler
	if c.OIDCIssuer != "" && c.OIDCRedirectURL != "" {
		if web, err = weblogin.New(weblogin.Config{Issuer: c.OIDCIssuer, ClientID: c.OIDCClientID, ClientSecret: c.OIDCClientSecret,
			RedirectURL: c.OIDCRedirectURL, Scopes: strings.Fields(c.OIDCScopes), TTL: c.SessionTTL, Sealer: s.sealer,
			Principal: authn.UserPrincipal, Log: s.log}); err != nil {
			return nil, err
		}
		authn.SetSessions(web)
	}
	proxies, _ := c.proxies()
	guard := access.NewGuard(authn, rpc.StoreLookup{Store: st}, access.WithRecorder(rpc.NewAuditor(audit, s.log)),
		access.WithTrustedProxies(proxies), access.WithLogger(s.log), access.WithErrorRenderer(rpc.ErrorRenderer(s.log)))
	return &identityParts{dir: dir, authn: authn, guard: guard, login: login, web: web}, nil
}

// newCallers loads the trusted issuers of caller JWTs; nil when none are configured.
func (s *Server) newCallers() (*callerauth.Authenticator, error) {
	if s.cfg.Identity.CallerJWTConfig == "" {
		return nil, nil
	}
	return callerauth.Load(s.cfg.Identity.CallerJWTConfig, callerauth.Options{Teams: func(id string) bool {
		_, ok := s.registry.Team(id)
		return ok
	}})
}

// keyPrincipal checks a virtual key for UsageService reads.
func (s *Server) keyPrincipal(ctx context.Context, secret string) (string, string, error) {
	k, err := s.engine.Authenticate(ctx, &gateway.Call{RequestID: gateway.RequestIDFrom(ctx), Credential: secret})
	if errors.Is(err, gateway.ErrUnauthenticated) {
		// The engine's reason ("unknown API key", "was revoked"), said once.
		reason := strings.TrimPrefix(err.Error(), gateway.ErrUnauthenticated.Error()+": ")
		return "", "", fmt.Errorf("%w: %s", access.ErrUnauthenticated, reason)
	}
	if err != nil {
		return "", "", err // not a refusal of the key (e.g. its state cannot be confirmed now)
	}
	return k.ID, k.TeamID, nil
}

// watchIdentity applies the store's changes of principals to the
// directory until ctx is done.
func (s *Server) watchIdentity(ctx context.Context) {
	err := s.store.Watch(ctx, func(c store.Change) {
		if err := s.identity.dir.Apply(ctx, c); err != nil && ctx.Err() == nil {
			s.log.Error("identity: applying change failed", "kind", c.Kind, "id", c.ID, "err", err)
		}
	})
	if err != nil && !errors.Is(err, context.Canceled) && ctx.Err() == nil {
		s.log.Error("identity: watch stopped", "err", err)
	}
}
