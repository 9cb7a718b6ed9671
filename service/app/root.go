package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"

	tollgate "github.com/tollgate-dev/tollgate/clients/go"
)

// Exit codes of the tollgate command. They are stable: scripts may test
// them. docs/cli.md lists them.
const (
	// ExitOK: the command did what it was asked.
	ExitOK = 0
	// ExitError: anything else went wrong (gateway unreachable or failing,
	// output not writable, the server failed to start).
	ExitError = 1
	// ExitUsage: the command line or an input was wrong (unknown command or
	// flag, bad value, missing operand, a destructive command without
	// --yes and no terminal to ask on, or the gateway's invalid_argument).
	ExitUsage = 2
	// ExitNotFound: the resource does not exist (not_found).
	ExitNotFound = 3
	// ExitAuth: no credential, or the gateway refused it
	// (unauthenticated, permission_denied).
	ExitAuth = 4
	// ExitConflict: the resource exists already or changed meanwhile
	// (already_exists, failed_precondition such as an etag mismatch, aborted).
	ExitConflict = 5
)

// Dialer returns a client for the gateway the command line names: --url,
// --token and --context, then $TOLLGATE_URL and $TOLLGATE_ADMIN_TOKEN, then
// the current context (tollgate context, tollgate login).
//
// It is an alias, so a package can accept one without importing app.
type Dialer = func(ctx context.Context) (*tollgate.Client, error)

// CommandFactory builds a top-level command that Main mounts under the root
// (e.g. `tollgate config`). dial connects to the gateway the global flags
// name (call it in RunE, after flag parsing). The command writes to
// cmd.OutOrStdout() and cmd.ErrOrStderr(); its errors go through the root's
// error printing and exit codes: return an error wrapping the
// *connect.Error of an RPC failure, or UsageError(err) for bad input.
// Errors are printed as "tollgate config apply: <message>".
type CommandFactory = func(dial Dialer) *cobra.Command

// UsageError marks an error as a command-line mistake (exit code 2).
func UsageError(err error) error { return &usageError{msg: err.Error()} }

// usageError is a command-line mistake (exit code 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// exitError carries an exit code for a failure already reported on stderr.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// Main runs the tollgate command with args (without the program name) and
// returns the process exit code. extra are further top-level commands
// mounted under the root (cmd/tollgate passes `tollgate config`).
func Main(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, extra ...CommandFactory) int {
	if len(args) > 0 && (args[0] == "-version" || args[0] == "--version") {
		return printVersion(args[1:], stdout, stderr)
	}
	c := &cli{getenv: getenv, stdout: stdout, stderr: stderr, stdin: os.Stdin, now: time.Now()}
	c.run = c.runClient
	root := c.rootCommand(extra...)
	root.SetArgs(args)
	return c.exit(root.ExecuteContext(ctx))
}

// cli is one run of the command line: its environment, the global flags
// and what a parsed client command does.
type cli struct {
	getenv         func(string) string
	stdout, stderr io.Writer
	stdin          *os.File
	now            time.Time

	// Global flags.
	url, addr, token, contextName, output string
	json                                  bool

	// run executes a parsed client command (tests capture it instead).
	run func(ctx context.Context, cmd *cliCommand) error
	// lastPath is the command path of the command that ran, for messages.
	lastPath string
}

const rootLong = `tollgate is an AI gateway: one endpoint for OpenAI, Anthropic, Gemini and
compatible providers, with keys, budgets, rate limits, routing, guardrails,
caching and usage accounting.

"tollgate serve" runs the gateway; every other command manages a running one
with an admin credential.

Gateway and credential (first found wins):
  --url URL, --token TOKEN       flags (may stand anywhere on the line)
  --context NAME                 a saved context (tollgate context add, tollgate login)
  $TOLLGATE_URL, $TOLLGATE_ADMIN_TOKEN
  the current context, then http://127.0.0.1:8080

Output (-o): table (default), wide (more columns), json, yaml, or
go-template=TEMPLATE (a Go text/template over the JSON form).

Exit codes: 0 ok, 1 error, 2 usage (bad command line or input), 3 not found,
4 no credential or not allowed, 5 conflict (exists already, or an --etag that
no longer matches).`

