package app

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"
	gmoney "google.golang.org/genproto/googleapis/type/money"
	"google.golang.org/protobuf/proto"

	tollgate "github.com/tollgate-dev/tollgate/clients/go"
	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/internal/money"
)

// This file holds the governance commands (budgets, limits, alerts) and
// the dispatch of every command beyond keys, teams, providers, models and
// usage report: adminCommand parses, executeAdmin calls, adminTable prints.

// adminCommand registers the flags of the command name on fs and returns
// its request builder, or nil for an unknown command.
func adminCommand(name string, fs *flag.FlagSet, getenv func(string) string, now time.Time) func([]string) (proto.Message, error) {
	switch name {
	case "budgets set":
		return budgetsSet(fs)
	case "budgets list":
		req := &tollgatev1.ListBudgetsRequest{}
		fs.StringVar(&req.TeamId, "team", "", "only this team's budgets")
		return noOperands(req)
	case "budgets status":
		req := &tollgatev1.GetBudgetStatusRequest{}
		fs.StringVar(&req.TeamId, "team", "", "only this team's budgets")
		return noOperands(req)
	case "budgets delete":
		return deleteCommand(fs, "BUDGET_ID", func(id, etag string) proto.Message { return &tollgatev1.DeleteBudgetRequest{Id: id, Etag: etag} })
	case "limits set":
		return limitsSet(fs)
	case "limits list":
		req := &tollgatev1.ListRateLimitsRequest{}
		fs.StringVar(&req.TeamId, "team", "", "only this team's limits")
		return noOperands(req)
	case "limits delete":
		return deleteCommand(fs, "LIMIT_ID", func(id, etag string) proto.Message { return &tollgatev1.DeleteRateLimitRequest{Id: id, Etag: etag} })
	case "alerts add":
		return alertsAdd(fs, getenv)
	case "alerts list":
		return noOperands(&tollgatev1.ListAlertWebhooksRequest{})
	case "alerts delete":
		return deleteCommand(fs, "WEBHOOK_ID", func(id, etag string) proto.Message { return &tollgatev1.DeleteAlertWebhookRequest{Id: id, Etag: etag} })
	}
	if b := routeCommand(name, fs); b != nil {
		return b
	}
	if b := catalogCommand(name, fs, getenv); b != nil {
		return b
	}
	if b := auditCommand(name, fs, now); b != nil {
		return b
	}
	return identityCommand(name, fs)
}

// executeAdmin sends the requests of the commands adminCommand knows.
func executeAdmin(ctx context.Context, c *tollgate.Client, req proto.Message) (proto.Message, error) {
	switch r := req.(type) {
	case *tollgatev1.SetBudgetRequest:
		return msg(c.Admin.SetBudget(ctx, connect.NewRequest(r)))
	case *tollgatev1.ListBudgetsRequest:
		return msg(c.Admin.ListBudgets(ctx, connect.NewRequest(r)))
	case *tollgatev1.GetBudgetStatusRequest:
		return msg(c.Usage.GetBudgetStatus(ctx, connect.NewRequest(r)))
	case *tollgatev1.DeleteBudgetRequest:
		return msg(c.Admin.DeleteBudget(ctx, connect.NewRequest(r)))
	case *tollgatev1.SetRateLimitRequest:
		return msg(c.Admin.SetRateLimit(ctx, connect.NewRequest(r)))
	case *tollgatev1.ListRateLimitsRequest:
		return msg(c.Admin.ListRateLimits(ctx, connect.NewRequest(r)))
	case *tollgatev1.DeleteRateLimitRequest:
		return msg(c.Admin.DeleteRateLimit(ctx, connect.NewRequest(r)))
	case *tollgatev1.CreateAlertWebhookRequest:
		return msg(c.Admin.CreateAlertWebhook(ctx, connect.NewRequest(r)))
	case *tollgatev1.ListAlertWebhooksRequest:
		return msg(c.Admin.ListAlertWebhooks(ctx, connect.NewRequest(r)))
	case *tollgatev1.DeleteAlertWebhookRequest:
		return msg(c.Admin.DeleteAlertWebhook(ctx, connect.NewRequest(r)))
	case *tollgatev1.CreateRouteRequest:
		return msg(c.Admin.CreateRoute(ctx, connect.NewRequest(r)))
	case *tollgatev1.GetRouteRequest:
		return msg(c.Admin.GetRoute(ctx, connect.NewRequest(r)))
	case *tollgatev1.ListRoutesRequest:
		return msg(c.Admin.ListRoutes(ctx, connect.NewRequest(r)))
	case *tollgatev1.DeleteRouteRequest:
		return msg(c.Admin.DeleteRoute(ctx, connect.NewRequest(r)))
	case *tollgatev1.ListAdminAuditEventsRequest:
		return msg(c.Usage.ListAdminAuditEvents(ctx, connect.NewRequest(r)))
	case *tollgatev1.UpdateRouteRequest:
		return msg(c.Admin.UpdateRoute(ctx, connect.NewRequest(r)))
	case *tollgatev1.GetProviderRequest:
		return msg(c.Admin.GetProvider(ctx, connect.NewRequest(r)))
	case *tollgatev1.UpdateProviderRequest:
		return msg(c.Admin.UpdateProvider(ctx, connect.NewRequest(r)))
	case *tollgatev1.DeleteProviderRequest:
		return msg(c.Admin.DeleteProvider(ctx, connect.NewRequest(r)))
	case *tollgatev1.GetModelRequest:
		return msg(c.Admin.GetModel(ctx, connect.NewRequest(r)))
	case *tollgatev1.UpdateModelRequest:
		return msg(c.Admin.UpdateModel(ctx, connect.NewRequest(r)))
	case *tollgatev1.DeleteModelRequest:
		return msg(c.Admin.DeleteModel(ctx, connect.NewRequest(r)))
	case *tollgatev1.GetTeamRequest:
		return msg(c.Admin.GetTeam(ctx, connect.NewRequest(r)))
	}
	return executeIdentity(ctx, c, req)
}

