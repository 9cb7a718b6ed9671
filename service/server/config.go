package server

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/tollgate-dev/tollgate/service/secrets"
)

// Config holds the process settings. Every field can be set by a flag or a
// TOLLGATE_* environment variable (flags win); secrets only by environment
// so they never show in process listings.
type Config struct {
	// Addr is the listen address for every protocol.
	Addr string
	// Warnings are what RegisterFlags found deprecated in the environment,
	// for the caller to show (tollgate serve prints them on stderr).
	Warnings []string
	// DatabaseURL is the Postgres connection string; empty runs the
	// gateway on the embedded store in DataDir.
	DatabaseURL string
	// DataDir is the embedded store's directory (used without a
	// DatabaseURL): its database, and the master key and admin token
	// generated on first start when the environment sets none.
	DataDir string
	// MasterKey is the master keyring that seals stored secrets: one or
	// more keys, the first sealing (env or file only; see secrets.ParseKeyring).
	MasterKey string
	// MasterKeyFile, when set, holds the keyring and is re-read when it
	// changes, so keys can be added and removed without a restart.
	MasterKeyFile string
	// AdminToken is the bootstrap (break-glass) admin token, acting as
	// owner (env or file only).
	AdminToken string
	// TLSCert and TLSKey enable TLS when both are set.
	TLSCert, TLSKey string
	// MaxRequestBytes caps request bodies.
	MaxRequestBytes int64
	// ShutdownTimeout bounds the drain of in-flight requests on SIGTERM.
	ShutdownTimeout time.Duration
	// LogLevel is debug, info, warn or error.
	LogLevel string
	// LogRequests logs one line per request at info level.
	LogRequests bool
	// SpillDir is the usage records' local log: every record is appended
	// to it before it is queued for Postgres, and replayed from it after an
	// outage or a crash.
	SpillDir string
	// Records holds the record writer's durability settings (records.go).
	Records RecordsConfig
	// AlertInterval is how often budget and spend-velocity alerts are checked.
	AlertInterval time.Duration
	// AlertAttempts is how many times an alert webhook is tried (network
	// errors, 429 and 5xx are retried), AlertBackoff the first wait
	// between tries, doubled after each.
	AlertAttempts int
	AlertBackoff  time.Duration
	// VelocitySuspend suspends (revokes) a key on a spend-velocity alert.
	VelocitySuspend bool
	// VelocityFactor and VelocityFloorNanos set the spend-velocity rule: a
	// key's five-minute spend above max(factor × its usual rate, floor).
	VelocityFactor     float64
	VelocityFloorNanos int64
	// DebugAddr, when set, serves net/http/pprof on a separate listener
	// (keep it on loopback).
	DebugAddr string
	// Retention is how long request records are kept (whole days are
	// dropped); 0 keeps them forever.
	Retention time.Duration
	// Responses holds the Responses API's settings (responses.go).
	Responses ResponsesConfig
	// Cache holds the response cache's settings (cache.go).
	Cache CacheConfig
	// Governance holds the budget and rate-limit settings (governance.go).
	Governance GovernanceConfig
	// GuardrailModel is the chat model (or route) moderation guardrails
	// classify with; without it they have no "default" classifier.
	GuardrailModel string
	// Identity holds the admin API's authentication settings (identity.go).
	Identity IdentityConfig
	// Credentials configures provider credentials by reference (credentials.go).
	Credentials CredentialsConfig
	// Declarative holds configuration as code: the files `serve --config`
	// applies and how out-of-band changes are treated (declarative.go).
	Declarative DeclarativeConfig

	// MaxInflight is the hard bound on in-flight inference requests
	// (admission control, admission.go); 0 derives it from the memory
	// budget (DefaultMaxInflight).
	MaxInflight int
	// MaxAnonInflight bounds in-flight requests that present no known
	// credential; 0 means a sixteenth of MaxInflight, at least 64.
	MaxAnonInflight int
	// AdmissionAdaptive lowers the in-flight limit below MaxInflight while
	// the CPUs are saturated.
	AdmissionAdaptive bool
	// AdmissionTarget is the scheduler latency (p99 over 20ms) above which
	// the CPUs count as saturated.
	AdmissionTarget time.Duration
	// MaxConnections bounds open client connections; 0 derives it from the
	// memory budget and the file descriptor limit (DefaultMaxConnections).
	MaxConnections int
	// GCHeadroomMB is the heap growth, in MiB, the garbage collector allows
	// between collections while the live heap is small (gctune); at most a
	// sixteenth of the memory budget. 0 keeps Go's default pacing. The
	// server does not apply it (it is process-wide): the tollgate command
	// does, unless GOGC is set.
	GCHeadroomMB int
	// HeaderTimeout bounds the time to read a request's headers.
	HeaderTimeout time.Duration
	// BodyTimeout bounds the time to read a request's body, from the end
	// of its headers; 0 means no bound.
	BodyTimeout time.Duration
	// LogSampleSuccess is the share of successful requests (status below
	// 400) written to the access log; errors are always written.
	LogSampleSuccess float64
	// MetricsAddr, when set, serves /metrics on a separate listener.
	MetricsAddr string
	// MetricsKeyLabel, above 0, adds per-key request and spend counters
	// for at most that many keys (see telemetry.Options.KeyLabel).
	MetricsKeyLabel int
	// MetricsToken, when set (env only), also serves /metrics on the API
	// port to callers presenting it as a bearer token.
	MetricsToken string
	// ConfigMaxStaleness bounds how old this replica's confirmed view of
	// keys and revocations may be before keys are re-validated against
	// Postgres (and refused with 503 when it cannot answer).
	ConfigMaxStaleness time.Duration
	// ConfigReconcile is the period of the full configuration reload that
	// catches anything the notifications missed.
	ConfigReconcile time.Duration
	// UpstreamTimeout bounds a unary upstream attempt (the answer's
	// headers and body) when its route sets no target timeout.
	UpstreamTimeout time.Duration
	// UpstreamFirstChunkTimeout bounds the wait for a stream's first chunk
	// per attempt when its route sets none.
	UpstreamFirstChunkTimeout time.Duration
	// UpstreamChunkTimeout bounds the gap between two chunks of a stream
	// when its route sets none.
	UpstreamChunkTimeout time.Duration
	// Console serves the web console under /ui/ on the API's listener.
	Console bool
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Addr:               "127.0.0.1:8080",
		DataDir:            DefaultDataDir,
		MaxRequestBytes:    8 << 20,
		ShutdownTimeout:    30 * time.Second,
		LogLevel:           "info",
		LogRequests:        true,
		Retention:          90 * 24 * time.Hour,
		Cache:              defaultCacheConfig(),
		Responses:          defaultResponsesConfig(),
		Records:            defaultRecordsConfig(),
		Governance:         defaultGovernanceConfig(),
		AlertInterval:      15 * time.Second,
		AlertAttempts:      4,
		AlertBackoff:       time.Second,
		VelocityFactor:     10,
		VelocityFloorNanos: 1_000_000_000,
		Identity:           defaultIdentityConfig(),
		Credentials:        defaultCredentialsConfig(),
		Declarative:        defaultDeclarativeConfig(),

		AdmissionAdaptive:         true,
		AdmissionTarget:           3 * time.Millisecond,
		GCHeadroomMB:              16,
		HeaderTimeout:             10 * time.Second,
		BodyTimeout:               30 * time.Second,
		LogSampleSuccess:          1,
		ConfigMaxStaleness:        3 * time.Second,
		ConfigReconcile:           30 * time.Second,
		UpstreamTimeout:           10 * time.Minute,
		UpstreamFirstChunkTimeout: 2 * time.Minute,
		UpstreamChunkTimeout:      2 * time.Minute,
		Console:                   true,
	}
}

