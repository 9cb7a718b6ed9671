package semcache

import (
	"context"
	"log/slog"
	"time"

	"github.com/tollgate-dev/tollgate/providers"
)

// EmbedderFunc adapts a function to [providers.Embedder], e.g. a closure
// that routes to the embedding model's provider.
type EmbedderFunc func(ctx context.Context, req *providers.EmbedRequest) (*providers.EmbedResponse, error)

// Embed calls f.
func (f EmbedderFunc) Embed(ctx context.Context, req *providers.EmbedRequest) (*providers.EmbedResponse, error) {
	return f(ctx, req)
}

var _ providers.Embedder = EmbedderFunc(nil)

// EmbedConfig names the embedding model of semantic lookups.
type EmbedConfig struct {
	// Model is the embedding model, sent as EmbedRequest.Model and stored
	// with every entry: entries of different models are never compared.
	Model string
	// Dims is the vector dimension the model returns (at most 2000, the
	// limit of an HNSW index); vectors of another length are rejected.
	Dims int
	// SendDimensions sets EmbedRequest.Dimensions to Dims, for models that
	// can shorten their vectors.
	SendDimensions bool
}

// Defaults of the options.
const (
	DefaultLookupTimeout       = 50 * time.Millisecond
	DefaultEmbedTimeout        = 300 * time.Millisecond
	DefaultWriteTimeout        = 2 * time.Second
	DefaultLRUEntries          = 10_000
	DefaultLRUBytes            = 64 << 20
	DefaultLRUTTL              = time.Minute
	DefaultQueueSize           = 1024
	DefaultWriters             = 2
	DefaultMaxEntryBytes       = 1 << 20
	DefaultMaxPerNamespace     = 100_000
	DefaultMaintenanceInterval = time.Minute
)

// Option configures [New].
type Option func(*options)

type options struct {
	embedder        providers.Embedder
	embed           EmbedConfig
	lookupTimeout   time.Duration
	embedTimeout    time.Duration
	writeTimeout    time.Duration
	lruEntries      int
	lruBytes        int64
	lruTTL          time.Duration
	queueSize       int
	writers         int
	maxEntryBytes   int
	maxPerNamespace int
	maintenance     time.Duration
	logger          *slog.Logger
	now             func() time.Time
}

func defaultOptions() options {
	return options{
		lookupTimeout:   DefaultLookupTimeout,
		embedTimeout:    DefaultEmbedTimeout,
		writeTimeout:    DefaultWriteTimeout,
		lruEntries:      DefaultLRUEntries,
		lruBytes:        DefaultLRUBytes,
		lruTTL:          DefaultLRUTTL,
		queueSize:       DefaultQueueSize,
		writers:         DefaultWriters,
		maxEntryBytes:   DefaultMaxEntryBytes,
		maxPerNamespace: DefaultMaxPerNamespace,
		maintenance:     DefaultMaintenanceInterval,
		logger:          slog.New(slog.DiscardHandler),
		now:             time.Now,
	}
}

// WithEmbedder enables semantic lookups with embeddings from e, which
// should be Tollgate's own provider layer (so the cache needs no
// credentials of its own). Without it, ModeSemantic behaves like ModeExact.
func WithEmbedder(e providers.Embedder, cfg EmbedConfig) Option {
	return func(o *options) { o.embedder, o.embed = e, cfg }
}

// WithLookupTimeout bounds each database query of a lookup (default 50ms).
// A lookup that runs out of time is a miss.
func WithLookupTimeout(d time.Duration) Option {
	return func(o *options) { o.lookupTimeout = d }
}

// WithEmbedTimeout bounds the embedding call of a semantic lookup (default
// 300ms). A lookup that runs out of time is a miss.
func WithEmbedTimeout(d time.Duration) Option {
	return func(o *options) { o.embedTimeout = d }
}

// WithWriteTimeout bounds each background write, embedding included
// (default 2s).
func WithWriteTimeout(d time.Duration) Option {
	return func(o *options) { o.writeTimeout = d }
}

// WithLRU bounds the in-process cache in front of Postgres by entries and
// bytes (defaults 10,000 and 64 MiB) and caps how long it keeps an entry
// (default one minute; this bounds how long a purge on another replica
// takes to reach this one). entries ≤ 0 disables it.
func WithLRU(entries int, bytes int64, ttl time.Duration) Option {
	return func(o *options) { o.lruEntries, o.lruBytes, o.lruTTL = entries, bytes, ttl }
}

// WithQueue sizes the background writer: queue capacity (default 1024;
// writes beyond it are dropped and counted) and number of concurrent
// writers (default 2).
func WithQueue(size, writers int) Option {
	return func(o *options) { o.queueSize, o.writers = size, writers }
}

// WithMaxEntryBytes sets the largest encoded entry that is stored (default
// 1 MiB).
func WithMaxEntryBytes(n int) Option {
	return func(o *options) { o.maxEntryBytes = n }
}

// WithMaxEntriesPerNamespace caps the Postgres entries of each namespace;
// maintenance deletes the oldest beyond it (default 100,000).
func WithMaxEntriesPerNamespace(n int) Option {
	return func(o *options) { o.maxPerNamespace = n }
}

// WithMaintenanceInterval sets how often Run evicts expired and surplus
// entries (default one minute).
func WithMaintenanceInterval(d time.Duration) Option {
	return func(o *options) { o.maintenance = d }
}

// WithLogger receives the failures the cache survives rather than returns
// (lookups and writes that failed and became misses or drops). The default
// discards them.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.logger = l
		}
	}
}

// WithClock replaces time.Now, for tests of expiry. Expiry is judged by this
// clock in Postgres too.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}