// adminTable prints the responses of the commands adminCommand knows and
// reports whether it knew resp.
func adminTable(row func(...string), resp proto.Message, wide bool) bool {
	switch r := resp.(type) {
	case *tollgatev1.SetBudgetResponse:
		budgetRows(row, r.GetBudget())
	case *tollgatev1.ListBudgetsResponse:
		budgetRows(row, r.GetBudgets()...)
	case *tollgatev1.GetBudgetStatusResponse:
		budgetStatusRows(row, r.GetStatuses())
	case *tollgatev1.SetRateLimitResponse:
		limitRows(row, r.GetRateLimit())
	case *tollgatev1.ListRateLimitsResponse:
		limitRows(row, r.GetRateLimits()...)
	case *tollgatev1.CreateAlertWebhookResponse:
		webhookRows(row, r.GetWebhook())
		row("SIGNING SECRET", r.GetSecret()+"  (shown only once: the receiver verifies every alert with it)")
	case *tollgatev1.ListAlertWebhooksResponse:
		webhookRows(row, r.GetWebhooks()...)
	case *tollgatev1.CreateRouteResponse:
		routeRows(row, r.GetRoute())
	case *tollgatev1.GetRouteResponse:
		routeRows(row, r.GetRoute())
	case *tollgatev1.UpdateRouteResponse:
		routeRows(row, r.GetRoute())
	case *tollgatev1.GetProviderResponse:
		providerRows(row, wide, r.GetProvider())
	case *tollgatev1.UpdateProviderResponse:
		providerRows(row, wide, r.GetProvider())
	case *tollgatev1.GetModelResponse:
		modelRows(row, wide, r.GetModel())
	case *tollgatev1.UpdateModelResponse:
		modelRows(row, wide, r.GetModel())
	case *tollgatev1.GetTeamResponse:
		teamRows(row, wide, r.GetTeam())
	case *tollgatev1.ListRoutesResponse:
		routeRows(row, r.GetRoutes()...)
	case *tollgatev1.ListAdminAuditEventsResponse:
		auditRows(row, r)
	case *tollgatev1.DeleteBudgetResponse, *tollgatev1.DeleteRateLimitResponse,
		*tollgatev1.DeleteAlertWebhookResponse, *tollgatev1.DeleteRouteResponse,
		*tollgatev1.DeleteProviderResponse, *tollgatev1.DeleteModelResponse:
		row("deleted")
	default:
		return identityTable(row, resp) || policyTable(row, resp)
	}
	return true
}

// idOperand builds a request from the one ID operand; --id is accepted too.
func idOperand(fs *flag.FlagSet, what string, req func(id string) proto.Message) func([]string) (proto.Message, error) {
	var flagID string
	fs.StringVar(&flagID, "id", "", "the "+strings.ToLower(strings.TrimSuffix(what, "_ID"))+"'s id (or give it as the operand)")
	return func(ops []string) (proto.Message, error) {
		if flagID != "" && len(ops) == 0 {
			ops = []string{flagID}
		}
		id, err := oneOperand(ops, what)
		if err != nil {
			return nil, err
		}
		return req(id), nil
	}
}

