package app

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"
	"google.golang.org/protobuf/proto"

	tollgate "github.com/tollgate-dev/tollgate/clients/go"
	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
)

// group is a resource's command group, e.g. `tollgate keys`.
type group struct {
	name, short string
	aliases     []string
}

// command is one client command: a request built from flags and operands,
// sent to the gateway, and its answer printed.
type command struct {
	// path is the command as typed without "tollgate", e.g. "keys create".
	path string
	// args is the operands' synopsis, e.g. "KEY_ID".
	args    string
	short   string
	example string
	// destructive commands ask for confirmation (--yes).
	destructive bool
	// verb is prepended to the operands (service-accounts token VERB).
	verb string
	// build registers the command's flags and returns its request builder.
	build func(c *cli, fs *flag.FlagSet) func([]string) (proto.Message, error)
}

var groups = []group{
	{"keys", "Virtual keys: create, list, get, rotate, revoke", []string{"key"}},
	{"teams", "Teams: the owners of keys, budgets and limits", []string{"team"}},
	{"providers", "Upstream providers and their credentials", []string{"provider"}},
	{"models", "Models, their provider and prices", []string{"model"}},
	{"routes", "Routes: a model name served by several targets", []string{"route"}},
	{"budgets", "Spending limits per key, team or service", []string{"budget"}},
	{"limits", "Rate limits (requests, tokens, concurrency) per key or team", []string{"limit"}},
	{"alerts", "Alert webhooks (budget thresholds, spend velocity)", []string{"alert"}},
	{"guardrails", "Guardrail policies (PII, moderation, webhooks, ...)", []string{"guardrail"}},
	{"cache", "The response cache: statistics and purge", nil},
	{"usage", "Usage reports, request records and exports", nil},
	{"audit", "The admin audit log", nil},
	{"service-accounts", "Service accounts (machine identities) and their tokens", []string{"service-account", "sa"}},
	{"role-bindings", "Who (user, e-mail, group) has which role", []string{"role-binding"}},
	{"credentials", "Provider credential references (env, file, secret managers)", nil},
	{"admin", "The master key that seals provider credentials", nil},
}

