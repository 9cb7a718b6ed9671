package app

import (
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/tollgate-dev/tollgate/service/cliconfig"
)

// contextCommand is `tollgate context`: named gateways with their
// credentials in ~/.config/tollgate/config.yaml, like kubectl's contexts.
func (c *cli) contextCommand() *cobra.Command {
	group := c.groupCommand("context", "Saved gateways and their credentials (~/.config/tollgate/config.yaml)")
	group.GroupID = "cli"
	group.Long = `A context is a named gateway (its URL) with a credential: a login
(tollgate login --context NAME), an admin or service-account token read once
from a file or the environment and kept in tokens/NAME.json (mode 0600), or
the name of an environment variable read at each call (--token-env, for CI).
The directory is ~/.config/tollgate ($TOLLGATE_CONFIG_DIR or
$XDG_CONFIG_HOME/tollgate override it). Every command uses the current
context unless --context, --url/--token or $TOLLGATE_URL/$TOLLGATE_ADMIN_TOKEN
say otherwise.`

	var url, tokenFile, tokenFromEnv, tokenEnv string
	var use bool
	add := &cobra.Command{
		Use:   "add NAME --url URL [--token-file FILE | --token-from-env VAR | --token-env VAR] [--use]",
		Short: "Add or replace a context",
		Example: indent("tollgate context add prod --url https://gateway.example.com --token-file ~/.tollgate-admin-token --use\n" +
			"tollgate context add ci --url http://127.0.0.1:8080 --token-env TOLLGATE_CI_TOKEN\n" +
			"tollgate context add staging --url https://staging.example.com && tollgate login --context staging"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c.lastPath = cmd.CommandPath()
			if len(args) != 1 || !cliconfig.ValidName(args[0]) {
				return usageErrorf("want one context NAME (letters, digits, '.', '_', '-'), got %q", args)
			}
			name := args[0]
			if url == "" {
				return usageErrorf("--url is required")
			}
			server, err := clientURL(url)
			if err != nil {
				return err
			}
			n := 0
			for _, v := range []string{tokenFile, tokenFromEnv, tokenEnv} {
				if v != "" {
					n++
				}
			}
			if n > 1 {
				return usageErrorf("--token-file, --token-from-env and --token-env exclude each other")
			}
			var static string
			switch {
			case tokenFile != "":
				b, err := os.ReadFile(tokenFile)
				if err != nil {
					return usageErrorf("--token-file: %v", err)
				}
				static = strings.TrimSpace(string(b))
			case tokenFromEnv != "":
				if static = c.getenv(tokenFromEnv); static == "" {
					return usageErrorf("--token-from-env: $%s is empty", tokenFromEnv)
				}
			}
			dir, cfg, err := c.loadConfig()
			if err != nil {
				return err
			}
			ctx := cliconfig.Context{Name: name, Server: server, TokenEnv: tokenEnv}
			if old, ok := cfg.Get(name); ok && old.Server == server && static == "" && tokenEnv == "" {
				ctx.OIDC = old.OIDC // re-adding keeps the login
			}
			cfg.Put(ctx)
			if use || cfg.CurrentContext == "" {
				cfg.CurrentContext = name
			}
			if err := cfg.Save(dir); err != nil {
				return err
			}
			if static != "" {
				if err := cliconfig.SaveToken(dir, name, &cliconfig.Token{AccessToken: static, TokenType: cliconfig.StaticTokenType}); err != nil {
					return err
				}
			} else if tokenEnv != "" {
				_ = cliconfig.DeleteToken(dir, name)
			}
			fmt.Fprintf(c.stdout, "context %s: %s", name, server)
			if cfg.CurrentContext == name {
				fmt.Fprint(c.stdout, " (current)")
			}
			fmt.Fprintln(c.stdout)
			return nil
		},
	}
	add.Flags().StringVar(&url, "url", "", "the gateway's URL")
	add.Flags().StringVar(&tokenFile, "token-file", "", "read the admin credential from this file now and keep it (mode 0600)")
	add.Flags().StringVar(&tokenFromEnv, "token-from-env", "", "read the admin credential from this variable now and keep it (mode 0600)")
	add.Flags().StringVar(&tokenEnv, "token-env", "", "read the admin credential from this variable at every call (nothing kept)")
	add.Flags().BoolVar(&use, "use", false, "make it the current context")
	// The context's --url shadows the global one on purpose.

	useCmd := &cobra.Command{
		Use:               "use NAME",
		Short:             "Make a context the current one",
		Example:           indent("tollgate context use prod"),
		ValidArgsFunction: c.completeContexts,
		RunE: func(cmd *cobra.Command, args []string) error {
			c.lastPath = cmd.CommandPath()
			if len(args) != 1 {
				return usageErrorf("want exactly one context NAME, got %q", args)
			}
			dir, cfg, err := c.loadConfig()
			if err != nil {
				return err
			}
			if _, ok := cfg.Get(args[0]); !ok || args[0] == "" {
				return &notFoundError{msg: fmt.Sprintf("no context %q (tollgate context list)", args[0])}
			}
			cfg.CurrentContext = args[0]
			if err := cfg.Save(dir); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "current context: %s\n", args[0])
			return nil
		},
	}
	list := &cobra.Command{
		Use:     "list",
		Short:   "List the contexts (* marks the current one)",
		Example: indent("tollgate context list"),
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c.lastPath = cmd.CommandPath()
			dir, cfg, err := c.loadConfig()
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "CURRENT\tNAME\tURL\tCREDENTIAL")
			for _, x := range cfg.Contexts {
				cur := ""
				if x.Name == cfg.CurrentContext {
					cur = "*"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", cur, x.Name, x.Server, credentialKind(dir, x))
			}
			return tw.Flush()
		},
	}
	del := &cobra.Command{
		Use:               "delete NAME",
		Short:             "Forget a context and its credential",
		Example:           indent("tollgate context delete staging"),
		ValidArgsFunction: c.completeContexts,
		RunE: func(cmd *cobra.Command, args []string) error {
			c.lastPath = cmd.CommandPath()
			if len(args) != 1 {
				return usageErrorf("want exactly one context NAME, got %q", args)
			}
			dir, cfg, err := c.loadConfig()
			if err != nil {
				return err
			}
			if _, ok := cfg.Get(args[0]); !ok || args[0] == "" {
				return &notFoundError{msg: fmt.Sprintf("no context %q (tollgate context list)", args[0])}
			}
			cfg.Remove(args[0])
			if err := cfg.Save(dir); err != nil {
				return err
			}
			if err := cliconfig.DeleteToken(dir, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "deleted context %s\n", args[0])
			return nil
		},
	}
	group.AddCommand(add, useCmd, list, del)
	return group
}

func credentialKind(dir string, x cliconfig.Context) string {
	if x.TokenEnv != "" {
		return "$" + x.TokenEnv
	}
	t, err := cliconfig.LoadToken(dir, x.Name)
	switch {
	case err != nil:
		return "unreadable"
	case t == nil:
		return "none"
	case t.TokenType == cliconfig.StaticTokenType:
		return "token"
	}
	return "login"
}

func (c *cli) loadConfig() (string, *cliconfig.Config, error) {
	dir, err := cliconfig.Dir(c.getenv)
	if err != nil {
		return "", nil, err
	}
	cfg, err := cliconfig.Load(dir)
	return dir, cfg, err
}

// completeContexts completes context names.
func (c *cli) completeContexts(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	_, cfg, err := c.loadConfig()
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	names := make([]string, 0, len(cfg.Contexts))
	for _, x := range cfg.Contexts {
		names = append(names, x.Name)
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}

// notFoundError is a missing local thing, such as a context (exit code 3).
type notFoundError struct{ msg string }

func (e *notFoundError) Error() string { return e.msg }