// scopes maps --scope values to governance scopes.
var scopes = map[string]tollgatev1.GovernanceScope{
	"key":     tollgatev1.GovernanceScope_GOVERNANCE_SCOPE_KEY,
	"team":    tollgatev1.GovernanceScope_GOVERNANCE_SCOPE_TEAM,
	"service": tollgatev1.GovernanceScope_GOVERNANCE_SCOPE_SERVICE,
}

// periods maps --period values to budget periods.
var periods = map[string]tollgatev1.BudgetPeriod{
	"daily":    tollgatev1.BudgetPeriod_BUDGET_PERIOD_DAILY,
	"weekly":   tollgatev1.BudgetPeriod_BUDGET_PERIOD_WEEKLY,
	"monthly":  tollgatev1.BudgetPeriod_BUDGET_PERIOD_MONTHLY,
	"lifetime": tollgatev1.BudgetPeriod_BUDGET_PERIOD_LIFETIME,
}

// checkScope checks that the subject flags fit the scope: key needs --key,
// team needs --team, service needs --team and --service.
func checkScope(scope, team, service, key string) error {
	switch scope {
	case "key":
		if key == "" || service != "" {
			return usageErrorf("--scope key needs --key (and no --service)")
		}
	case "team":
		if team == "" || service != "" || key != "" {
			return usageErrorf("--scope team needs --team (and no --service or --key)")
		}
	case "service":
		if team == "" || service == "" || key != "" {
			return usageErrorf("--scope service needs --team and --service (and no --key)")
		}
	}
	return nil
}

func budgetsSet(fs *flag.FlagSet) func([]string) (proto.Message, error) {
	var id, scope, team, service, key, period, tz, usd, etag string
	var tokens int64
	var alertAt listFlag
	fs.StringVar(&id, "id", "", "the budget's id (required; setting an existing id replaces it)")
	fs.StringVar(&etag, "etag", "", "replace the budget only if it still has this etag")
	fs.StringVar(&scope, "scope", "", "key, team or service (required)")
	fs.StringVar(&team, "team", "", "the team, for team and service budgets")
	fs.StringVar(&service, "service", "", "the service, for service budgets")
	fs.StringVar(&key, "key", "", "the key id, for key budgets")
	fs.StringVar(&period, "period", "monthly", "daily, weekly, monthly or lifetime")
	fs.StringVar(&tz, "tz", "", "IANA time zone of the period boundaries, e.g. Europe/Paris (default UTC)")
	fs.StringVar(&usd, "usd", "", "the spend limit per period in USD, e.g. 5.00")
	fs.Int64Var(&tokens, "tokens", 0, "the token limit (input + output) per period")
	fs.Var(&alertAt, "alert-at", "spend percentages that send an alert, e.g. 50,80,100 (default 50,80,100)")
	return func(ops []string) (proto.Message, error) {
		if len(ops) == 1 && id == "" {
			id, ops = ops[0], nil
		}
		if len(ops) != 0 {
			return nil, usageErrorf("unexpected arguments %q", ops)
		}
		if id == "" {
			return nil, usageErrorf("--id is required")
		}
		sc, ok := scopes[scope]
		if !ok {
			return nil, usageErrorf("--scope %q: want key, team or service", scope)
		}
		if err := checkScope(scope, team, service, key); err != nil {
			return nil, err
		}
		p, ok := periods[period]
		if !ok {
			return nil, usageErrorf("--period %q: want daily, weekly, monthly or lifetime", period)
		}
		if tz != "" {
			if _, err := time.LoadLocation(tz); err != nil {
				return nil, usageErrorf("--tz %q: not an IANA time zone", tz)
			}
		}
		if usd == "" && tokens == 0 {
			return nil, usageErrorf("give a limit: --usd, --tokens or both")
		}
		if tokens < 0 {
			return nil, usageErrorf("--tokens must not be negative")
		}
		b := &tollgatev1.Budget{
			Id: id, Scope: sc, TeamId: team, ServiceId: service, KeyId: key, Period: p, TimeZone: tz, LimitTokens: tokens, Etag: etag,
		}
		if usd != "" {
			m, err := parseUSD(usd)
			if err != nil {
				return nil, usageErrorf("--usd: %v", err)
			}
			b.Limit = m
		}
		for _, a := range alertAt {
			n, err := strconv.ParseInt(strings.TrimSuffix(a, "%"), 10, 32)
			if err != nil || n < 1 || n > 1000 {
				return nil, usageErrorf("--alert-at %q: want percentages between 1 and 1000", a)
			}
			b.AlertThresholds = append(b.AlertThresholds, int32(n))
		}
		return &tollgatev1.SetBudgetRequest{Budget: b}, nil
	}
}