// commands lists every client command; its builders live in the cli_*.go
// files of their group.
var commands = []command{
	{path: "keys create", args: "--team TEAM", short: "Create a virtual key (prints its secret once)",
		example: "tollgate keys create --team search --name indexer --models gpt-4o-mini --expires 90d",
		build:   func(c *cli, fs *flag.FlagSet) builder { return keysCreate(fs, c.now) }},
	{path: "keys list", short: "List keys", example: "tollgate keys list --team search\ntollgate keys list --all -o json",
		build: func(_ *cli, fs *flag.FlagSet) builder { return keysList(fs) }},
	{path: "keys get", args: "KEY_ID", short: "Show a key", example: "tollgate keys get key_0123 -o yaml",
		build: func(_ *cli, fs *flag.FlagSet) builder {
			return idOperand(fs, "KEY_ID", func(id string) proto.Message { return &tollgatev1.GetKeyRequest{Id: id} })
		}},
	{path: "keys rotate", args: "KEY_ID", short: "Issue a new secret for a key (the old one works for --grace)",
		example: "tollgate keys rotate key_0123 --grace 24h", build: func(_ *cli, fs *flag.FlagSet) builder { return keysRotate(fs) }},
	{path: "keys revoke", args: "KEY_ID", short: "Revoke a key at once", destructive: true,
		example: "tollgate keys revoke key_0123 --yes",
		build: func(_ *cli, fs *flag.FlagSet) builder {
			return idOperand(fs, "KEY_ID", func(id string) proto.Message { return &tollgatev1.RevokeKeyRequest{Id: id} })
		}},

	{path: "teams create", args: "TEAM_ID", short: "Create a team", example: `tollgate teams create search --name "Search Platform" --label cost-center=42`,
		build: func(_ *cli, fs *flag.FlagSet) builder { return teamsCreate(fs) }},
	{path: "teams list", short: "List teams", example: "tollgate teams list -o yaml",
		build: func(*cli, *flag.FlagSet) builder { return noOperands(&tollgatev1.ListTeamsRequest{}) }},
	{path: "teams get", args: "TEAM_ID", short: "Show a team", example: "tollgate teams get search", build: catalog("teams get")},
	{path: "teams delete", args: "TEAM_ID", short: "Delete a team", destructive: true, example: "tollgate teams delete search --yes",
		build: func(_ *cli, fs *flag.FlagSet) builder {
			return deleteCommand(fs, "TEAM_ID", func(id, etag string) proto.Message { return &tollgatev1.DeleteTeamRequest{Id: id, Etag: etag} })
		}},

	{path: "providers add", args: "PROVIDER_ID --type TYPE", short: "Add a provider (the credential comes from the environment or a file)",
		example: "tollgate providers add openai --type openai --credential-env OPENAI_API_KEY\n" +
			"tollgate providers add vllm --type openai-compatible --base-url http://vllm:8000/v1",
		build: func(c *cli, fs *flag.FlagSet) builder { return providersAdd(fs, c.getenv) }},
	{path: "providers list", short: "List providers", example: "tollgate providers list",
		build: func(*cli, *flag.FlagSet) builder { return noOperands(&tollgatev1.ListProvidersRequest{}) }},
	{path: "providers get", args: "PROVIDER_ID", short: "Show a provider", example: "tollgate providers get openai", build: catalog("providers get")},
	{path: "providers update", args: "PROVIDER_ID", short: "Change a provider's fields (only those whose flags are given)",
		example: "tollgate providers update openai --credential-env NEW_OPENAI_KEY", build: catalog("providers update")},
	{path: "providers delete", args: "PROVIDER_ID", short: "Delete a provider", destructive: true,
		example: "tollgate providers delete openai --yes", build: catalog("providers delete")},

	{path: "models add", args: "NAME --provider PROVIDER_ID", short: "Add a model served by a provider, with its prices (USD per million tokens)",
		example: "tollgate models add gpt-4o-mini --provider openai --input-price 0.15 --output-price 0.60",
		build:   func(_ *cli, fs *flag.FlagSet) builder { return modelsAdd(fs) }},
	{path: "models list", short: "List models", example: "tollgate models list -o wide",
		build: func(*cli, *flag.FlagSet) builder { return noOperands(&tollgatev1.ListAllModelsRequest{}) }},
	{path: "models get", args: "NAME", short: "Show a model", example: "tollgate models get gpt-4o-mini", build: catalog("models get")},
	{path: "models update", args: "NAME", short: "Change a model's fields (only those whose flags are given)",
		example: "tollgate models update gpt-4o-mini --output-price 0.5", build: catalog("models update")},
	{path: "models delete", args: "NAME", short: "Delete a model", destructive: true,
		example: "tollgate models delete gpt-4o-mini --yes", build: catalog("models delete")},

	{path: "routes create", args: "--name NAME --target PROVIDER/MODEL[:WEIGHT]...", short: "Create a route",
		example: "tollgate routes create --name chat --strategy fallback --target openai/gpt-4o-mini --target anthropic/claude-haiku-4-5\n" +
			"tollgate routes create --file route.json",
		build: route("routes create")},
	{path: "routes list", short: "List routes", example: "tollgate routes list", build: route("routes list")},
	{path: "routes get", args: "ROUTE", short: "Show a route", example: "tollgate routes get chat -o yaml", build: route("routes get")},
	{path: "routes update", args: "ROUTE", short: "Change a route (flags change their field; --file replaces it)",
		example: "tollgate routes update chat --target openai/gpt-4o-mini:3 --target anthropic/claude-haiku-4-5:1", build: catalog("routes update")},
	{path: "routes delete", args: "ROUTE", short: "Delete a route", destructive: true, example: "tollgate routes delete chat --yes", build: route("routes delete")},

	{path: "budgets set", args: "--id ID --scope key|team|service", short: "Create or change a budget",
		example: "tollgate budgets set --id search-daily --scope team --team search --period daily --usd 25 --alert-at 50,80",
		build:   func(_ *cli, fs *flag.FlagSet) builder { return budgetsSet(fs) }},
	{path: "budgets list", short: "List budgets", example: "tollgate budgets list --team search", build: admin("budgets list")},
	{path: "budgets status", short: "Show each budget's limit, spend, what remains and when it resets",
		example: "tollgate budgets status --team search", build: admin("budgets status")},
	{path: "budgets delete", args: "BUDGET_ID", short: "Delete a budget", destructive: true,
		example: "tollgate budgets delete search-daily --yes", build: admin("budgets delete")},

	{path: "limits set", args: "--id ID --scope key|team", short: "Create or change a rate limit",
		example: "tollgate limits set --id search-rpm --scope team --team search --rpm 600 --tpm 200000",
		build:   func(_ *cli, fs *flag.FlagSet) builder { return limitsSet(fs) }},
	{path: "limits list", short: "List rate limits", example: "tollgate limits list", build: admin("limits list")},
	{path: "limits delete", args: "LIMIT_ID", short: "Delete a rate limit", destructive: true,
		example: "tollgate limits delete search-rpm --yes", build: admin("limits delete")},

	{path: "alerts add", args: "WEBHOOK_ID (--url-env VAR | --url-file FILE)", short: "Add an alert webhook (prints its signing secret once)",
		example: "tollgate alerts add ops --url-env OPS_WEBHOOK_URL --kind budget-threshold",
		build:   func(c *cli, fs *flag.FlagSet) builder { return alertsAdd(fs, c.getenv) }},
	{path: "alerts list", short: "List alert webhooks", example: "tollgate alerts list", build: admin("alerts list")},
	{path: "alerts delete", args: "WEBHOOK_ID", short: "Delete an alert webhook", destructive: true,
		example: "tollgate alerts delete ops --yes", build: admin("alerts delete")},

	{path: "usage report", short: "Requests, tokens and cost, grouped by dimensions",
		example: "tollgate usage report --by team,model --since 30d\ntollgate usage report --by tag:project",
		build:   func(c *cli, fs *flag.FlagSet) builder { return usageReport(fs, c.now) }},
	{path: "usage export", short: "Write request records as CSV or JSON lines to stdout",
		example: "tollgate usage export --since 30d --format jsonl > records.jsonl",
		build:   func(c *cli, fs *flag.FlagSet) builder { return usageExport(fs, c.now) }},

	{path: "audit list", short: "List admin audit events (the newest 100 by default)",
		example: "tollgate audit list --since 7d --kind budget",
		build:   func(c *cli, fs *flag.FlagSet) builder { return auditList(fs, c.now) }},

	{path: "service-accounts create", args: "ID --role ROLE...", short: "Create a service account",
		example: "tollgate service-accounts create ci --role admin --description 'CI pipeline'", build: identity("service-accounts create")},
	{path: "service-accounts list", short: "List service accounts", example: "tollgate service-accounts list", build: identity("service-accounts list")},
	{path: "service-accounts get", args: "ACCOUNT_ID", short: "Show a service account", example: "tollgate service-accounts get ci", build: identity("service-accounts get")},
	{path: "service-accounts update", args: "ACCOUNT_ID", short: "Change a service account",
		example: "tollgate service-accounts update ci --disabled=true", build: identity("service-accounts update")},
	{path: "service-accounts delete", args: "ACCOUNT_ID", short: "Delete a service account", destructive: true,
		example: "tollgate service-accounts delete ci --yes", build: identity("service-accounts delete")},
	{path: "service-accounts token create", verb: "create", args: "ACCOUNT_ID", short: "Create a token (prints the tga-... secret once)",
		example: "tollgate service-accounts token create ci --ttl 30d", build: identity("service-accounts token")},
	{path: "service-accounts token list", verb: "list", args: "ACCOUNT_ID", short: "List an account's tokens",
		example: "tollgate service-accounts token list ci --all", build: identity("service-accounts token")},
	{path: "service-accounts token rotate", verb: "rotate", args: "TOKEN_ID", short: "Replace a token (the old one works for --grace)",
		example: "tollgate service-accounts token rotate sat_0123 --grace 1h", build: identity("service-accounts token")},
	{path: "service-accounts token revoke", verb: "revoke", args: "TOKEN_ID", short: "Revoke a token at once", destructive: true,
		example: "tollgate service-accounts token revoke sat_0123 --yes", build: identity("service-accounts token")},

	{path: "role-bindings create", args: "--user SUB | --email ADDRESS | --group GROUP --role ROLE", short: "Grant a role",
		example: "tollgate role-bindings create --group platform --role admin", build: identity("role-bindings create")},
	{path: "role-bindings list", short: "List role bindings", example: "tollgate role-bindings list", build: identity("role-bindings list")},
	{path: "role-bindings delete", args: "BINDING_ID", short: "Delete a role binding", destructive: true,
		example: "tollgate role-bindings delete rb_0123 --yes", build: identity("role-bindings delete")},

	{path: "credentials list", short: "List credential references and their state", example: "tollgate credentials list", build: identity("credentials list")},
	{path: "credentials refresh", short: "Re-read referenced credentials now", example: "tollgate credentials refresh --provider openai", build: identity("credentials refresh")},

	{path: "admin master-key-status", short: "Show the master keyring and what each key seals", example: "tollgate admin master-key-status", build: identity("admin master-key-status")},
	{path: "admin rotate-master-key", short: "Re-seal every credential with a key of the keyring",
		example: "tollgate admin rotate-master-key --key-id k2", build: identity("admin rotate-master-key")},
}

