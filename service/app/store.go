package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/tollgate-dev/tollgate/semcache"
	"github.com/tollgate-dev/tollgate/service/server"
	"github.com/tollgate-dev/tollgate/service/store/pgstore"
	"github.com/tollgate-dev/tollgate/service/store/sqlitestore"
	"github.com/tollgate-dev/tollgate/service/storecopy"
)

const storeUsage = `Usage:
  tollgate store copy --from sqlite:DIR [--to postgres://...] [--cache]

Copies everything a gateway on the embedded store keeps (configuration,
keys as hashes, budgets with their spend, records, the audit log and, with
--cache, the response cache) into an empty PostgreSQL database, then checks
the counts, the usage totals per team and every budget's spend.

Stop the gateway that uses DIR first (the copy takes its lock). --to
defaults to $TOLLGATE_DATABASE_URL, which keeps the password out of process
listings. Start the gateway on PostgreSQL with the same master key
(DIR/master.key): provider credentials stay sealed under it.

Flags:
`

// runStore runs `tollgate store SUBCOMMAND`.
func runStore(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "copy" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprint(stdout, storeUsage)
			return ExitOK
		}
		fmt.Fprint(stderr, storeUsage)
		return ExitUsage
	}
	fs := flag.NewFlagSet("tollgate store copy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, storeUsage); fs.PrintDefaults() }
	from := fs.String("from", "", "the embedded store to copy: sqlite:DIR (its data directory)")
	to := fs.String("to", getenv("TOLLGATE_DATABASE_URL"), "the PostgreSQL database to fill (empty), default $TOLLGATE_DATABASE_URL")
	cache := fs.Bool("cache", false, "copy the response cache's live entries too (their vectors need pgvector in the target)")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return ExitUsage
	}
	dir, ok := strings.CutPrefix(*from, "sqlite:")
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "tollgate store copy: unexpected arguments %q\n", fs.Args())
		return ExitUsage
	case !ok || dir == "":
		fmt.Fprintln(stderr, "tollgate store copy: --from sqlite:DIR is required (the gateway's -data-dir)")
		return ExitUsage
	case *to == "":
		fmt.Fprintln(stderr, "tollgate store copy: --to postgres://... (or $TOLLGATE_DATABASE_URL) is required")
		return ExitUsage
	}
	if _, err := os.Stat(filepath.Join(dir, sqlitestore.DBFile)); err != nil {
		fmt.Fprintf(stderr, "tollgate store copy: %s is not a data directory of the embedded store: %v\n", dir, err)
		return ExitError
	}
	src, err := sqlitestore.Open(ctx, dir)
	if errors.Is(err, sqlitestore.ErrLocked) {
		fmt.Fprintf(stderr, "tollgate store copy: a gateway is running on %s: stop it first, so that nothing changes during the copy\n", dir)
		return ExitError
	}
	if err != nil {
		fmt.Fprintln(stderr, "tollgate store copy:", err)
		return ExitError
	}
	defer src.Close()
	var popts []pgstore.Option
	if !*cache {
		popts = append(popts, pgstore.WithoutVector())
	}
	dst, err := pgstore.Open(ctx, *to, popts...)
	if err != nil {
		fmt.Fprintln(stderr, "tollgate store copy: open the target:", err)
		return ExitError
	}
	defer dst.Close()

	o := storecopy.Options{Progress: func(step string) { fmt.Fprintf(stderr, "copying %s...\n", step) }}
	if *cache {
		o.CacheFrom, o.CacheTo = semcache.SQLite(src.DB()), semcache.Postgres(dst.Pool())
	}
	rep, err := storecopy.Copy(ctx, src, dst, o)
	if rep != nil && len(rep.Counts) > 0 {
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "KIND\tSOURCE\tTARGET")
		for _, c := range rep.Counts {
			fmt.Fprintf(tw, "%s\t%d\t%d\n", c.Kind, c.Source, c.Target)
		}
		_ = tw.Flush()
	}
	if err != nil {
		fmt.Fprintln(stderr, "tollgate store copy:", err)
		return ExitError
	}
	fmt.Fprintf(stdout, "verified: every count matches, and so do the usage totals of each team (%d) and the spend of each budget period (%d)\n",
		rep.Teams, rep.Budgets)
	if *cache {
		fmt.Fprintf(stdout, "cache entries copied with their vectors: %d\n", rep.CacheVectors)
	}
	abs, _ := filepath.Abs(dir)
	mk, tok := filepath.Join(abs, server.MasterKeyFile), filepath.Join(abs, server.AdminTokenFile)
	if _, err := os.Stat(mk); err == nil {
		fmt.Fprintf(stdout, "\nStart the gateway on PostgreSQL with the embedded store's master key and admin token:\n"+
			"  TOLLGATE_MASTER_KEY=$(cat %s) TOLLGATE_ADMIN_TOKEN=$(cat %s) \\\n  TOLLGATE_DATABASE_URL=... tollgate serve\n", mk, tok)
	} else {
		fmt.Fprintln(stdout, "\nStart the gateway on PostgreSQL with the master key the embedded gateway ran with.")
	}
	return ExitOK
}
