package configfile

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/service/credref"
)

var slugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// Validate checks a loaded configuration offline: enumerations, amounts,
// durations, credential references (literals are refused), unique ids and
// every reference between resources. It returns every problem found, each
// prefixed with the file:line of the resource.
func Validate(l *Loaded) error {
	v := &validator{l: l}
	v.run()
	return errors.Join(v.errs...)
}

type validator struct {
	l    *Loaded
	errs []error
}

func (v *validator) fail(section string, i int, what string, format string, args ...any) {
	at := v.l.Where(section, i)
	if at == "" {
		at = fmt.Sprintf("%s[%d]", section, i)
	}
	v.errs = append(v.errs, fmt.Errorf("%s: %s %s: %s", at, singular(section), what, fmt.Sprintf(format, args...)))
}

func singular(section string) string {
	switch section {
	case "rate_limits":
		return "rate limit"
	case "guardrails":
		return "guardrail policy"
	case "alerts":
		return "alert webhook"
	}
	return strings.TrimSuffix(section, "s")
}

// ProviderTypes lists the provider types, from the API's enumeration.
func ProviderTypes() []string {
	var out []string
	values := tollgatev1.ProviderType(0).Descriptor().Values()
	for i := 1; i < values.Len(); i++ {
		out = append(out, strings.ToLower(strings.TrimPrefix(string(values.Get(i).Name()), "PROVIDER_TYPE_")))
	}
	return out
}

// oneOf checks an enumeration value ("" allowed when optional).
func oneOf(val string, optional bool, allowed ...string) error {
	if val == "" && optional {
		return nil
	}
	if !slices.Contains(allowed, val) {
		return fmt.Errorf("%q is not one of %s", val, strings.Join(allowed, ", "))
	}
	return nil
}

// CheckReference validates a credential reference and refuses literals.
func CheckReference(ref string) error {
	if _, err := credref.Parse(ref); err != nil {
		scheme, _, ok := strings.Cut(ref, ":")
		if !ok || !slices.Contains(credref.Schemes, scheme) {
			return fmt.Errorf("must be a reference (%s), never a literal secret", strings.Join(credref.Schemes, ":, ")+":")
		}
		return err
	}
	return nil
}