func limitsSet(fs *flag.FlagSet) func([]string) (proto.Message, error) {
	var id, scope, team, key, etag string
	var rpm, tpm, concurrency int64
	fs.StringVar(&id, "id", "", "the limit's id (required; setting an existing id replaces it)")
	fs.StringVar(&etag, "etag", "", "replace the limit only if it still has this etag")
	fs.StringVar(&scope, "scope", "", "key or team (required)")
	fs.StringVar(&team, "team", "", "the team, for team limits")
	fs.StringVar(&key, "key", "", "the key id, for key limits")
	fs.Int64Var(&rpm, "rpm", 0, "requests per minute")
	fs.Int64Var(&tpm, "tpm", 0, "tokens (input + output) per minute")
	fs.Int64Var(&concurrency, "concurrency", 0, "requests in flight at once")
	return func(ops []string) (proto.Message, error) {
		if len(ops) == 1 && id == "" {
			id, ops = ops[0], nil
		}
		if len(ops) != 0 {
			return nil, usageErrorf("unexpected arguments %q", ops)
		}
		if id == "" {
			return nil, usageErrorf("--id is required")
		}
		if scope != "key" && scope != "team" {
			return nil, usageErrorf("--scope %q: want key or team", scope)
		}
		if err := checkScope(scope, team, "", key); err != nil {
			return nil, err
		}
		if rpm < 0 || tpm < 0 || concurrency < 0 {
			return nil, usageErrorf("--rpm, --tpm and --concurrency must not be negative")
		}
		if rpm == 0 && tpm == 0 && concurrency == 0 {
			return nil, usageErrorf("give a limit: --rpm, --tpm or --concurrency")
		}
		return &tollgatev1.SetRateLimitRequest{RateLimit: &tollgatev1.RateLimit{
			Id: id, Scope: scopes[scope], TeamId: team, KeyId: key,
			RequestsPerMinute: rpm, TokensPerMinute: tpm, MaxConcurrent: concurrency, Etag: etag,
		}}, nil
	}
}

// alertKinds maps --kind values to alert kinds.
var alertKinds = map[string]tollgatev1.AlertKind{
	"budget-threshold": tollgatev1.AlertKind_ALERT_KIND_BUDGET_THRESHOLD,
	"spend-velocity":   tollgatev1.AlertKind_ALERT_KIND_SPEND_VELOCITY,
}

// alertsAdd reads the webhook URL from the environment or a file only: it
// is the receiver's secret, so it never appears in flags, output or errors.
func alertsAdd(fs *flag.FlagSet, getenv func(string) string) func([]string) (proto.Message, error) {
	var urlEnv, urlFile, team string
	var kinds listFlag
	fs.StringVar(&urlEnv, "url-env", "", "name of the environment variable holding the webhook URL")
	fs.StringVar(&urlFile, "url-file", "", "file holding the webhook URL (- for standard input)")
	fs.StringVar(&team, "team", "", "only alerts about this team")
	fs.Var(&kinds, "kind", "budget-threshold, spend-velocity (comma-separated; default all)")
	return func(ops []string) (proto.Message, error) {
		id, err := oneOperand(ops, "WEBHOOK_ID")
		if err != nil {
			return nil, err
		}
		var url string
		switch {
		case urlEnv != "" && urlFile != "":
			return nil, usageErrorf("--url-env and --url-file exclude each other")
		case urlEnv != "":
			if url = strings.TrimSpace(getenv(urlEnv)); url == "" {
				return nil, usageErrorf("--url-env: $%s is empty", urlEnv)
			}
		case urlFile != "":
			b, err := readCredential(urlFile)
			if err != nil {
				return nil, fmt.Errorf("--url-file: %w", err)
			}
			if url = strings.TrimSpace(string(b)); url == "" {
				return nil, usageErrorf("--url-file %s is empty", urlFile)
			}
		default:
			return nil, usageErrorf("the webhook URL is a secret: give it with --url-env VAR or --url-file FILE")
		}
		if !strings.HasPrefix(url, "https://") && !strings.HasPrefix(url, "http://") {
			return nil, usageErrorf("the webhook URL must start with http:// or https://")
		}
		w := &tollgatev1.AlertWebhook{Id: id, Url: url, TeamId: team}
		for _, k := range kinds {
			kind, ok := alertKinds[k]
			if !ok {
				return nil, usageErrorf("--kind %q: want budget-threshold or spend-velocity", k)
			}
			w.Kinds = append(w.Kinds, kind)
		}
		return &tollgatev1.CreateAlertWebhookRequest{Webhook: w}, nil
	}
}