// builder builds a command's request from its operands.
type builder = func([]string) (proto.Message, error)

func catalog(name string) func(*cli, *flag.FlagSet) builder {
	return func(c *cli, fs *flag.FlagSet) builder { return catalogCommand(name, fs, c.getenv) }
}

func route(name string) func(*cli, *flag.FlagSet) builder {
	return func(_ *cli, fs *flag.FlagSet) builder { return routeCommand(name, fs) }
}

func admin(name string) func(*cli, *flag.FlagSet) builder {
	return func(c *cli, fs *flag.FlagSet) builder { return adminCommand(name, fs, c.getenv, c.now) }
}

func identity(name string) func(*cli, *flag.FlagSet) builder {
	return func(_ *cli, fs *flag.FlagSet) builder { return identityCommand(name, fs) }
}

// clientCommands builds the command groups and their commands.
func (c *cli) clientCommands() []*cobra.Command {
	byPath := map[string]*cobra.Command{}
	var tops []*cobra.Command
	for _, g := range groups {
		cmd := c.groupCommand(g.name, g.short)
		cmd.Aliases = g.aliases
		byPath[g.name] = cmd
		tops = append(tops, cmd)
	}
	for _, spec := range slices.Concat(commands, policyCommands) {
		parentPath, _ := splitLast(spec.path)
		parent, ok := byPath[parentPath]
		if !ok {
			_, short := splitLast(parentPath)
			parent = c.groupCommand(short, "Tokens of service accounts")
			byPath[parentPath] = parent
			gp, _ := splitLast(parentPath)
			byPath[gp].AddCommand(parent)
		}
		parent.AddCommand(c.clientCommand(spec))
	}
	return tops
}

