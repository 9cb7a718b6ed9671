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

	"github.com/tollgate-dev/tollgate/internal/gctune"
	"github.com/tollgate-dev/tollgate/internal/version"
	"github.com/tollgate-dev/tollgate/service/server"
)

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
	for _, w := range cfg.Warnings {
		fmt.Fprintln(stderr, "tollgate serve: warning:", w)
	}
	secrets, err := cfg.LoadDataDirSecrets()
	if err != nil {
		fmt.Fprintln(stderr, "tollgate serve: embedded store:", err)
		return ExitError
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(stderr, "tollgate serve: invalid configuration:\n "+strings.ReplaceAll(err.Error(), "\n", "\n "))
		return ExitUsage
	}
	printFirstStart(stderr, secrets)
	log := newLogger(stderr, cfg.LogLevel)
	// The collector's pace is the process's: set here, not by the server
	// (tests run many servers in one process). GOGC is the operator's.
	if h := cfg.GCHeadroom(); h > 0 && getenv("GOGC") == "" {
		defer gctune.Start(h, 100, log).Stop()
	}

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

// printFirstStart tells, once, what the embedded store generated on its
// first start: where the master key is, and the bootstrap admin token.
func printFirstStart(w io.Writer, s server.DataDirSecrets) {
	if !s.NewMasterKey && !s.NewAdminToken {
		return
	}
	fmt.Fprintf(w, "\ntollgate: first start of the embedded store in %s\n", s.Dir)
	if s.NewMasterKey {
		fmt.Fprintf(w, "  master key generated into %s (mode 0600): it seals provider credentials; keep it with the data\n", s.MasterKeyFile)
	}
	if s.NewAdminToken {
		fmt.Fprintf(w, "  admin token (shown only now; kept in %s, mode 0600):\n\n      %s\n\n", s.AdminTokenFile, s.AdminToken)
		fmt.Fprintf(w, "  e.g. TOLLGATE_ADMIN_TOKEN=$(cat %s) tollgate teams create demo\n", s.AdminTokenFile)
	}
	fmt.Fprintln(w)
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
