package providers

import (
	"context"
	"net/http"
)

// Provider is an upstream that serves chat completions.
//
// Implementations must be safe for concurrent use, must honour ctx
// cancellation by aborting the upstream request, and must report upstream
// failures as [*Error].
type Provider interface {
	// ID is the provider instance id, e.g. "openai-prod".
	ID() string
	// Capabilities reports what the upstream supports.
	Capabilities() Capabilities
	// Chat sends a request and returns the complete response.
	Chat(ctx context.Context, req *ChatRequest) (*ChatResponse, error)
	// ChatStream sends a request and returns a stream of chunks. The stream
	// ends when ctx is cancelled or Close is called.
	ChatStream(ctx context.Context, req *ChatRequest) (Stream, error)
}

// Embedder is a Provider that also serves embeddings.
type Embedder interface {
	// Embed returns one vector per input.
	Embed(ctx context.Context, req *EmbedRequest) (*EmbedResponse, error)
}

// ModelLister is a Provider that can list the upstream's models.
type ModelLister interface {
	// ListModels returns the upstream's model ids.
	ListModels(ctx context.Context) ([]string, error)
}

// Stream is a streamed chat completion.
type Stream interface {
	// Recv returns the next chunk, or io.EOF after the last one. A failure
	// mid-stream is returned as an error (usually [*Error]). A chunk that
	// carries nothing but the upstream's bytes (Raw, no choices, no usage)
	// may be reused by the next Recv: a caller that keeps chunks copies
	// them.
	Recv() (*Chunk, error)
	// Header returns the upstream's response headers.
	Header() http.Header
	// Close releases the upstream connection. It is safe to call more than once.
	Close() error
}

// ReadyStream is a Stream that can tell whether its next Recv returns
// without waiting for the upstream: the next chunk (or the end) is
// already read. A surface flushes its caller's connection once per run of
// chunks that arrived together, instead of once per chunk; a stream that
// cannot tell reports false, and every chunk is flushed.
type ReadyStream interface {
	Stream
	Ready() bool
}

// Capabilities describes what an upstream supports.
type Capabilities struct {
	// Dialect is the upstream wire format, e.g. "openai" or "anthropic".
	// Requests carrying passthrough fields of the same dialect keep them.
	Dialect string
	// Tools reports support for function calling.
	Tools bool
	// Images reports support for image inputs.
	Images bool
	// Embeddings reports support for embeddings.
	Embeddings bool
	// StreamUsage reports that streams end with a usage report; when false
	// the gateway estimates usage.
	StreamUsage bool
}

// Config configures one provider instance.
type Config struct {
	// ID is the provider instance id.
	ID string
	// Type is the dialect name, e.g. "openai".
	Type string
	// BaseURL is the API base URL; empty means the type's default.
	BaseURL string
	// APIKey is the credential. It must never be logged or returned.
	APIKey string
	// Settings are dialect-specific options.
	Settings map[string]string
	// HTTPClient is the client to use; a shared default when nil.
	HTTPClient *http.Client
}

// String hides the credential so that a Config can be logged safely.
func (c Config) String() string {
	return "providers.Config{ID:" + c.ID + " Type:" + c.Type + " BaseURL:" + c.BaseURL + " APIKey:[redacted]}"
}

// GoString hides the credential from %#v.
func (c Config) GoString() string { return c.String() }
