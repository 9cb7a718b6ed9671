// Package callerauth admits callers of the inference APIs by a JWT of a
// trusted issuer instead of a virtual key: Kubernetes service-account
// tokens (through the cluster's OIDC issuer), SPIFFE JWT-SVIDs (through
// SPIRE's OIDC discovery provider or its JWKS), an identity provider's
// tokens. Rules on the token's claims map it to a team, a service, an end
// user and the models it may use; the request then goes through the same
// budgets, rate limits, guardrails and records as one with a key of that
// team and service.
//
// The file (TOLLGATE_CALLER_JWT_CONFIG, YAML or JSON) looks like:
//
//	issuers:
//	  - name: prod-cluster            # recorded as the key id "jwt:prod-cluster"
//	    issuer: https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE
//	    audiences: [tollgate]         # the projected token's audience
//	    rules:
//	      - match:                    # every claim must match; * is a wildcard
//	          sub: "system:serviceaccount:batch:*"
//	        team: batch
//	        service_claim: /kubernetes.io/serviceaccount/name
//	        models: [gpt-4o-mini]
//
// A team opts in by being named by a rule; the first rule that matches
// wins; a token no rule admits, from an issuer not listed, or that fails
// verification is refused as unauthenticated. Tokens are verified locally
// from cached key sets (package jwtauth): no call leaves the gateway per
// request.
package callerauth

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/tollgate-dev/tollgate/service/jwtauth"
	"github.com/tollgate-dev/tollgate/service/registry"
	"github.com/tollgate-dev/tollgate/service/store"
)

// Config is the caller-JWT configuration file.
type Config struct {
	Issuers []IssuerConfig `json:"issuers"`
}

// IssuerConfig is a trusted issuer and its rules.
type IssuerConfig struct {
	// Name names the issuer in records: requests it admits are recorded
	// with the key id "jwt:<name>".
	Name string `json:"name"`
	// Issuer is the "iss" its tokens carry; its OpenID Connect discovery
	// document gives the key set unless JWKSURL does.
	Issuer string `json:"issuer"`
	// JWKSURL is the key set's URL when the issuer has no discovery document.
	JWKSURL string `json:"jwks_url,omitempty"`
	// Audiences are the accepted "aud" values (one is required).
	Audiences []string `json:"audiences"`
	// ClockSkew is tolerated on exp, nbf and iat ("1m" by default, at most "5m").
	ClockSkew string `json:"clock_skew,omitempty"`
	// Rules map tokens to teams; the first that matches wins.
	Rules []Rule `json:"rules"`
}

// Rule maps the tokens whose claims match to a caller identity.
type Rule struct {
	// Match holds claim → pattern; every one must match a string claim
	// (or an element of a list claim). A pattern's * matches any text.
	// Claims are named as in jwtauth.Token.Claim: "sub", or a path into
	// nested objects, "/kubernetes.io/namespace".
	Match map[string]string `json:"match"`
	// Team is the team charged (required; it must exist).
	Team string `json:"team"`
	// Service is the service, or ServiceClaim the claim holding it.
	Service      string `json:"service,omitempty"`
	ServiceClaim string `json:"service_claim,omitempty"`
	// EndUserClaim is the claim recorded as the end user ("sub" by default).
	EndUserClaim string `json:"end_user_claim,omitempty"`
	// Models are the models and routes the caller may use (all when empty).
	Models []string `json:"models,omitempty"`
	// Tags are recorded with every request, like a key's tags.
	Tags map[string]string `json:"tags,omitempty"`
}

// ErrNotAdmitted means a verified token matched no rule (or its rule's
// team does not exist).
var ErrNotAdmitted = errors.New("the token is not admitted by any rule of its issuer")

// ErrUntrustedIssuer means a token's issuer is not configured.
var ErrUntrustedIssuer = errors.New("the token's issuer is not trusted")

type issuer struct {
	cfg      IssuerConfig
	verifier *jwtauth.Verifier
}

// Authenticator admits JWT callers; it implements gateway.CallerAuthenticator.
type Authenticator struct {
	issuers map[string]*issuer // by "iss"
	teams   func(id string) bool
}

// Options configure New.
type Options struct {
	// Teams reports whether a team exists (the registry's view); nil
	// accepts every team.
	Teams func(id string) bool
	// Now is the clock of token times (default time.Now).
	Now func() time.Time
}

var slugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// Load reads a configuration file (YAML or JSON) and returns its authenticator.
func Load(path string, o Options) (*Authenticator, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("caller JWT configuration: %w", err)
	}
	var cfg Config
	if err := yaml.UnmarshalStrict(b, &cfg); err != nil {
		return nil, fmt.Errorf("caller JWT configuration %s: %w", path, err)
	}
	return New(cfg, o)
}

// New validates a configuration and returns its authenticator.
func New(cfg Config, o Options) (*Authenticator, error) {
	a := &Authenticator{issuers: map[string]*issuer{}, teams: o.Teams}
	names := map[string]bool{}
	for i, ic := range cfg.Issuers {
		where := fmt.Sprintf("issuers[%d]", i)
		if !slugRE.MatchString(ic.Name) || names[ic.Name] {
			return nil, fmt.Errorf("%s: name %q must be a unique slug", where, ic.Name)
		}
		names[ic.Name] = true
		if _, dup := a.issuers[ic.Issuer]; dup {
			return nil, fmt.Errorf("%s: issuer %s is listed twice", where, ic.Issuer)
		}
		var skew time.Duration
		if ic.ClockSkew != "" {
			d, err := time.ParseDuration(ic.ClockSkew)
			if err != nil {
				return nil, fmt.Errorf("%s: clock_skew: %w", where, err)
			}
			skew = d
		}
		v, err := jwtauth.New(jwtauth.Config{Issuer: ic.Issuer, JWKSURL: ic.JWKSURL, Audiences: ic.Audiences, ClockSkew: skew, Now: o.Now})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		if len(ic.Rules) == 0 {
			return nil, fmt.Errorf("%s: at least one rule is required", where)
		}
		for j, r := range ic.Rules {
			rw := fmt.Sprintf("%s.rules[%d]", where, j)
			if !slugRE.MatchString(r.Team) {
				return nil, fmt.Errorf("%s: team %q must be a team id", rw, r.Team)
			}
			if r.Service != "" && r.ServiceClaim != "" {
				return nil, fmt.Errorf("%s: service or service_claim, not both", rw)
			}
			if r.Service != "" && !slugRE.MatchString(r.Service) {
				return nil, fmt.Errorf("%s: service %q must be a slug", rw, r.Service)
			}
		}
		a.issuers[ic.Issuer] = &issuer{cfg: ic, verifier: v}
	}
	return a, nil
}

// AuthenticateJWT implements gateway.CallerAuthenticator.
func (a *Authenticator) AuthenticateJWT(ctx context.Context, raw string) (*registry.Key, error) {
	iss, ok := a.issuers[jwtauth.UnverifiedIssuer(raw)]
	if !ok {
		return nil, ErrUntrustedIssuer
	}
	t, err := iss.verifier.Verify(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("caller token of %s: %w", iss.cfg.Name, err)
	}
	for _, r := range iss.cfg.Rules {
		if !matches(t, r.Match) {
			continue
		}
		if a.teams != nil && !a.teams(r.Team) {
			return nil, fmt.Errorf("%w: team %q of the matching rule does not exist", ErrNotAdmitted, r.Team)
		}
		service := r.Service
		if r.ServiceClaim != "" {
			service = t.String(r.ServiceClaim)
			if !slugRE.MatchString(service) {
				return nil, fmt.Errorf("%w: claim %s is not a service id", ErrNotAdmitted, r.ServiceClaim)
			}
		}
		endUser := t.Subject
		if r.EndUserClaim != "" {
			endUser = t.String(r.EndUserClaim)
		}
		k := store.Key{ID: "jwt:" + iss.cfg.Name, Name: "caller JWT of " + iss.cfg.Name, TeamID: r.Team, ServiceID: service,
			AllowedModels: r.Models, Tags: r.Tags}
		return registry.NewCallerKey(k, endUser), nil
	}
	return nil, ErrNotAdmitted
}

// matches reports whether every pattern matches its claim.
func matches(t *jwtauth.Token, match map[string]string) bool {
	for claim, pattern := range match {
		ok := false
		for _, v := range t.Strings(claim) {
			if glob(pattern, v) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// glob reports whether s matches pattern, where * matches any text.
func glob(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}
