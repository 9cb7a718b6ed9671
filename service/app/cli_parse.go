package app

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/type/money"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/providers/factory"
)

// defaultClientAddr is the gateway the client subcommands talk to when
// neither --addr nor $TOLLGATE_ADDR is set.
const defaultClientAddr = "http://127.0.0.1:8080"

// cliCommand is a parsed client subcommand: where to send which request.
type cliCommand struct {
	// name is the command as typed, e.g. "keys list".
	name string
	// addr is the gateway's base URL.
	addr string
	// token is the admin token.
	token string
	// addrSet is true when --addr or $TOLLGATE_ADDR named the gateway.
	addrSet bool
	// output is the output format: table, wide, json, yaml or go-template=T.
	output string
	// req is the request to send; its type selects the RPC.
	req proto.Message
	// pages are the paging flags of a list command (nil for others).
	pages *pageFlags
}

// clientURL turns an --addr value into a base URL: a bare host:port (the
// form `tollgate serve` listens on) means plain-text HTTP.
func clientURL(addr string) (string, error) {
	if addr == "" {
		return defaultClientAddr, nil
	}
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	if !strings.HasPrefix(addr, "http://") && !strings.HasPrefix(addr, "https://") {
		return "", usageErrorf("gateway address %q: want an http:// or https:// URL", addr)
	}
	return strings.TrimRight(addr, "/"), nil
}

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

func oneOperand(ops []string, what string) (string, error) {
	if len(ops) != 1 || ops[0] == "" {
		return "", usageErrorf("want exactly one %s, got %q", what, ops)
	}
	return ops[0], nil
}

func noOperands(req proto.Message) func([]string) (proto.Message, error) {
	return func(ops []string) (proto.Message, error) {
		if len(ops) != 0 {
			return nil, usageErrorf("unexpected arguments %q", ops)
		}
		return req, nil
	}
}

// listFlag collects a repeated or comma-separated flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for s := range strings.SplitSeq(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// mapFlag collects repeated k=v flags.
type mapFlag map[string]string

func (m mapFlag) String() string { return "" }

func (m mapFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("%q is not key=value", v)
	}
	m[k] = val
	return nil
}

func (m mapFlag) orNil() map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

func keysCreate(fs *flag.FlagSet, now time.Time) func([]string) (proto.Message, error) {
	var name, team, service, expires string
	var models listFlag
	var dropParams bool
	tags := mapFlag{}
	fs.StringVar(&name, "name", "", "a name for people")
	fs.StringVar(&team, "team", "", "the owning team (required)")
	fs.StringVar(&service, "service", "", "the owning service within the team")
	fs.Var(&models, "models", "models and aliases the key may use (comma-separated; default all)")
	fs.StringVar(&expires, "expires", "", "lifetime, e.g. 90d (default never)")
	fs.Var(tags, "tag", "a tag k=v recorded with every request (repeatable)")
	fs.BoolVar(&dropParams, "drop-params", false, "leave out request parameters an upstream cannot honour instead of refusing the request")
	return func(ops []string) (proto.Message, error) {
		if len(ops) != 0 {
			return nil, usageErrorf("unexpected arguments %q", ops)
		}
		if team == "" {
			return nil, usageErrorf("--team is required")
		}
		k := &tollgatev1.VirtualKey{Name: name, TeamId: team, ServiceId: service, AllowedModels: models, Tags: tags.orNil(), DropParams: dropParams}
		if expires != "" {
			d, err := parseDays(expires)
			if err != nil || d <= 0 {
				return nil, usageErrorf("--expires %q: want a positive duration such as 90d or 12h", expires)
			}
			k.ExpireTime = timestamppb.New(now.Add(d))
		}
		return &tollgatev1.CreateKeyRequest{Key: k}, nil
	}
}

func keysList(fs *flag.FlagSet) func([]string) (proto.Message, error) {
	req := &tollgatev1.ListKeysRequest{}
	fs.StringVar(&req.TeamId, "team", "", "only this team's keys")
	fs.BoolVar(&req.IncludeRevoked, "all", false, "include revoked keys")
	return noOperands(req)
}

func keysRotate(fs *flag.FlagSet) func([]string) (proto.Message, error) {
	var grace string
	fs.StringVar(&grace, "grace", "", "how long the old secret keeps working, e.g. 24h (default: revoked at once)")
	return func(ops []string) (proto.Message, error) {
		id, err := oneOperand(ops, "KEY_ID")
		if err != nil {
			return nil, err
		}
		req := &tollgatev1.RotateKeyRequest{Id: id}
		if grace != "" {
			d, err := parseDays(grace)
			if err != nil || d < 0 {
				return nil, usageErrorf("--grace %q: want a duration such as 24h or 1d", grace)
			}
			req.GracePeriod = durationpb.New(d)
		}
		return req, nil
	}
}