func splitLast(path string) (string, string) {
	i := strings.LastIndexByte(path, ' ')
	if i < 0 {
		return "", path
	}
	return path[:i], path[i+1:]
}

// groupCommand is a command that only holds subcommands.
func (c *cli) groupCommand(name, short string) *cobra.Command {
	return &cobra.Command{
		Use:   name,
		Short: short,
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c.lastPath = cmd.CommandPath()
			if len(args) == 0 {
				return usageErrorf("missing subcommand (%s)", subcommandNames(cmd))
			}
			return usageErrorf("unknown command %q (want %s)", strings.TrimPrefix(cmd.CommandPath(), "tollgate ")+" "+args[0], subcommandNames(cmd))
		},
	}
}

func subcommandNames(cmd *cobra.Command) string {
	var names []string
	for _, s := range cmd.Commands() {
		if s.IsAvailableCommand() {
			names = append(names, s.Name())
		}
	}
	return strings.Join(names, ", ")
}

// clientCommand builds one client command from its spec: the builder's Go
// flags become the command's flags.
func (c *cli) clientCommand(spec command) *cobra.Command {
	_, verb := splitLast(spec.path)
	name := spec.path
	if spec.verb != "" {
		name = strings.TrimSuffix(spec.path, " "+spec.verb)
	}
	gofs := flag.NewFlagSet(spec.path, flag.ContinueOnError)
	build := spec.build(c, gofs)
	var pages *pageFlags
	if (verb == "list" || spec.path == "usage records") && spec.verb == "" {
		pages = &pageFlags{}
		defaultLimit := 0
		if spec.path == "audit list" || spec.path == "usage records" {
			defaultLimit = 100 // the newest events
		}
		pages.register(gofs, defaultLimit)
	}
	var yes bool
	use := verb
	if spec.args != "" {
		use += " " + spec.args
	}
	var aliases []string
	if verb == "add" {
		aliases = []string{"create"} // so "create" works here as it does for keys and teams
	}
	cmd := &cobra.Command{
		Use:     use + " [flags]",
		Aliases: aliases,
		Short:   spec.short,
		Example: indent(spec.example),
		RunE: func(cmd *cobra.Command, args []string) error {
			c.lastPath = cmd.CommandPath()
			if spec.verb != "" {
				args = append([]string{spec.verb}, args...)
			}
			req, err := build(args)
			if err != nil {
				return err
			}
			p := pages
			if p != nil && !isListRequest(req) {
				p = nil // a list that does not page (credentials list)
			}
			if p != nil {
				if err := p.apply(req); err != nil {
					return err
				}
			}
			cc, err := c.command(name, req, p)
			if err != nil {
				return err
			}
			if spec.destructive && !yes {
				if err := c.confirm(cmd.CommandPath() + " " + strings.Join(args, " ")); err != nil {
					return err
				}
			}
			return c.run(cmd.Context(), cc)
		},
	}
	addGoFlags(cmd.Flags(), gofs)
	if spec.path == "alerts add" {
		// A webhook URL is a secret: it must not be given as a flag, and
		// the global --url (the gateway) is easily mistaken for it here.
		var hook string
		cmd.Flags().StringVar(&hook, "url", "", "")
		_ = cmd.Flags().MarkHidden("url")
		inner := cmd.RunE
		cmd.RunE = func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("url") {
				c.lastPath = cmd.CommandPath()
				return usageErrorf("--url: the webhook URL is a secret: give it with --url-env VAR or --url-file FILE (the gateway's URL: $TOLLGATE_URL or --context)")
			}
			return inner(cmd, args)
		}
	}
	if spec.destructive {
		cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do it without asking (needed without a terminal)")
	}
	return cmd
}

