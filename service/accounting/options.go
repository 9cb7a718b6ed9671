package accounting

import (
	"log/slog"
	"time"
)

// Defaults used when an option is not given or is given a value ≤ 0.
const (
	DefaultBatchSize       = 500
	DefaultFlushInterval   = 200 * time.Millisecond
	DefaultQueueCapacity   = 65536
	DefaultMaxPending      = 65536
	DefaultSpillAfter      = 5 * time.Second
	DefaultSegmentRecords  = 10000
	DefaultMinBackoff      = 100 * time.Millisecond
	DefaultMaxBackoff      = 5 * time.Second
	DefaultBatchTimeout    = 5 * time.Second
	DefaultShutdownTimeout = 10 * time.Second
)

// config is the Writer's settings after options were applied.
type config struct {
	batchSize       int
	flushInterval   time.Duration
	queueCapacity   int
	maxPending      int
	spillDir        string
	spillAfter      time.Duration
	segmentRecords  int
	minBackoff      time.Duration
	maxBackoff      time.Duration
	batchTimeout    time.Duration
	shutdownTimeout time.Duration
	logger          *slog.Logger
}

func defaultConfig() config {
	return config{
		batchSize:       DefaultBatchSize,
		flushInterval:   DefaultFlushInterval,
		queueCapacity:   DefaultQueueCapacity,
		maxPending:      DefaultMaxPending,
		spillAfter:      DefaultSpillAfter,
		segmentRecords:  DefaultSegmentRecords,
		minBackoff:      DefaultMinBackoff,
		maxBackoff:      DefaultMaxBackoff,
		batchTimeout:    DefaultBatchTimeout,
		shutdownTimeout: DefaultShutdownTimeout,
		logger:          slog.New(slog.DiscardHandler),
	}
}

// normalize enforces the relations between settings.
func (c *config) normalize() {
	// One batch is always kept in memory as the retry probe, so the memory
	// bound cannot be smaller than a batch.
	c.maxPending = max(c.maxPending, c.batchSize)
	c.maxBackoff = max(c.maxBackoff, c.minBackoff)
}

// Option configures a Writer.
type Option func(*config)

// WithBatchSize sets the largest number of records passed to one
// InsertRecords call. Default [DefaultBatchSize].
func WithBatchSize(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.batchSize = n
		}
	}
}

// WithFlushInterval sets how long a record may wait for its batch to fill
// before a partial batch is written. Default [DefaultFlushInterval].
func WithFlushInterval(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.flushInterval = d
		}
	}
}

// WithQueueCapacity bounds the number of records Record buffers for Run.
// Run drains the queue continuously, so it fills only when Run is not
// running or cannot keep up; records beyond it are appended to the spill
// directory by Record itself, or dropped when there is none.
// Default [DefaultQueueCapacity].
func WithQueueCapacity(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.queueCapacity = n
		}
	}
}

// WithMaxPending bounds the number of records Run holds in memory while the
// sink fails or lags. Beyond it Run spills them to the spill directory or,
// without one, drops the oldest. It is raised to the batch size if smaller.
// Default [DefaultMaxPending].
func WithMaxPending(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxPending = n
		}
	}
}

// WithSpillDir makes the Writer persist records it cannot write to the sink
// in segment files under dir (created with mode 0700 if missing), replay
// them when the sink recovers, and replay segments left by a previous
// process at start. A directory must be used by one Writer at a time.
//
// Without a spill directory the Writer keeps at most WithMaxPending records
// in memory during an outage and drops the oldest beyond that; records still
// in memory when the process dies are lost.
func WithSpillDir(dir string) Option {
	return func(c *config) {
		c.spillDir = dir
	}
}

// WithSpillAfter sets how long the sink must have been failing before Run
// moves pending records from memory to the spill directory, even if the
// memory bound is not reached. Default [DefaultSpillAfter].
func WithSpillAfter(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.spillAfter = d
		}
	}
}

// WithSegmentRecords sets the number of records after which a spill segment
// is closed and a new one started. It bounds the memory used to replay a
// segment. Default [DefaultSegmentRecords].
func WithSegmentRecords(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.segmentRecords = n
		}
	}
}

// WithBackoff sets the bounds of the exponential backoff between retries of
// a failed batch; each wait is jittered between half and all of its nominal
// value. Defaults [DefaultMinBackoff] and [DefaultMaxBackoff].
func WithBackoff(minDelay, maxDelay time.Duration) Option {
	return func(c *config) {
		if minDelay > 0 {
			c.minBackoff = minDelay
		}
		if maxDelay > 0 {
			c.maxBackoff = maxDelay
		}
	}
}

// WithBatchTimeout bounds each InsertRecords call. Default
// [DefaultBatchTimeout].
func WithBatchTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.batchTimeout = d
		}
	}
}

// WithShutdownTimeout bounds the final flush Run performs once its context
// is done; what is not written by then is spilled, or lost without a spill
// directory. Default [DefaultShutdownTimeout].
func WithShutdownTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.shutdownTimeout = d
		}
	}
}

// WithLogger sets the logger for outages, recoveries, spills and losses.
// Default: discard.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}
