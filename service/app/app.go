// Package app is the tollgate command: it parses the command line and runs
// the chosen subcommand. main only calls Main, so tests can run the whole
// program in-process.
package app

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os/signal"
	"strings"
	"syscall"

	"github.com/tollgate-dev/tollgate/internal/version"
	"github.com/tollgate-dev/tollgate/service/server"
)

// Exit codes.
const (
	ExitOK    = 0
	ExitError = 1
	ExitUsage = 2
)

const usage = `tollgate is an AI gateway.

Usage:
  tollgate serve [flags]    run the gateway (tollgate serve -h lists the settings)
  tollgate version [--json] print the version, commit, build date and Go version (also --version)
  tollgate keys|teams|providers|models|usage|budgets|limits|routes|alerts|audit ...
  tollgate service-accounts|role-bindings|credentials|admin ...
                            manage a running gateway (tollgate keys -h lists them)
  tollgate login            log in with single sign-on (tollgate login -h)
  tollgate logout|whoami    forget the login, show who you are
`

// Main runs the tollgate command with args (without the program name) and
// returns the process exit code.
func Main(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return ExitUsage
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], getenv, stderr)
	case "version", "-version", "--version":
		return printVersion(args[1:], stdout, stderr)
	case "keys", "teams", "providers", "models", "usage", "budgets", "limits", "routes", "alerts", "audit",
		"service-accounts", "role-bindings", "credentials", "admin":
		return runClient(ctx, args, getenv, stdout, stderr)
	case "login":
		return runLogin(ctx, args[1:], getenv, stdout, stderr)
	case "logout":
		return runLogout(args[1:], getenv, stdout, stderr)
	case "whoami":
		return runWhoami(ctx, args[1:], getenv, stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return ExitOK
	}
	fmt.Fprintf(stderr, "tollgate: unknown command %q\n\n%s", args[0], usage)
	return ExitUsage
}

// serve runs `tollgate serve` until ctx is done or SIGINT/SIGTERM arrives.
// (Tests run the server in-process through service/server/servertest.)
func serve(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) int {
	fs := flag.NewFlagSet("tollgate serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := server.DefaultConfig()
	if err := cfg.RegisterFlags(fs, getenv); err != nil {
		fmt.Fprintln(stderr, "tollgate:", err)
		return ExitUsage
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return ExitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "tollgate serve: unexpected arguments %q\n", fs.Args())
		return ExitUsage
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(stderr, "tollgate serve: invalid configuration:\n "+strings.ReplaceAll(err.Error(), "\n", "\n "))
		return ExitUsage
	}
	log := newLogger(stderr, cfg.LogLevel)

	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	srv, err := server.New(ctx, cfg, log, server.WithAccessLog(stderr))
	if err != nil {
		log.Error("startup failed", "err", err)
		return ExitError
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		log.Error("listen failed", "addr", cfg.Addr, "err", err)
		return ExitError
	}
	if err := srv.Serve(ctx, ln); err != nil {
		log.Error("server failed", "err", err)
		return ExitError
	}
	log.Info("stopped")
	return ExitOK
}

// printVersion prints the build information, as one line or as JSON.
func printVersion(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tollgate version", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the build information as JSON")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return ExitUsage
	}
	info := version.Get()
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(info); err != nil {
			return ExitError
		}
		return ExitOK
	}
	fmt.Fprintln(stdout, info)
	return ExitOK
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}
