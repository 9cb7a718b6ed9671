// Command pgtestd runs a local PostgreSQL server with pgvector, for trying
// out the gateway or for sharing one server among every test binary of a
// run. Progress and errors go to stderr.
//
// Usage:
//
//	pgtestd [-dir DIR] [-port PORT]
//	pgtestd [-dir DIR] [-port PORT] -- COMMAND [ARG...]
//
// Without a command, it starts a cluster, creates the database tollgate with
// the vector extension, prints
//
//	DATABASE_URL=postgres://postgres@127.0.0.1:PORT/tollgate?sslmode=disable
//
// on stdout and serves until SIGINT or SIGTERM, when it shuts the server
// down.
//
// With a command (`make test` runs `pgtestd -- go test ./...`), it starts a
// cluster, builds the template databases that pgtest.NewDatabase and
// pgtest.NewMigratedDatabase copy, runs the command with
// TOLLGATE_PGTEST_URL set to the server's admin database, shuts the server
// down when the command ends and exits with the command's exit code. Every
// test binary that uses pgtest.Run then shares this one server instead of
// starting its own.
//
// Without -dir the cluster lives in a temporary directory removed on exit.
// With -dir it lives in DIR and is reused by later runs, on the same port
// unless -port says otherwise or that port is taken. The server runs with
// fsync off: fine for a demo, not for data you cannot lose.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-dev/tollgate/internal/pgtest"
	"github.com/tollgate-dev/tollgate/service/store/pgstore"
)

// database is the database created for the gateway.
const database = "tollgate"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole command; it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("pgtestd", flag.ContinueOnError)
	flags.SetOutput(stderr)
	dir := flags.String("dir", "", "keep the cluster in `DIR` and reuse it on later runs (default: a temporary directory removed on exit)")
	port := flags.Int("port", 0, "listen on 127.0.0.1:`PORT` (default: the port last used in -dir if free, else any free port)")
	if err := flags.Parse(args); err != nil {
		return 2
	}
	command := flags.Args()
	logger := log.New(stderr, "pgtestd: ", log.Ltime)

	startCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := pgtest.CheckVector(startCtx); err != nil {
		logger.Print(err)
		return 1
	}
	opts := pgtest.Options{Dir: *dir, Port: *port, Logf: logger.Printf}
	if len(command) > 0 {
		// Every test binary of a run, each with parallel tests and
		// gateways holding pools, connects to this one server.
		opts.MaxConnections = 1000
	}
	c, err := pgtest.StartCluster(startCtx, opts)
	if err != nil {
		logger.Print(err)
		return 1
	}
	code := 0
	if len(command) > 0 {
		code = runCommand(ctx, startCtx, c, command, stdout, stderr, logger)
	} else if err := createDatabase(startCtx, c); err != nil {
		logger.Print(err)
		code = 1
	} else {
		fmt.Fprintf(stdout, "DATABASE_URL=%s\n", c.DSN(database))
		logger.Printf("serving; server log %s; stop with ^C", c.LogPath())
		<-ctx.Done()
		logger.Print("shutting down")
	}

	// A clean shutdown first, so that a persistent cluster needs no crash
	// recovery on its next start.
	stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Stop(stopCtx); err != nil {
		logger.Print(err)
		code = 1
	}
	if err := c.Close(); err != nil {
		logger.Print(err)
		code = 1
	}
	return code
}

// runCommand builds the test templates on c and runs command with
// TOLLGATE_PGTEST_URL naming c's admin database; it returns the command's
// exit code. SIGINT and SIGTERM reach the command (ctx ends), which then
// has a moment to clean up before it is killed.
func runCommand(ctx, startCtx context.Context, c *pgtest.Cluster, command []string, stdout, stderr io.Writer, logger *log.Logger) int {
	began := time.Now()
	// The migrated template also gets what pgstore.Open adds (the coming
	// week's request-record partitions), so that tests' Opens are cheap.
	openStore := func(ctx context.Context, dsn string) error {
		s, err := pgstore.Open(ctx, dsn)
		if err != nil {
			return err
		}
		s.Close()
		return nil
	}
	if err := pgtest.PrepareTemplates(startCtx, c.DSN("postgres"), openStore); err != nil {
		logger.Print(err)
		return 1
	}
	logger.Printf("template databases ready in %v; running %s", time.Since(began).Round(time.Millisecond), abbreviate(command, 12))
	cmd := exec.CommandContext(ctx, command[0], command[1:]...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	cmd.Env = append(os.Environ(), pgtest.EnvURL+"="+c.DSN("postgres"))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit) && exit.ExitCode() > 0:
		return exit.ExitCode()
	default:
		logger.Printf("%s: %v", command[0], err)
		return 1
	}
}

// createDatabase creates the gateway's database with the vector extension,
// unless a reused cluster already has them.
func createDatabase(ctx context.Context, c *pgtest.Cluster) error {
	admin, err := pgx.Connect(ctx, c.DSN("postgres"))
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer admin.Close(context.Background())
	var exists bool
	if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", database).Scan(&exists); err != nil {
		return fmt.Errorf("look up database %s: %w", database, err)
	}
	if !exists {
		if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{database}.Sanitize()); err != nil {
			return fmt.Errorf("create database %s: %w", database, err)
		}
	}

	conn, err := pgx.Connect(ctx, c.DSN(database))
	if err != nil {
		return fmt.Errorf("connect to %s: %w", database, err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS vector"); err != nil {
		return fmt.Errorf("create extension vector in %s: %w", database, err)
	}
	return nil
}

// abbreviate quotes the first n arguments of command and counts the rest
// (make test passes a few hundred package paths).
func abbreviate(command []string, n int) string {
	if len(command) <= n {
		return fmt.Sprintf("%q", command)
	}
	return fmt.Sprintf("%q and %d more arguments", command[:n], len(command)-n)
}
