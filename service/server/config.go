package server

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Config holds the process settings. Every field can be set by a flag or a
// TOLLGATE_* environment variable (flags win); secrets only by environment
// so they never show in process listings.
type Config struct {
	// Addr is the listen address for every protocol.
	Addr string
	// DatabaseURL is the Postgres connection string.
	DatabaseURL string
	// MasterKey encrypts provider credentials (env only).
	MasterKey string
	// AdminToken authorises AdminService calls (env only).
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
	// SpillDir keeps usage records on local disk while Postgres is down.
	SpillDir string
	// AlertInterval is how often budget and spend-velocity alerts are checked.
	AlertInterval time.Duration
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
	// Cache holds the response cache's settings (cache.go).
	Cache CacheConfig
	// GuardrailModel is the chat model (or route) moderation guardrails
	// classify with; without it they have no "default" classifier.
	GuardrailModel string
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Addr:               "127.0.0.1:8080",
		MaxRequestBytes:    8 << 20,
		ShutdownTimeout:    30 * time.Second,
		LogLevel:           "info",
		LogRequests:        true,
		Retention:          90 * 24 * time.Hour,
		Cache:              defaultCacheConfig(),
		AlertInterval:      15 * time.Second,
		VelocityFactor:     10,
		VelocityFloorNanos: 1_000_000_000,
	}
}

// RegisterFlags binds the non-secret settings to fs, with defaults taken
// from the environment (getenv) where set.
func (c *Config) RegisterFlags(fs *flag.FlagSet, getenv func(string) string) error {
	var errs []error
	str := func(p *string, name, env, usage string) {
		if v := getenv(env); v != "" {
			*p = v
		}
		fs.StringVar(p, name, *p, usage+" ($"+env+")")
	}
	str(&c.Addr, "addr", "TOLLGATE_ADDR", "listen address for Connect, gRPC, gRPC-Web and the HTTP APIs")
	str(&c.DatabaseURL, "database-url", "TOLLGATE_DATABASE_URL", "Postgres connection URL")
	str(&c.TLSCert, "tls-cert", "TOLLGATE_TLS_CERT", "TLS certificate file (enables TLS with -tls-key)")
	str(&c.TLSKey, "tls-key", "TOLLGATE_TLS_KEY", "TLS private key file")
	str(&c.LogLevel, "log-level", "TOLLGATE_LOG_LEVEL", "log level: debug, info, warn, error")
	str(&c.DebugAddr, "debug-addr", "TOLLGATE_DEBUG_ADDR", "serve pprof profiles on this address, e.g. 127.0.0.1:6060 (off when empty)")
	str(&c.SpillDir, "spill-dir", "TOLLGATE_SPILL_DIR", "directory for usage records while Postgres is unavailable")
	str(&c.GuardrailModel, "guardrails-moderation-model", "TOLLGATE_GUARDRAILS_MODERATION_MODEL", "chat model or route that moderation guardrails classify with (none when empty)")
	if v := getenv("TOLLGATE_MAX_REQUEST_BYTES"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("TOLLGATE_MAX_REQUEST_BYTES: %w", err))
		}
		c.MaxRequestBytes = n
	}
	fs.Int64Var(&c.MaxRequestBytes, "max-request-bytes", c.MaxRequestBytes, "largest accepted request body ($TOLLGATE_MAX_REQUEST_BYTES)")
	if v := getenv("TOLLGATE_SHUTDOWN_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("TOLLGATE_SHUTDOWN_TIMEOUT: %w", err))
		}
		c.ShutdownTimeout = d
	}
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "how long to drain in-flight requests on SIGTERM ($TOLLGATE_SHUTDOWN_TIMEOUT)")
	if v := getenv("TOLLGATE_RETENTION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("TOLLGATE_RETENTION: %w", err))
		}
		c.Retention = d
	}
	fs.DurationVar(&c.Retention, "retention", c.Retention, "how long request records are kept, 0 for ever ($TOLLGATE_RETENTION)")
	if v := getenv("TOLLGATE_LOG_REQUESTS"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("TOLLGATE_LOG_REQUESTS: %w", err))
		}
		c.LogRequests = b
	}
	fs.BoolVar(&c.LogRequests, "log-requests", c.LogRequests, "log one line per request ($TOLLGATE_LOG_REQUESTS)")
	if v := getenv("TOLLGATE_ALERT_INTERVAL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("TOLLGATE_ALERT_INTERVAL: %w", err))
		}
		c.AlertInterval = d
	}
	fs.DurationVar(&c.AlertInterval, "alert-interval", c.AlertInterval, "how often budget and spend-velocity alerts are checked ($TOLLGATE_ALERT_INTERVAL)")
	if v := getenv("TOLLGATE_VELOCITY_SUSPEND"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("TOLLGATE_VELOCITY_SUSPEND: %w", err))
		}
		c.VelocitySuspend = b
	}
	if v := getenv("TOLLGATE_VELOCITY_FACTOR"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("TOLLGATE_VELOCITY_FACTOR: %w", err))
		}
		c.VelocityFactor = f
	}
	fs.Float64Var(&c.VelocityFactor, "velocity-factor", c.VelocityFactor, "spend-velocity alert when a key's 5-minute spend exceeds this multiple of its usual rate ($TOLLGATE_VELOCITY_FACTOR)")
	if v := getenv("TOLLGATE_VELOCITY_FLOOR_NANOS"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("TOLLGATE_VELOCITY_FLOOR_NANOS: %w", err))
		}
		c.VelocityFloorNanos = n
	}
	fs.Int64Var(&c.VelocityFloorNanos, "velocity-floor-nanos", c.VelocityFloorNanos, "…and at least this much, in nano-USD (default one dollar) ($TOLLGATE_VELOCITY_FLOOR_NANOS)")
	fs.BoolVar(&c.VelocitySuspend, "velocity-suspend", c.VelocitySuspend, "suspend (revoke) a key whose spend rate triggers a velocity alert ($TOLLGATE_VELOCITY_SUSPEND)")
	errs = append(errs, c.Cache.registerFlags(fs, getenv))
	c.MasterKey = getenv("TOLLGATE_MASTER_KEY")
	c.AdminToken = getenv("TOLLGATE_ADMIN_TOKEN")
	if c.DatabaseURL == "" {
		c.DatabaseURL = getenv("DATABASE_URL")
	}
	return errors.Join(errs...)
}

// Validate reports missing or inconsistent settings.
func (c *Config) Validate() error {
	var errs []error
	if c.DatabaseURL == "" {
		errs = append(errs, errors.New("a database is required: set TOLLGATE_DATABASE_URL or -database-url"))
	}
	if c.MasterKey == "" {
		errs = append(errs, errors.New("TOLLGATE_MASTER_KEY is required (32 bytes as 64 hex digits or base64; e.g. `openssl rand -hex 32`)"))
	}
	if c.AdminToken == "" {
		errs = append(errs, errors.New("TOLLGATE_ADMIN_TOKEN is required to administer the gateway"))
	} else if len(c.AdminToken) < 16 {
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
	if err := c.Cache.validate(); err != nil {
		errs = append(errs, err)
	}
	if c.MaxRequestBytes <= 0 {
		errs = append(errs, errors.New("-max-request-bytes must be positive"))
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
	return fmt.Sprintf("addr=%s tls=%v max_request_bytes=%d shutdown_timeout=%s", c.Addr, c.TLSCert != "", c.MaxRequestBytes, c.ShutdownTimeout)
}