// addGoFlags adds a Go flag set's flags to a pflag set, long names only.
// Values are set through the Go flag set, so that its Visit (which update
// commands use to build their field masks) sees the flags given.
func addGoFlags(dst *pflag.FlagSet, src *flag.FlagSet) {
	src.VisitAll(func(f *flag.Flag) {
		pf := pflag.PFlagFromGoFlag(f)
		pf.Shorthand = "" // Go flags have no shorthands; one-letter names stay long
		pf.Value = goFlagValue{Value: pf.Value, fs: src, name: f.Name, goValue: f.Value}
		dst.AddFlag(pf)
	})
}

// goFlagValue sets a Go flag through its flag set.
type goFlagValue struct {
	pflag.Value
	fs      *flag.FlagSet
	name    string
	goValue flag.Value
}

// Set sets the flag; a value the flag's parser rejects gets a message for
// people instead of the parser's.
func (v goFlagValue) Set(s string) error {
	err := v.fs.Set(v.name, s)
	if err == nil {
		return nil
	}
	switch fmt.Sprintf("%T", v.goValue) {
	case "*flag.intValue", "*flag.int64Value", "*flag.uintValue", "*flag.uint64Value":
		return errors.New("want a whole number")
	case "*flag.float64Value":
		return errors.New("want a number")
	case "*flag.durationValue":
		return errors.New("want a duration such as 90s, 30m or 12h")
	case "*flag.boolValue":
		return errors.New("want true or false")
	}
	return err
}

