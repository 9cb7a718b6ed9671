package app

import (
	"context"
	"errors"
	"flag"
	"io"
	"time"

	"github.com/spf13/cobra"
)

// errCaptured stops a run after the command was parsed.
var errCaptured = errors.New("captured")

// parseCLI parses a client command line through the real command tree and
// returns the command it would run. Help returns flag.ErrHelp.
func parseCLI(args []string, getenv func(string) string, now time.Time) (*cliCommand, error) {
	var got *cliCommand
	c := &cli{getenv: getenv, stdout: io.Discard, stderr: io.Discard, now: now}
	c.run = func(_ context.Context, cmd *cliCommand) error {
		got = cmd
		return errCaptured
	}
	root := c.rootCommand()
	root.SetArgs(args)
	helped := false
	root.SetHelpFunc(func(*cobra.Command, []string) { helped = true })
	err := root.ExecuteContext(context.Background())
	switch {
	case helped:
		return nil, flag.ErrHelp
	case errors.Is(err, errCaptured):
		return got, nil
	case err == nil:
		return nil, errors.New("no client command ran")
	}
	return nil, err
}