// RegisterFlags binds the non-secret settings to fs, with defaults taken
// from the environment (getenv) where set.
func (c *Config) RegisterFlags(fs *flag.FlagSet, getenv func(string) string) error {
	e := &envFlags{fs: fs, getenv: getenv}
	if getenv("TOLLGATE_LISTEN_ADDR") == "" {
		if old := getenv("TOLLGATE_ADDR"); old != "" {
			// The old name meant the listen address here and the gateway's
			// URL in the CLI; it still works, with a warning.
			c.Addr = old
			c.Warnings = append(c.Warnings, "$TOLLGATE_ADDR is deprecated for tollgate serve: set $TOLLGATE_LISTEN_ADDR (the CLI reads $TOLLGATE_URL)")
		}
	}
	e.str(&c.Addr, "addr", "TOLLGATE_LISTEN_ADDR", "listen address for Connect, gRPC, gRPC-Web and the HTTP APIs")
	e.str(&c.DatabaseURL, "database-url", "TOLLGATE_DATABASE_URL", "Postgres connection URL; without it the gateway runs on the embedded store in -data-dir (one process)")
	e.str(&c.DataDir, "data-dir", "TOLLGATE_DATA_DIR", "directory of the embedded store (database, generated master key and admin token), used without -database-url")
	e.str(&c.TLSCert, "tls-cert", "TOLLGATE_TLS_CERT", "TLS certificate file (enables TLS with -tls-key)")
	e.str(&c.TLSKey, "tls-key", "TOLLGATE_TLS_KEY", "TLS private key file")
	e.str(&c.LogLevel, "log-level", "TOLLGATE_LOG_LEVEL", "log level: debug, info, warn, error")
	e.str(&c.DebugAddr, "debug-addr", "TOLLGATE_DEBUG_ADDR", "serve pprof profiles on this address, e.g. 127.0.0.1:6060 (off when empty)")
	e.str(&c.SpillDir, "spill-dir", "TOLLGATE_SPILL_DIR", "local log of usage records: written before they are queued for Postgres, replayed after an outage or a crash")
	c.Records.registerFlags(e)
	e.str(&c.GuardrailModel, "guardrails-moderation-model", "TOLLGATE_GUARDRAILS_MODERATION_MODEL", "chat model or route that moderation guardrails classify with (none when empty)")
	e.int64(&c.MaxRequestBytes, "max-request-bytes", "TOLLGATE_MAX_REQUEST_BYTES", "largest accepted request body")
	e.duration(&c.ShutdownTimeout, "shutdown-timeout", "TOLLGATE_SHUTDOWN_TIMEOUT", "how long to drain in-flight requests on SIGTERM")
	e.duration(&c.Retention, "retention", "TOLLGATE_RETENTION", "how long request records are kept, 0 for ever")
	e.bool(&c.LogRequests, "log-requests", "TOLLGATE_LOG_REQUESTS", "log one line per request")
	e.duration(&c.AlertInterval, "alert-interval", "TOLLGATE_ALERT_INTERVAL", "how often budget and spend-velocity alerts are checked")
	e.int(&c.AlertAttempts, "alert-attempts", "TOLLGATE_ALERT_ATTEMPTS", "how many times an alert webhook is tried (network errors, 429 and 5xx are retried)")
	e.duration(&c.AlertBackoff, "alert-backoff", "TOLLGATE_ALERT_BACKOFF", "first wait between an alert webhook's tries, doubled after each")
	e.float64(&c.VelocityFactor, "velocity-factor", "TOLLGATE_VELOCITY_FACTOR", "spend-velocity alert when a key's 5-minute spend exceeds this multiple of its usual rate")
	e.int64(&c.VelocityFloorNanos, "velocity-floor-nanos", "TOLLGATE_VELOCITY_FLOOR_NANOS", "…and at least this much, in nano-USD (default one dollar)")
	e.bool(&c.VelocitySuspend, "velocity-suspend", "TOLLGATE_VELOCITY_SUSPEND", "suspend (revoke) a key whose spend rate triggers a velocity alert")
	e.bool(&c.Console, "console", "TOLLGATE_CONSOLE", "serve the web console at /ui/ (it calls the admin and usage APIs with the signed-in person's credential)")
	c.Cache.registerFlags(e)
	c.Responses.registerFlags(e)
	c.Identity.registerFlags(e)
	c.Credentials.registerFlags(e)
	c.Governance.registerFlags(e)
	c.Declarative.registerFlags(e)
	c.registerServingFlags(e)
	// Secrets come from the environment or from files (NAME_FILE), never flags.
	var errs []error
	secret := func(p *string, name string) {
		v, err := secretEnv(getenv, name)
		if err != nil {
			errs = append(errs, err)
		}
		*p = v
	}
	if c.MasterKeyFile = getenv("TOLLGATE_MASTER_KEY_FILE"); c.MasterKeyFile == "" {
		secret(&c.MasterKey, "TOLLGATE_MASTER_KEY")
	} else if getenv("TOLLGATE_MASTER_KEY") != "" {
		errs = append(errs, errors.New("set TOLLGATE_MASTER_KEY or TOLLGATE_MASTER_KEY_FILE, not both"))
	} else if b, err := os.ReadFile(c.MasterKeyFile); err != nil {
		errs = append(errs, fmt.Errorf("TOLLGATE_MASTER_KEY_FILE: %w", err))
	} else {
		c.MasterKey = string(b)
	}
	secret(&c.AdminToken, "TOLLGATE_ADMIN_TOKEN")
	secret(&c.MetricsToken, "TOLLGATE_METRICS_TOKEN")
	secret(&c.Identity.OIDCClientSecret, "TOLLGATE_OIDC_CLIENT_SECRET")
	errs = append(errs, c.Credentials.readSecrets(getenv))
	if c.DatabaseURL == "" {
		secret(&c.DatabaseURL, "TOLLGATE_DATABASE_URL")
	}
	if c.DatabaseURL == "" {
		c.DatabaseURL = getenv("DATABASE_URL")
	}
	return errors.Join(append(errs, e.err())...)
}