func teamsCreate(fs *flag.FlagSet) func([]string) (proto.Message, error) {
	var display string
	labels := mapFlag{}
	fs.StringVar(&display, "name", "", "display name")
	fs.Var(labels, "label", "a label k=v (repeatable)")
	return func(ops []string) (proto.Message, error) {
		id, err := oneOperand(ops, "TEAM_ID")
		if err != nil {
			return nil, err
		}
		return &tollgatev1.CreateTeamRequest{Team: &tollgatev1.Team{Id: id, DisplayName: display, Labels: labels.orNil()}}, nil
	}
}

// providerTypeNames are the --type values, from the one table of provider
// types (factory.Types): the stored name with '-' for '_'.
func providerTypeNames() []string {
	var names []string
	for _, t := range factory.Types() {
		names = append(names, strings.ReplaceAll(t, "_", "-"))
	}
	return names
}

// providerType returns the API's provider type for a --type value.
func providerType(name string) (tollgatev1.ProviderType, bool) {
	stored := strings.ReplaceAll(name, "-", "_")
	if !factory.Supported(stored) {
		return tollgatev1.ProviderType_PROVIDER_TYPE_UNSPECIFIED, false
	}
	v, ok := tollgatev1.ProviderType_value["PROVIDER_TYPE_"+strings.ToUpper(stored)]
	return tollgatev1.ProviderType(v), ok
}

func providersAdd(fs *flag.FlagSet, getenv func(string) string) func([]string) (proto.Message, error) {
	var typ, baseURL, credRef string
	var credFlags credentialFlags
	settings := mapFlag{}
	fs.StringVar(&typ, "type", "", "the API dialect (required): "+strings.Join(providerTypeNames(), ", "))
	fs.StringVar(&baseURL, "base-url", "", "the API base URL (default: the type's)")
	fs.StringVar(&credRef, "credential-ref", "", "the credential by reference: env:NAME, file:/path, vault:MOUNT/PATH#FIELD, aws-sm:ID[#FIELD], gcp-sm:projects/P/secrets/S[#FIELD]")
	credFlags.register(fs, false)
	fs.Var(settings, "setting", "a dialect setting k=v (repeatable)")
	return func(ops []string) (proto.Message, error) {
		id, err := oneOperand(ops, "PROVIDER_ID")
		if err != nil {
			return nil, err
		}
		t, ok := providerType(typ)
		if !ok {
			return nil, usageErrorf("--type %q: want one of %s", typ, strings.Join(providerTypeNames(), ", "))
		}
		cred, err := credFlags.read(getenv)
		if err != nil {
			return nil, err
		}
		if credRef != "" && cred != "" {
			return nil, usageErrorf("--credential-ref and --credential-env/--credential-file exclude each other")
		}
		return &tollgatev1.CreateProviderRequest{
			Provider:   &tollgatev1.Provider{Id: id, Type: t, BaseUrl: baseURL, Settings: settings.orNil(), CredentialRef: credRef},
			Credential: cred,
		}, nil
	}
}

func readCredential(name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(io.LimitReader(os.Stdin, 64<<10))
	}
	return os.ReadFile(name)
}

// modelFlags are the flags describing a model, for add and update.
type modelFlags struct {
	provider, upstream, in, out, cached string
	ctxWindow, maxOut                   int
	embedding                           bool
}

// modelMask maps the model flags to the fields they set.
var modelMask = map[string]string{
	"provider": "provider_id", "upstream-model": "upstream_model", "context-window": "context_window",
	"max-output-tokens": "max_output_tokens", "embedding": "embedding", "input-price": "pricing.input_per_million",
	"output-price": "pricing.output_per_million", "cached-input-price": "pricing.cached_input_per_million",
}

func (mf *modelFlags) register(fs *flag.FlagSet, add bool) {
	provider, upstream := "the provider serving the model", "the provider's model name (\"\" for NAME)"
	if add {
		provider, upstream = "the provider serving the model (required)", "the provider's model name (default: NAME)"
	}
	fs.StringVar(&mf.provider, "provider", "", provider)
	fs.StringVar(&mf.upstream, "upstream-model", "", upstream)
	fs.IntVar(&mf.ctxWindow, "context-window", 0, "context window in tokens")
	fs.IntVar(&mf.maxOut, "max-output-tokens", 0, "largest output in tokens")
	fs.BoolVar(&mf.embedding, "embedding", false, "an embedding model (--embedding=false for a chat model)")
	fs.StringVar(&mf.in, "input-price", "", "USD per million input tokens")
	fs.StringVar(&mf.out, "output-price", "", "USD per million output tokens")
	fs.StringVar(&mf.cached, "cached-input-price", "", "USD per million cached input tokens")
}

