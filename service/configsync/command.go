package configsync

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	tollgate "github.com/tollgate-dev/tollgate/clients/go"

	"github.com/tollgate-dev/tollgate/service/configfile"
)

// Dialer returns a client of the gateway a command talks to; the CLI's
// root resolves it from --url, --token, --context and the environment.
type Dialer = func(ctx context.Context) (*tollgate.Client, error)

// commandTimeout bounds each config command.
const commandTimeout = 2 * time.Minute

// NewCommand returns `tollgate config` and its subcommands validate, diff,
// apply and export, for the CLI to mount; dial is called after the flags
// are parsed (validate never calls it).
func NewCommand(dial Dialer) *cobra.Command {
	root := &cobra.Command{
		Use:   "config",
		Short: "Manage the gateway's configuration as code (validate, diff, apply, export)",
		Long: `Declare providers, models, routes, teams, keys, budgets, rate limits,
guardrail policies, cache policies and alert webhooks in YAML files, keep
them in Git, review the plan and apply it. Credentials are references
(env:NAME, file:/path, vault:..., aws-sm:..., gcp-sm:...), never literals.
The schema is docs/schema/tollgate-config.schema.json; see
docs/config-as-code.md.`,
	}
	client := func(cmd *cobra.Command) (context.Context, context.CancelFunc, tollgate.AdminClient, error) {
		ctx, cancel := context.WithTimeout(cmd.Context(), commandTimeout)
		c, err := dial(ctx)
		if err != nil {
			cancel()
			return nil, nil, tollgate.AdminClient{}, err
		}
		return ctx, cancel, c.Admin, nil
	}

	validate := &cobra.Command{
		Use:   "validate FILE|DIR...",
		Short: "Check configuration files offline",
		Long:  "Decode the files strictly (unknown fields are errors with file:line), check every value and every reference between resources. No gateway is contacted.",
		Example: `  tollgate config validate deploy/examples/config
  tollgate config validate gateway.yaml teams.yaml`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := loadValid(args)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: valid (%s)\n", strings.Join(args, ", "), summary(&l.Config))
			return nil
		},
	}

	var prune bool
	diff := &cobra.Command{
		Use:   "diff FILE|DIR...",
		Short: "Show what apply would change on the gateway",
		Long:  "Compare the files with the gateway's state and print the plan: + create, ~ update (field by field), ± replace, - delete (with --prune, only resources managed by configuration).",
		Example: `  tollgate config diff deploy/examples/config
  tollgate config diff --prune config/`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel, c, err := client(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			_, p, err := PlanFiles(ctx, c, args, prune)
			if p != nil {
				if werr := p.Write(cmd.OutOrStdout()); werr != nil {
					return werr
				}
			}
			return err
		},
	}
	diff.Flags().BoolVar(&prune, "prune", false, "also plan deleting managed resources the files no longer declare")

	var applyPrune, dryRun bool
	apply := &cobra.Command{
		Use:   "apply FILE|DIR...",
		Short: "Make the gateway match the files",
		Long: `Apply the plan diff shows. Idempotent: a second apply changes nothing.
Each kind of resource is applied as a unit (a failure undoes that kind's
changes) and every update carries the etag it was planned from, so a
resource changed meanwhile is not overwritten. The secret of a key apply
creates is printed once, or written to the key's secret_to file.
--prune deletes what the files no longer declare among the resources
marked as managed by configuration; others are never touched.`,
		Example: `  tollgate config apply deploy/examples/config
  tollgate config apply --prune config/`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel, c, err := client(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			cur, p, err := PlanFiles(ctx, c, args, applyPrune)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if err := p.Write(out); err != nil {
				return err
			}
			if dryRun || p.Empty() {
				return nil
			}
			res, err := Apply(ctx, c, cur, p)
			if res != nil {
				writeSecrets(out, res.Secrets)
				for _, w := range res.Warnings {
					fmt.Fprintln(cmd.ErrOrStderr(), "warning:", w)
				}
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "Applied %d changes.\n", len(res.Applied))
			return nil
		},
	}
	apply.Flags().BoolVar(&applyPrune, "prune", false, "delete managed resources the files no longer declare")
	apply.Flags().BoolVar(&dryRun, "dry-run", false, "print the plan without applying it")

	var outFile string
	export := &cobra.Command{
		Use:   "export",
		Short: "Write the gateway's current state as a configuration file",
		Long:  "Export what the gateway holds as YAML that applies to it with no changes, so an existing deployment moves to Git in one step. Secrets are never exported: credentials keep their references.",
		Example: `  tollgate config export > gateway.yaml
  tollgate config export -f config/gateway.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel, c, err := client(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			st, err := Fetch(ctx, c)
			if err != nil {
				return err
			}
			cfg, notes := Export(st)
			b, err := Marshal(cfg)
			if err != nil {
				return err
			}
			for _, n := range notes {
				fmt.Fprintln(cmd.ErrOrStderr(), "note:", n)
			}
			if outFile == "" {
				_, err = cmd.OutOrStdout().Write(b)
				return err
			}
			return os.WriteFile(outFile, b, 0o644)
		},
	}
	export.Flags().StringVarP(&outFile, "file", "f", "", "write to this file instead of standard output")

	root.AddCommand(validate, diff, apply, export)
	return root
}

// loadValid loads and validates files.
func loadValid(paths []string) (*configfile.Loaded, error) {
	l, err := configfile.Load(paths...)
	if err != nil {
		return nil, err
	}
	if err := configfile.Validate(l); err != nil {
		return nil, err
	}
	return l, nil
}

// PlanFiles loads and validates files, reads the gateway's state and
// plans the changes (the managed marks come from the gateway).
func PlanFiles(ctx context.Context, c tollgate.AdminClient, paths []string, prune bool) (*State, *Plan, error) {
	l, err := loadValid(paths)
	if err != nil {
		return nil, nil, err
	}
	want, err := Desired(&l.Config)
	if err != nil {
		return nil, nil, err
	}
	cur, err := Fetch(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	managed, err := Managed(ctx, c, cur)
	if err != nil {
		return nil, nil, err
	}
	p, err := Compute(cur, want, PlanOptions{Prune: prune, Managed: managed})
	return cur, p, err
}

func summary(c *configfile.Config) string {
	return fmt.Sprintf("%d providers, %d models, %d routes, %d teams, %d keys, %d budgets, %d rate limits, %d guardrail policies, %d alert webhooks",
		len(c.Providers), len(c.Models), len(c.Routes), len(c.Teams), len(c.Keys), len(c.Budgets), len(c.RateLimits), len(c.Guardrails), len(c.Alerts))
}

func writeSecrets(w io.Writer, secrets []Secret) {
	for _, s := range secrets {
		fmt.Fprintf(w, "Secret of %s %s (shown once): %s\n", strings.ReplaceAll(string(s.Kind), "_", " "), s.Name, s.Value)
	}
}