// rootCommand builds the command tree.
func (c *cli) rootCommand(extra ...CommandFactory) *cobra.Command {
	root := &cobra.Command{
		Use:           "tollgate",
		Short:         "Tollgate, an AI gateway",
		Long:          rootLong,
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				cmd.SetOut(c.stderr)
				_ = cmd.Help()
				return &exitError{code: ExitUsage}
			}
			return usageErrorf("unknown command %q", args[0])
		},
		PersistentPreRun: func(cmd *cobra.Command, _ []string) {
			c.lastPath = cmd.CommandPath()
		},
	}
	root.SetOut(c.stdout)
	root.SetErr(c.stderr)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		c.lastPath = cmd.CommandPath()
		return &usageError{msg: cleanFlagError(err)}
	})
	pf := root.PersistentFlags()
	pf.StringVar(&c.url, "url", "", "the gateway's URL ($TOLLGATE_URL; default: the context's, then http://127.0.0.1:8080)")
	pf.StringVar(&c.addr, "addr", "", "the gateway's URL (deprecated: use --url)")
	_ = pf.MarkHidden("addr")
	pf.StringVar(&c.token, "token", "", "an admin credential: the admin token or a service-account token (prefer $TOLLGATE_ADMIN_TOKEN: flags show in ps)")
	pf.StringVar(&c.contextName, "context", "", "the context to use (default: the current one; tollgate context list)")
	pf.StringVarP(&c.output, "output", "o", "table", "output format: table, wide, json, yaml or go-template=TEMPLATE")
	pf.BoolVar(&c.json, "json", false, "print JSON (the same as -o json)")
	_ = pf.MarkHidden("json")
	_ = root.RegisterFlagCompletionFunc("output", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{"table", "wide", "json", "yaml", "go-template="}, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	})
	_ = root.RegisterFlagCompletionFunc("context", c.completeContexts)

	root.AddGroup(&cobra.Group{ID: "server", Title: "Running the gateway:"},
		&cobra.Group{ID: "manage", Title: "Managing a gateway:"},
		&cobra.Group{ID: "cli", Title: "Setting up the CLI:"})
	root.SetHelpCommandGroupID("cli")
	root.SetCompletionCommandGroupID("cli")
	for _, cmd := range c.passthroughCommands() {
		root.AddCommand(cmd)
	}
	for _, cmd := range c.clientCommands() {
		cmd.GroupID = "manage"
		root.AddCommand(cmd)
	}
	root.AddCommand(c.contextCommand())
	for _, f := range extra {
		cmd := f(c.dial)
		if cmd.GroupID == "" {
			cmd.GroupID = "manage"
		}
		root.AddCommand(cmd)
	}
	return root
}

