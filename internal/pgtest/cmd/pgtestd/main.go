// Command pgtestd runs a local PostgreSQL server with pgvector for trying out
// the gateway. It starts a cluster, creates the database tollgate with the
// vector extension, prints
//
//	DATABASE_URL=postgres://postgres@127.0.0.1:PORT/tollgate?sslmode=disable
//
// on stdout and serves until SIGINT or SIGTERM, when it shuts the server
// down. Progress and errors go to stderr.
//
// Usage:
//
//	pgtestd [-dir DIR] [-port PORT]
//
// Without -dir the cluster lives in a temporary directory removed on exit.
// With -dir it lives in DIR and is reused by later runs, on the same port
// unless -port says otherwise or that port is taken. The server runs with
// fsync off: fine for a demo, not for data you cannot lose.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-dev/tollgate/internal/pgtest"
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
	if flags.NArg() > 0 {
		fmt.Fprintf(stderr, "pgtestd: unexpected arguments %q\n", flags.Args())
		return 2
	}
	logger := log.New(stderr, "pgtestd: ", log.Ltime)

	startCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := pgtest.CheckVector(startCtx); err != nil {
		logger.Print(err)
		return 1
	}
	c, err := pgtest.StartCluster(startCtx, pgtest.Options{Dir: *dir, Port: *port, Logf: logger.Printf})
	if err != nil {
		logger.Print(err)
		return 1
	}
	code := 0
	if err := createDatabase(startCtx, c); err != nil {
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