// lowerEnum is an enum value's name in lower case without prefix, with
// '-' for '_', e.g. "least-busy".
func lowerEnum(s fmt.Stringer, prefix string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(s.String(), prefix), "_", "-"))
}

// subject names what a budget or limit applies to, e.g. "team/search".
func subject(team, service, key string) string {
	switch {
	case key != "":
		return "key/" + key
	case service != "":
		return "service/" + team + "/" + service
	case team != "":
		return "team/" + team
	}
	return "-"
}

func countOrDash(n int64) string {
	if n == 0 {
		return "-"
	}
	return strconv.FormatInt(n, 10)
}

func budgetRows(row func(...string), bs ...*tollgatev1.Budget) {
	row("ID", "APPLIES TO", "PERIOD", "TZ", "LIMIT", "LIMIT TOKENS", "ALERTS AT %", "UPDATED", "ETAG")
	for _, b := range bs {
		var alerts []string
		for _, a := range b.GetAlertThresholds() {
			alerts = append(alerts, strconv.Itoa(int(a)))
		}
		tz := b.GetTimeZone()
		if tz == "" {
			tz = "UTC"
		}
		row(b.GetId(), subject(b.GetTeamId(), b.GetServiceId(), b.GetKeyId()), lowerEnum(b.GetPeriod(), "BUDGET_PERIOD_"), tz,
			usdOrDash(b.GetLimit()), countOrDash(b.GetLimitTokens()), dash(strings.Join(alerts, ",")), formatTime(b.GetUpdateTime()), b.GetEtag())
	}
}

func budgetStatusRows(row func(...string), ss []*tollgatev1.BudgetStatus) {
	row("ID", "APPLIES TO", "PERIOD", "LIMIT", "SPENT", "RESERVED", "REMAINING", "TOKENS USED/LIMIT", "RESETS")
	for _, s := range ss {
		b := s.GetBudget()
		tokens := "-"
		if b.GetLimitTokens() > 0 {
			tokens = money.Count(s.GetSpentTokens()) + "/" + money.Count(b.GetLimitTokens())
		}
		resets := "never"
		if s.GetResetTime() != nil {
			resets = formatTime(s.GetResetTime())
		}
		spent := orZero(s.GetSpent())
		row(b.GetId(), subject(b.GetTeamId(), b.GetServiceId(), b.GetKeyId()), lowerEnum(b.GetPeriod(), "BUDGET_PERIOD_"),
			usdOrDash(b.GetLimit()), money.Format(spent), usdOrDash(s.GetReserved()), usdOrDash(s.GetRemaining()), tokens, resets)
	}
}

func limitRows(row func(...string), ls ...*tollgatev1.RateLimit) {
	row("ID", "APPLIES TO", "RPM", "TPM", "CONCURRENT", "UPDATED", "ETAG")
	for _, l := range ls {
		row(l.GetId(), subject(l.GetTeamId(), "", l.GetKeyId()), countOrDash(l.GetRequestsPerMinute()),
			countOrDash(l.GetTokensPerMinute()), countOrDash(l.GetMaxConcurrent()), formatTime(l.GetUpdateTime()), l.GetEtag())
	}
}

// webhookRows prints webhooks by their URL hint: the URL itself is never
// returned by the gateway, and never printed.
func webhookRows(row func(...string), ws ...*tollgatev1.AlertWebhook) {
	row("ID", "URL", "KINDS", "TEAM", "CREATED", "ETAG")
	for _, w := range ws {
		kinds := []string{}
		for _, k := range w.GetKinds() {
			kinds = append(kinds, lowerEnum(k, "ALERT_KIND_"))
		}
		if len(kinds) == 0 {
			kinds = append(kinds, "all")
		}
		row(w.GetId(), dash(w.GetUrlHint()), strings.Join(kinds, ","), dash(w.GetTeamId()), formatTime(w.GetCreateTime()), w.GetEtag())
	}
}

// usdOrDash formats an amount for people ("$0.0082"), "-" when unset.
func usdOrDash(m *gmoney.Money) string { return money.Format(m) }
