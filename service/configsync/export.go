package configsync

import (
	"slices"
	"sort"

	"github.com/goccy/go-yaml"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/service/configfile"
)

// Export converts a gateway's state into a configuration that applies to
// it with no changes. Secrets are not part of it: provider credentials
// keep their references (a provider with a stored credential is exported
// without one, and a comment-free file cannot say more, so it is listed
// in the returned notes); alert webhook URLs become env: references named
// after the webhook, which must be set before applying the file elsewhere.
func Export(s *State) (*configfile.Config, []string) {
	var cfg configfile.Config
	var notes []string
	for _, n := range sortedNames(s.res[KindProvider]) {
		p := s.res[KindProvider][n].msg.(*tollgatev1.Provider)
		cfg.Providers = append(cfg.Providers, providerFile(p))
		if p.GetCredentialRef() == "" {
			notes = append(notes, "provider "+p.GetId()+" has no credential reference (a stored credential cannot be exported): add one before applying the file")
		}
	}
	for _, n := range sortedNames(s.res[KindModel]) {
		cfg.Models = append(cfg.Models, modelFile(s.res[KindModel][n].msg.(*tollgatev1.Model)))
	}
	for _, n := range sortedNames(s.res[KindRoute]) {
		cfg.Routes = append(cfg.Routes, routeFile(s.res[KindRoute][n].msg.(*tollgatev1.Route)))
	}
	services := map[string][]string{}
	addService := func(team, svc string) {
		if svc != "" && !slices.Contains(services[team], svc) {
			services[team] = append(services[team], svc)
		}
	}
	for _, n := range sortedNames(s.res[KindKey]) {
		k := keyFile(s.res[KindKey][n].msg.(*tollgatev1.VirtualKey))
		cfg.Keys = append(cfg.Keys, k)
		addService(k.Team, k.Service)
	}
	for _, n := range sortedNames(s.res[KindBudget]) {
		b := budgetFile(s.res[KindBudget][n].msg.(*tollgatev1.Budget))
		cfg.Budgets = append(cfg.Budgets, b)
		addService(b.Team, b.Service)
	}
	for _, n := range sortedNames(s.res[KindTeam]) {
		t := teamFile(s.res[KindTeam][n].msg.(*tollgatev1.Team))
		t.Services = services[t.ID]
		sort.Strings(t.Services)
		cfg.Teams = append(cfg.Teams, t)
	}
	for _, n := range sortedNames(s.res[KindRateLimit]) {
		cfg.RateLimits = append(cfg.RateLimits, rateLimitFile(s.res[KindRateLimit][n].msg.(*tollgatev1.RateLimit)))
	}
	for _, n := range sortedNames(s.res[KindGuardrail]) {
		g, err := guardrailFile(s.res[KindGuardrail][n].msg.(*tollgatev1.GuardrailPolicy), cfg.Teams)
		if err != nil {
			notes = append(notes, err.Error()+": left out")
			continue
		}
		cfg.Guardrails = append(cfg.Guardrails, g)
	}
	for _, n := range sortedNames(s.res[KindAlert]) {
		a := alertFile(s.res[KindAlert][n].msg.(*tollgatev1.AlertWebhook))
		cfg.Alerts = append(cfg.Alerts, a)
		notes = append(notes, "alert webhook "+a.ID+": its URL is write-only; set "+a.URL[len("env:"):]+" (or change the reference) before applying the file")
	}
	return &cfg, notes
}

// Marshal writes a configuration as YAML.
func Marshal(cfg *configfile.Config) ([]byte, error) {
	return yaml.MarshalWithOptions(cfg, yaml.UseJSONMarshaler(), yaml.IndentSequence(true))
}