// model returns the model named name that the flags describe; Pricing is
// nil unless a price was given.
func (mf *modelFlags) model(name string) (*tollgatev1.Model, error) {
	if mf.ctxWindow < 0 || mf.ctxWindow > 1<<31-1 || mf.maxOut < 0 || mf.maxOut > 1<<31-1 {
		return nil, usageErrorf("token counts must be between 0 and 2147483647")
	}
	m := &tollgatev1.Model{
		Name: name, ProviderId: mf.provider, UpstreamModel: mf.upstream,
		ContextWindow: int32(mf.ctxWindow), MaxOutputTokens: int32(mf.maxOut), Embedding: mf.embedding,
	}
	var p tollgatev1.ModelPricing
	for _, pr := range []struct {
		flag, value string
		dst         **money.Money
	}{
		{"--input-price", mf.in, &p.InputPerMillion},
		{"--output-price", mf.out, &p.OutputPerMillion},
		{"--cached-input-price", mf.cached, &p.CachedInputPerMillion},
	} {
		if pr.value == "" {
			continue
		}
		usd, err := parseUSD(pr.value)
		if err != nil {
			return nil, usageErrorf("%s: %v", pr.flag, err)
		}
		*pr.dst = usd
		m.Pricing = &p
	}
	return m, nil
}

func modelsAdd(fs *flag.FlagSet) func([]string) (proto.Message, error) {
	var mf modelFlags
	mf.register(fs, true)
	return func(ops []string) (proto.Message, error) {
		name, err := oneOperand(ops, "NAME")
		if err != nil {
			return nil, err
		}
		if mf.provider == "" {
			return nil, usageErrorf("--provider is required")
		}
		m, err := mf.model(name)
		if err != nil {
			return nil, err
		}
		return &tollgatev1.CreateModelRequest{Model: m}, nil
	}
}

// dimensions maps --by values to usage dimensions.
var dimensions = map[string]tollgatev1.UsageDimension{
	"team":        tollgatev1.UsageDimension_USAGE_DIMENSION_TEAM,
	"service":     tollgatev1.UsageDimension_USAGE_DIMENSION_SERVICE,
	"key":         tollgatev1.UsageDimension_USAGE_DIMENSION_KEY,
	"model":       tollgatev1.UsageDimension_USAGE_DIMENSION_MODEL,
	"provider":    tollgatev1.UsageDimension_USAGE_DIMENSION_PROVIDER,
	"end_user":    tollgatev1.UsageDimension_USAGE_DIMENSION_END_USER,
	"end-user":    tollgatev1.UsageDimension_USAGE_DIMENSION_END_USER,
	"key_creator": tollgatev1.UsageDimension_USAGE_DIMENSION_KEY_CREATOR,
	"key-creator": tollgatev1.UsageDimension_USAGE_DIMENSION_KEY_CREATOR,
	"tag":         tollgatev1.UsageDimension_USAGE_DIMENSION_TAG,
	"guardrail":   tollgatev1.UsageDimension_USAGE_DIMENSION_GUARDRAIL,
}

// parseDays parses a Go duration or a whole number of days such as "30d".
func parseDays(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.ParseInt(n, 10, 32)
		if err != nil {
			return 0, fmt.Errorf("bad number of days %q: %w", s, err)
		}
		if days < -100*366 || days > 100*366 {
			return 0, fmt.Errorf("%q: too many days", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

// parseUSD parses a non-negative decimal amount of dollars exactly, with at
// most nine fractional digits, e.g. "0.15" or "2".
func parseUSD(s string) (*money.Money, error) {
	whole, frac, _ := strings.Cut(strings.TrimPrefix(s, "$"), ".")
	if whole == "" && frac == "" || len(frac) > 9 || strings.HasPrefix(whole, "-") || strings.HasPrefix(whole, "+") {
		return nil, fmt.Errorf("%q: want a non-negative amount with at most 9 decimals", s)
	}
	var units int64
	if whole != "" {
		u, err := strconv.ParseInt(whole, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q: want an amount in dollars such as 5 or 0.25", s)
		}
		units = u
	}
	var nanos int64
	if frac != "" {
		n, err := strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 32)
		if err != nil || strings.ContainsAny(frac, "+-") {
			return nil, fmt.Errorf("%q: bad fraction", s)
		}
		nanos = n
	}
	return &money.Money{CurrencyCode: "USD", Units: units, Nanos: int32(nanos)}, nil
}
