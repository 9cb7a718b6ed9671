package accounting

import (
	"log/slog"
	"time"
)

// Defaults used when an option is not given or is given a value ≤ 0.
const (
	DefaultBatchSize       = 2000
	DefaultFlushInterval   = time.Second
	DefaultSyncInterval    = 20 * time.Millisecond
	DefaultFsyncInterval   = time.Second
	DefaultMaxLogBytes     = 1 << 30
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
	syncInterval    time.Duration
	fsyncInterval   time.Duration
	durable         bool
	maxLogBytes     int64
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
		syncInterval:    DefaultSyncInterval,
		fsyncInterval:   DefaultFsyncInterval,
		maxLogBytes:     DefaultMaxLogBytes,
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
// before a partial batch is written. Longer intervals make larger batches,
// which cost the database less per record (its usage rollups are updated
// once per batch and group); with a log directory the wait costs no
// durability. Default [DefaultFlushInterval].
func WithFlushInterval(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.flushInterval = d
		}
	}
}

// WithQueueCapacity bounds the number of records Record buffers for the
// group commit and for Run. Both drain it continuously, so it fills only
// when they are not running or cannot keep up; records beyond it are
// dropped.
// Default [DefaultQueueCapacity].
func WithQueueCapacity(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.queueCapacity = n
		}
	}
}

// WithMaxPending bounds the number of records Run holds in memory while the
// sink fails or lags. Beyond it Run falls behind: it replays records from
// the log instead of holding them; records the log does not hold (none, or
// a full one) are dropped, oldest first. It is raised to the batch size if
// smaller.
// Default [DefaultMaxPending].
func WithMaxPending(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxPending = n
		}
	}
}

// WithSpillDir sets the record log directory (created with mode 0700 if
// missing): every record is appended to it, in group commits, before it
// is queued for the sink, and records not yet stored when the process dies
// are replayed from it at the next start. A directory is locked by one
// Writer at a time (Run fails while another process holds it).
//
// Without a log directory the Writer keeps at most WithMaxPending records
// in memory during an outage and drops the oldest beyond that; records in
// memory when the process dies are lost.
func WithSpillDir(dir string) Option {
	return func(c *config) {
		c.spillDir = dir
	}
}

// WithSyncInterval sets the group commit interval: how long a record may
// wait before it is appended to the log. Once appended it survives the
// process being killed, so a killed process loses at most the records of
// the last interval. Default [DefaultSyncInterval].
func WithSyncInterval(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.syncInterval = d
		}
	}
}

// WithFsyncInterval sets how often the log is made durable (fdatasync): a
// machine that dies (power, kernel) loses at most the records appended in
// the last interval, besides those of the last sync interval. A sync
// blocks the goroutine's processor for the disk's latency, so it is kept
// off the group commit's short interval. With WithDurable every group
// commit is synced. Default [DefaultFsyncInterval].
func WithFsyncInterval(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.fsyncInterval = d
		}
	}
}

// WithDurable makes Record wait until its record is in the log and synced
// (the group commit starts at once when a Record waits, takes every record
// staged meanwhile, and syncs): nothing Record returned for is lost when
// the process or the machine dies. It has no effect without a log
// directory.
func WithDurable(on bool) Option {
	return func(c *config) {
		c.durable = on
	}
}

// WithMaxLogBytes bounds the size of the record log. While it is at the
// bound, new records are kept in memory only (bounded by WithMaxPending
// during an outage) and Stats.LogFull is set; the event is logged at
// error level. 0 means no bound. Default [DefaultMaxLogBytes].
func WithMaxLogBytes(n int64) Option {
	return func(c *config) {
		if n >= 0 {
			c.maxLogBytes = n
		}
	}
}

// WithSpillAfter sets how long the sink must have been failing before Run
// stops holding records in memory and replays them from the log instead,
// even if the memory bound is not reached. Records are in the log within
// the sync interval either way. Default [DefaultSpillAfter].
func WithSpillAfter(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.spillAfter = d
		}
	}
}

// WithSegmentRecords sets the number of records after which a log segment
// is closed and a new one started. It bounds the memory used to replay a
// segment, and how long a stored record's segment stays on disk.
// Default [DefaultSegmentRecords].
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
// is done; what is not written by then stays in the log, or is lost
// without one. Default [DefaultShutdownTimeout].
func WithShutdownTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.shutdownTimeout = d
		}
	}
}

// WithLogger sets the logger for outages, recoveries, log problems, dead
// letters and losses.
// Default: discard.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}