func (v *validator) run() {
	c := &v.l.Config
	providers := map[string]bool{}
	for i, p := range c.Providers {
		q := fmt.Sprintf("%q", p.ID)
		if !slugRE.MatchString(p.ID) {
			v.fail("providers", i, q, "id must be lower-case letters, digits and '-'")
		}
		if providers[p.ID] {
			v.fail("providers", i, q, "declared twice")
		}
		providers[p.ID] = true
		if err := oneOf(p.Type, false, ProviderTypes()...); err != nil {
			v.fail("providers", i, q, "type %v", err)
		}
		if p.Credential != "" {
			if err := CheckReference(p.Credential); err != nil {
				v.fail("providers", i, q, "credential %v", err)
			}
		}
	}
	models := map[string]bool{}
	for i, m := range c.Models {
		q := fmt.Sprintf("%q", m.Name)
		if m.Name == "" || strings.ContainsAny(m.Name, " \t\n") {
			v.fail("models", i, q, "name must be non-empty without spaces")
		}
		if models[m.Name] {
			v.fail("models", i, q, "declared twice")
		}
		models[m.Name] = true
		if !providers[m.Provider] {
			v.fail("models", i, q, "provider %q is not declared", m.Provider)
		}
		if m.Pricing != nil {
			for _, a := range []USD{m.Pricing.InputPerMillion, m.Pricing.OutputPerMillion, m.Pricing.CachedInputPerMillion, m.Pricing.PerRequest} {
				if _, err := a.Nanos(); err != nil {
					v.fail("models", i, q, "pricing: %v", err)
				}
			}
		}
	}
	teams := map[string][]string{}
	for i, t := range c.Teams {
		q := fmt.Sprintf("%q", t.ID)
		if !slugRE.MatchString(t.ID) {
			v.fail("teams", i, q, "id must be lower-case letters, digits and '-'")
		}
		if _, dup := teams[t.ID]; dup {
			v.fail("teams", i, q, "declared twice")
		}
		teams[t.ID] = t.Services
		for j, s := range t.Services {
			if s == "" || slices.Contains(t.Services[:j], s) {
				v.fail("teams", i, q, "service %q is empty or declared twice", s)
			}
		}
	}
	checkTeamService := func(section string, i int, q, team, service string) {
		svcs, ok := teams[team]
		switch {
		case team == "":
			v.fail(section, i, q, "team is required")
		case !ok:
			v.fail(section, i, q, "team %q is not declared", team)
		case service != "" && !slices.Contains(svcs, service):
			v.fail(section, i, q, "service %q is not declared in team %q", service, team)
		}
	}
	routes := map[string]bool{}
	for i, r := range c.Routes {
		q := fmt.Sprintf("%q", r.Name)
		if r.Name == "" || routes[r.Name] {
			v.fail("routes", i, q, "name is empty or declared twice")
		}
		routes[r.Name] = true
		if err := oneOf(r.Strategy, false, "fallback", "weighted", "latency", "cost", "least_busy"); err != nil {
			v.fail("routes", i, q, "strategy %v", err)
		}
		if len(r.Targets) == 0 {
			v.fail("routes", i, q, "needs at least one target")
		}
		for j, t := range r.Targets {
			switch {
			case t.Model == "":
				v.fail("routes", i, q, "target %d: model is required", j)
			case t.Provider == "" && !models[t.Model]:
				v.fail("routes", i, q, "target %d: model %q is not declared (or name its provider)", j, t.Model)
			case t.Provider != "" && !providers[t.Provider]:
				v.fail("routes", i, q, "target %d: provider %q is not declared", j, t.Provider)
			}
			for _, a := range []USD{t.InputPerMillion, t.OutputPerMillion} {
				if _, err := a.Nanos(); err != nil {
					v.fail("routes", i, q, "target %d: %v", j, err)
				}
			}
			v.duration("routes", i, q, "target timeout", t.Timeout)
		}
		for j, cond := range r.Conditions {
			if cond.Team != "" {
				checkTeamService("routes", i, q, cond.Team, cond.Service)
			}
			for _, ix := range cond.Targets {
				if ix < 0 || int(ix) >= len(r.Targets) {
					v.fail("routes", i, q, "condition %d: target index %d is out of range", j, ix)
				}
			}
		}
		for name, d := range map[string]Duration{"timeout": r.Timeout, "first_chunk_timeout": r.FirstChunkTimeout, "chunk_timeout": r.ChunkTimeout} {
			v.duration("routes", i, q, name, d)
		}
		if r.Retry != nil {
			v.duration("routes", i, q, "retry.backoff_base", r.Retry.BackoffBase)
			v.duration("routes", i, q, "retry.backoff_max", r.Retry.BackoffMax)
		}
		if r.Breaker != nil {
			v.duration("routes", i, q, "breaker.cooldown", r.Breaker.Cooldown)
		}
		v.cache("routes", i, q, r.Cache, true)
	}
	keys := map[string]bool{}
	for i, k := range c.Keys {
		q := fmt.Sprintf("%q", k.Team+"/"+k.Name)
		if k.Name == "" {
			v.fail("keys", i, q, "name is required")
		}
		if keys[k.Team+"/"+k.Name] {
			v.fail("keys", i, q, "declared twice")
		}
		keys[k.Team+"/"+k.Name] = true
		checkTeamService("keys", i, q, k.Team, k.Service)
		for _, m := range k.AllowedModels {
			if !models[m] && !routes[m] {
				v.fail("keys", i, q, "allowed model %q is neither a declared model nor a route", m)
			}
		}
		if k.ExpireTime != "" {
			if _, err := time.Parse(time.RFC3339, k.ExpireTime); err != nil {
				v.fail("keys", i, q, "expire_time %q is not an RFC 3339 time", k.ExpireTime)
			}
		}
		if k.Cache != nil && k.Cache.Namespace != "" && k.Cache.Namespace != "team" && k.Cache.Namespace != "key" {
			v.fail("keys", i, q, "cache namespace must be team or key")
		}
		v.cache("keys", i, q, k.Cache, false)
		if k.SecretTo != "" && (!strings.HasPrefix(k.SecretTo, "file:") || k.SecretTo == "file:") {
			v.fail("keys", i, q, "secret_to must be file:PATH")
		}
	}
	ids := map[string]bool{}
	for i, b := range c.Budgets {
		q := fmt.Sprintf("%q", b.ID)
		if !slugRE.MatchString(b.ID) || ids[b.ID] {
			v.fail("budgets", i, q, "id is invalid or declared twice")
		}
		ids[b.ID] = true
		checkTeamService("budgets", i, q, b.Team, b.Service)
		if b.Key != "" && !keys[b.Team+"/"+b.Key] {
			v.fail("budgets", i, q, "key %q is not declared in team %q", b.Key, b.Team)
		}
		if b.Key != "" && b.Service != "" {
			v.fail("budgets", i, q, "give a service or a key, not both")
		}
		if err := oneOf(b.Period, false, "daily", "weekly", "monthly", "lifetime"); err != nil {
			v.fail("budgets", i, q, "period %v", err)
		}
		if b.TimeZone != "" {
			if _, err := time.LoadLocation(b.TimeZone); err != nil {
				v.fail("budgets", i, q, "time zone %q is unknown", b.TimeZone)
			}
		}
		n, err := b.Limit.Nanos()
		if err != nil {
			v.fail("budgets", i, q, "limit: %v", err)
		}
		if n == 0 && b.LimitTokens == 0 {
			v.fail("budgets", i, q, "needs a limit or limit_tokens")
		}
		for _, th := range b.AlertThresholds {
			if th <= 0 || th > 1000 {
				v.fail("budgets", i, q, "alert threshold %d is not a percentage in 1..1000", th)
			}
		}
	}
	ids = map[string]bool{}
	for i, r := range c.RateLimits {
		q := fmt.Sprintf("%q", r.ID)
		if !slugRE.MatchString(r.ID) || ids[r.ID] {
			v.fail("rate_limits", i, q, "id is invalid or declared twice")
		}
		ids[r.ID] = true
		checkTeamService("rate_limits", i, q, r.Team, "")
		if r.Key != "" && !keys[r.Team+"/"+r.Key] {
			v.fail("rate_limits", i, q, "key %q is not declared in team %q", r.Key, r.Team)
		}
		if r.RequestsPerMinute < 0 || r.TokensPerMinute < 0 || r.MaxConcurrent < 0 || r.RequestsPerMinute+r.TokensPerMinute+r.MaxConcurrent == 0 {
			v.fail("rate_limits", i, q, "needs at least one positive limit")
		}
	}
	ids = map[string]bool{}
	for i, p := range c.Guardrails {
		q := fmt.Sprintf("%q", p.ID)
		if !slugRE.MatchString(p.ID) || ids[p.ID] {
			v.fail("guardrails", i, q, "id is invalid or declared twice")
		}
		ids[p.ID] = true
		a := p.Attach
		set := 0
		for _, s := range []string{a.Team, a.Service, a.Key, a.Route} {
			if s != "" {
				set++
			}
		}
		if set != 1 {
			v.fail("guardrails", i, q, "attach needs exactly one of team, service, key, route")
		}
		switch {
		case a.Team != "":
			checkTeamService("guardrails", i, q, a.Team, "")
		case a.Service != "":
			team, svc, _ := strings.Cut(a.Service, "/")
			if svc == "" {
				v.fail("guardrails", i, q, "attach.service must be team/service")
			} else {
				checkTeamService("guardrails", i, q, team, svc)
			}
		case a.Key != "":
			if !keys[a.Key] {
				v.fail("guardrails", i, q, "attach.key %q (team/name) is not declared", a.Key)
			}
		case a.Route != "":
			if !routes[a.Route] && !models[a.Route] {
				v.fail("guardrails", i, q, "attach.route %q is not a declared route or model", a.Route)
			}
		}
		if len(p.Guardrails) == 0 {
			v.fail("guardrails", i, q, "needs at least one guardrail")
		}
		names := map[string]bool{}
		for _, g := range p.Guardrails {
			if g.Name == "" || names[g.Name] {
				v.fail("guardrails", i, q, "guardrail name %q is empty or used twice", g.Name)
			}
			names[g.Name] = true
			if _, _, err := g.KindConfig(); err != nil {
				v.fail("guardrails", i, q, "guardrail %q: %v", g.Name, err)
			}
			if err := oneOf(g.Stage, true, "input", "output", "both"); err != nil {
				v.fail("guardrails", i, q, "guardrail %q: stage %v", g.Name, err)
			}
			if err := oneOf(g.Mode, true, "validate", "mutate"); err != nil {
				v.fail("guardrails", i, q, "guardrail %q: mode %v", g.Name, err)
			}
			if err := oneOf(g.OnMatch, true, "block", "flag"); err != nil {
				v.fail("guardrails", i, q, "guardrail %q: on_match %v", g.Name, err)
			}
			for _, r := range g.Scope {
				if err := oneOf(r, false, "system", "user", "assistant", "tool"); err != nil {
					v.fail("guardrails", i, q, "guardrail %q: scope %v", g.Name, err)
				}
			}
		}
	}
	ids = map[string]bool{}
	for i, a := range c.Alerts {
		q := fmt.Sprintf("%q", a.ID)
		if !slugRE.MatchString(a.ID) || ids[a.ID] {
			v.fail("alerts", i, q, "id is invalid or declared twice")
		}
		ids[a.ID] = true
		if !strings.HasPrefix(a.URL, "env:") && !strings.HasPrefix(a.URL, "file:") {
			v.fail("alerts", i, q, "url must be a reference (env:NAME or file:/path), never a literal URL")
		} else if err := CheckReference(a.URL); err != nil {
			v.fail("alerts", i, q, "url %v", err)
		}
		if a.Secret != "" {
			if !strings.HasPrefix(a.Secret, "env:") && !strings.HasPrefix(a.Secret, "file:") {
				v.fail("alerts", i, q, "secret must be a reference (env:NAME or file:/path), never a literal")
			} else if err := CheckReference(a.Secret); err != nil {
				v.fail("alerts", i, q, "secret %v", err)
			}
		}
		if a.SecretTo != "" && (!strings.HasPrefix(a.SecretTo, "file:") || a.SecretTo == "file:") {
			v.fail("alerts", i, q, "secret_to must be file:PATH")
		}
		for _, k := range a.Kinds {
			if err := oneOf(k, false, "budget_threshold", "spend_velocity", "credential_refresh"); err != nil {
				v.fail("alerts", i, q, "kind %v", err)
			}
		}
		if a.Team != "" {
			checkTeamService("alerts", i, q, a.Team, "")
		}
	}
}

func (v *validator) duration(section string, i int, q, name string, d Duration) {
	if _, err := d.Value(); err != nil {
		v.fail(section, i, q, "%s: %v", name, err)
	}
}

func (v *validator) cache(section string, i int, q string, c *CachePolicy, route bool) {
	if c == nil {
		return
	}
	if err := oneOf(c.Mode, true, "off", "exact", "semantic"); err != nil {
		v.fail(section, i, q, "cache mode %v", err)
	}
	if c.Threshold < 0 || c.Threshold > 1 {
		v.fail(section, i, q, "cache threshold must be in (0, 1]")
	}
	v.duration(section, i, q, "cache ttl", c.TTL)
	if route && c.Namespace != "" && c.Namespace != "team" && c.Namespace != "key" && !strings.HasPrefix(c.Namespace, "shared:") {
		v.fail(section, i, q, "cache namespace must be team, key or shared:<name>")
	}
}
