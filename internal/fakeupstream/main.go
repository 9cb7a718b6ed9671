package fakeupstream

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"
)

// APIKeyEnv names the environment variable holding the API key the process
// requires (none when unset). Secrets are not taken from flags.
const APIKeyEnv = "TOLLGATE_FAKEUPSTREAM_API_KEY"

// Main runs the fake as a process until ctx is cancelled, then shuts down
// gracefully. args are the command-line flags (without the program name).
func Main(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("fakeupstream", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:9090", "listen address")
	latency := fs.Duration("latency", 0, "delay before the first byte of every answer")
	chunks := fs.Int("chunks", 4, "content deltas per streamed reply")
	chunkDelay := fs.Duration("chunk-delay", 0, "delay between stream events")
	reply := fs.String("reply", "", `fixed reply text (default "echo: <last user message>")`)
	dims := fs.Int("dims", 8, "default embedding dimension")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("fakeupstream: %w", err)
	}
	if *chunks < 1 || *dims < 1 || *latency < 0 || *chunkDelay < 0 {
		return errors.New("fakeupstream: -chunks and -dims must be positive, durations not negative")
	}
	fake := NewOpenAI(WithLatency(*latency), WithChunks(*chunks), WithChunkDelay(*chunkDelay),
		WithReply(*reply), WithEmbedDimensions(*dims), WithAPIKey(os.Getenv(APIKeyEnv)))
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("fakeupstream: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	return Serve(ctx, ln, fake, logger)
}

// Serve serves fake on ln until ctx is cancelled, then releases hanging
// handlers and shuts the server down, waiting up to 5 seconds.
func Serve(ctx context.Context, ln net.Listener, fake *OpenAI, logger *slog.Logger) error {
	srv := &http.Server{Handler: fake, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Info("fake OpenAI upstream listening", "base_url", "http://"+ln.Addr().String()+"/v1")
	select {
	case err := <-errc:
		return fmt.Errorf("fakeupstream: serve: %w", err)
	case <-ctx.Done():
	}
	fake.Close()
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("fakeupstream: shutdown: %w", err)
	}
	logger.Info("fake OpenAI upstream stopped")
	return nil
}