// Type names the value in help: list and key=value flags are repeatable.
func (v goFlagValue) Type() string {
	switch v.goValue.(type) {
	case *listFlag:
		return "list"
	case mapFlag:
		return "key=value"
	}
	switch t := v.Value.Type(); t {
	case "string", "bool", "int", "int64", "uint", "uint64", "float64", "duration":
		return t
	}
	return "string"
}

func indent(s string) string {
	if s == "" {
		return ""
	}
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}

// command resolves the gateway and credential of a parsed client command
// from the global flags and the environment (the context's login is
// consulted when it runs, see runClient).
func (c *cli) command(name string, req proto.Message, pages *pageFlags) (*cliCommand, error) {
	output, err := c.outputFormat()
	if err != nil {
		return nil, err
	}
	cmd := &cliCommand{name: name, req: req, pages: pages, output: output}
	cmd.addr = c.url
	if cmd.addr == "" && c.addr != "" {
		fmt.Fprintln(c.stderr, "tollgate: --addr is deprecated: use --url")
		cmd.addr = c.addr
	}
	// An explicit --context wins over the environment.
	if cmd.addr == "" && c.contextName == "" {
		cmd.addr = clientEnvURL(c.getenv, c.stderr)
	}
	cmd.addrSet = cmd.addr != ""
	if cmd.addr, err = clientURL(cmd.addr); err != nil {
		return nil, err
	}
	cmd.token = c.token
	if cmd.token == "" && c.contextName == "" {
		cmd.token = c.getenv("TOLLGATE_ADMIN_TOKEN")
	}
	return cmd, nil
}

// confirm asks on the terminal before a destructive command; without a
// terminal it refuses (the caller passes --yes).
func (c *cli) confirm(what string) error {
	if c.stdin == nil || !term.IsTerminal(int(c.stdin.Fd())) {
		return usageErrorf("will not run without confirmation: pass --yes (there is no terminal to ask on)")
	}
	fmt.Fprintf(c.stderr, "%s: are you sure? [y/N] ", strings.TrimSpace(what))
	line, _ := bufio.NewReader(c.stdin).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return &exitError{code: ExitError}
}

// dial is the Dialer given to mounted commands.
func (c *cli) dial(ctx context.Context) (*tollgate.Client, error) {
	cmd, err := c.command("", nil, nil)
	if err != nil {
		return nil, err
	}
	if err := c.resolveToken(ctx, cmd); err != nil {
		return nil, err
	}
	return tollgate.NewClient(cmd.addr, cmd.token, tollgate.WithTimeout(cliTimeout)), nil
}

// resolveToken fills in the context's credential (and its server, unless
// --url or $TOLLGATE_URL named one) when no token was given.
func (c *cli) resolveToken(ctx context.Context, cmd *cliCommand) error {
	if cmd.token != "" {
		if cmd.addrSet {
			return nil
		}
		// --token alone replaces the context's credential, not its gateway.
		_, cfg, err := c.loadConfig()
		if err != nil {
			return err
		}
		if x, ok := cfg.Get(c.contextName); ok && x.Server != "" {
			u, err := clientURL(x.Server)
			if err != nil {
				return err
			}
			cmd.addr = u
		} else if c.contextName != "" {
			return &notFoundError{msg: fmt.Sprintf("no context %q (tollgate context list)", c.contextName)}
		}
		return nil
	}
	token, server, ok, err := contextToken(ctx, c.contextName, c.getenv)
	switch {
	case err != nil:
		return err
	case !ok:
		return &authError{msg: "no credential: run tollgate login or tollgate context add, or set $TOLLGATE_ADMIN_TOKEN (or --token)"}
	}
	cmd.token = token
	if !cmd.addrSet && server != "" {
		u, err := clientURL(server)
		if err != nil {
			return err
		}
		cmd.addr = u
	}
	return nil
}

// authError is a missing credential (exit code 4).
type authError struct{ msg string }

func (e *authError) Error() string { return e.msg }