// passthroughCommands are the commands that keep their own flag parsing:
// serve's flags are the server's settings (server.Settings, in
// docs/operations.md), shared with $TOLLGATE_* variables.
func (c *cli) passthroughCommands() []*cobra.Command {
	pass := func(use, short, group string, run func(ctx context.Context, args []string) int) *cobra.Command {
		return &cobra.Command{
			Use:                use,
			Short:              short,
			GroupID:            group,
			DisableFlagParsing: true,
			RunE: func(cmd *cobra.Command, args []string) error {
				if code := run(cmd.Context(), args); code != ExitOK {
					return &exitError{code: code}
				}
				return nil
			},
		}
	}
	serveCmd := pass("serve [flags]", "Run the gateway (tollgate serve -h lists the settings)", "server",
		func(ctx context.Context, args []string) int { return serve(ctx, args, c.getenv, c.stderr) })
	serveCmd.Example = "  tollgate serve -data-dir /var/lib/tollgate\n  TOLLGATE_DATABASE_URL=postgres://... tollgate serve -addr :8080"
	return []*cobra.Command{
		serveCmd,
		pass("store copy --from sqlite:DIR --to postgres://...", "Move the embedded store's data to PostgreSQL (tollgate store -h)", "server",
			func(ctx context.Context, args []string) int { return runStore(ctx, args, c.getenv, c.stdout, c.stderr) }),
		pass("version [--json]", "Print the version, commit, build date and Go version", "cli",
			func(_ context.Context, args []string) int { return printVersion(args, c.stdout, c.stderr) }),
		pass("login [flags]", "Log in with single sign-on (tollgate login -h)", "cli",
			func(ctx context.Context, args []string) int { return runLogin(ctx, args, c.getenv, c.stdout, c.stderr) }),
		pass("logout [--context NAME]", "Forget a context's login", "cli",
			func(_ context.Context, args []string) int { return runLogout(args, c.getenv, c.stdout, c.stderr) }),
		pass("whoami [--context NAME]", "Show who the gateway takes you for", "cli",
			func(ctx context.Context, args []string) int {
				return runWhoami(ctx, args, c.getenv, c.stdout, c.stderr)
			}),
	}
}

// exit prints err (if it was not printed yet) and returns its exit code.
func (c *cli) exit(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	prefix := "tollgate"
	if c.lastPath != "" {
		prefix = c.lastPath
	}
	code := exitCode(err)
	msg := err.Error()
	var ue *usageError
	if errors.As(err, &ue) || code == ExitUsage {
		fmt.Fprintf(c.stderr, "%s: %s\n", prefix, msg)
		if errors.As(err, &ue) {
			fmt.Fprintf(c.stderr, "Run '%s --help' for usage.\n", prefix)
		}
		return ExitUsage
	}
	fmt.Fprintf(c.stderr, "%s: %s\n", prefix, msg)
	return code
}

// exitCode maps an error to its exit code.
func exitCode(err error) int {
	var ue *usageError
	if errors.As(err, &ue) {
		return ExitUsage
	}
	var ae *authError
	if errors.As(err, &ae) {
		return ExitAuth
	}
	var nf *notFoundError
	if errors.As(err, &nf) {
		return ExitNotFound
	}
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return ExitError
	}
	switch ce.Code() {
	case connect.CodeInvalidArgument, connect.CodeOutOfRange:
		return ExitUsage
	case connect.CodeNotFound:
		return ExitNotFound
	case connect.CodeUnauthenticated, connect.CodePermissionDenied:
		return ExitAuth
	case connect.CodeAlreadyExists, connect.CodeFailedPrecondition, connect.CodeAborted:
		return ExitConflict
	}
	return ExitError
}

// cleanFlagError rewrites pflag's messages for people: no Go parser
// errors such as strconv.ParseInt.
func cleanFlagError(err error) string {
	msg := err.Error()
	// invalid argument "many" for "--tokens" flag: strconv.ParseInt: parsing "many": invalid syntax
	if i := strings.Index(msg, " flag: "); i > 0 && strings.HasPrefix(msg, "invalid argument ") {
		head, detail := msg[:i], msg[i+len(" flag: "):]
		head = strings.Replace(head, "invalid argument", "invalid value", 1)
		switch {
		case strings.Contains(detail, "strconv.ParseInt"), strings.Contains(detail, "strconv.ParseUint"):
			return head + ": want a whole number"
		case strings.Contains(detail, "strconv.ParseFloat"):
			return head + ": want a number"
		case strings.Contains(detail, "strconv.ParseBool"):
			return head + ": want true or false"
		case strings.Contains(detail, "time: "):
			return head + ": want a duration such as 90s, 30m or 12h"
		case strings.HasPrefix(detail, "parse error"):
			return head + ": not a valid value"
		}
		return head + ": " + detail
	}
	return msg
}