// Validate reports missing or inconsistent settings.
func (c *Config) Validate() error {
	var errs []error
	if c.DatabaseURL == "" && c.DataDir == "" {
		errs = append(errs, errors.New("a store is required: -database-url (PostgreSQL) or -data-dir (the embedded store)"))
	}
	// On the embedded store LoadDataDirSecrets has read or generated both.
	if strings.TrimSpace(c.MasterKey) == "" {
		errs = append(errs, errors.New("TOLLGATE_MASTER_KEY is required with -database-url, or TOLLGATE_MASTER_KEY_FILE (32 bytes as 64 hex digits or base64; e.g. `openssl rand -hex 32`)"))
	} else if _, err := secrets.ParseKeyring(c.MasterKey); err != nil {
		errs = append(errs, fmt.Errorf("master key: %w", err))
	}
	if c.AdminToken == "" && c.Identity.OIDCIssuer == "" {
		errs = append(errs, errors.New("TOLLGATE_ADMIN_TOKEN is required with -database-url to administer the gateway (unless single sign-on is configured)"))
	} else if c.AdminToken != "" && len(c.AdminToken) < 16 {
		errs = append(errs, errors.New("TOLLGATE_ADMIN_TOKEN must be at least 16 characters"))
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("-tls-cert and -tls-key go together"))
	}
	if c.Retention < 0 || (c.Retention > 0 && c.Retention < 24*time.Hour) {
		errs = append(errs, errors.New("-retention must be 0 (keep for ever) or at least 24h"))
	}
	if c.VelocityFactor <= 1 || c.VelocityFloorNanos < 0 {
		errs = append(errs, errors.New("-velocity-factor must be above 1 and -velocity-floor-nanos not negative"))
	}
	if c.AlertInterval < time.Second {
		errs = append(errs, errors.New("-alert-interval must be at least 1s"))
	}
	if c.AlertAttempts < 1 || c.AlertAttempts > 10 || c.AlertBackoff < 0 {
		errs = append(errs, errors.New("-alert-attempts must be 1 to 10 and -alert-backoff not negative"))
	}
	if err := c.Responses.validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Cache.validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Records.validate(c.SpillDir); err != nil {
		errs = append(errs, err)
	}
	if err := c.Identity.validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Governance.validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Credentials.validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Declarative.validate(c.AdminToken); err != nil {
		errs = append(errs, err)
	}
	if c.MaxRequestBytes <= 0 {
		errs = append(errs, errors.New("-max-request-bytes must be positive"))
	}
	if err := c.validateServing(); err != nil {
		errs = append(errs, err)
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("-log-level %q: want debug, info, warn or error", c.LogLevel))
	}
	return errors.Join(errs...)
}

// String describes the config without its secrets.
func (c Config) String() string {
	st := "postgres"
	if c.Embedded() {
		st = "embedded:" + c.DataDir
	}
	return fmt.Sprintf("addr=%s store=%s tls=%v max_request_bytes=%d shutdown_timeout=%s", c.Addr, st, c.TLSCert != "", c.MaxRequestBytes, c.ShutdownTimeout)
}
