package server

import (
	"errors"
	"time"

	"github.com/tollgate-dev/tollgate/service/gateway"
)

// registerServingFlags binds the settings of admission control, timeouts,
// logging, metrics and configuration freshness.
func (c *Config) registerServingFlags(e *envFlags) {
	e.int(&c.MaxInflight, "max-inflight", "TOLLGATE_MAX_INFLIGHT", "hard bound on in-flight inference requests, streams included; beyond it requests get 503 (0 = from the memory budget: GOMEMLIMIT, else the cgroup limit, else 4 GiB, at 256 KiB per request)")
	e.int(&c.MaxAnonInflight, "max-unauthenticated-inflight", "TOLLGATE_MAX_UNAUTHENTICATED_INFLIGHT", "bound on in-flight requests without a known API key (0 = max-inflight/16, at least 64)")
	e.bool(&c.AdmissionAdaptive, "admission-adaptive", "TOLLGATE_ADMISSION_ADAPTIVE", "lower the in-flight limit while the CPUs are saturated (Go scheduler latency above -admission-latency-target)")
	e.duration(&c.AdmissionTarget, "admission-latency-target", "TOLLGATE_ADMISSION_LATENCY_TARGET", "Go scheduler latency (p99 over 20ms) above which the CPUs count as saturated")
	e.int(&c.MaxConnections, "max-connections", "TOLLGATE_MAX_CONNECTIONS", "open client connections beyond this are closed at once (0 = from the memory budget and the file descriptor limit)")
	e.int(&c.GCHeadroomMB, "gc-headroom-mb", "TOLLGATE_GC_HEADROOM_MB", "heap growth in MiB allowed between garbage collections while the live heap is small, at most a 16th of the memory budget (0 = Go's default pacing; ignored when GOGC is set)")
	e.duration(&c.HeaderTimeout, "request-header-timeout", "TOLLGATE_REQUEST_HEADER_TIMEOUT", "time allowed to read a request's headers")
	e.duration(&c.BodyTimeout, "request-body-timeout", "TOLLGATE_REQUEST_BODY_TIMEOUT", "time allowed to read a request's body; slower requests get 408 (0 = no bound)")
	e.float64(&c.LogSampleSuccess, "log-sample-success", "TOLLGATE_LOG_SAMPLE_SUCCESS", "share of successful requests written to the access log, 0..1 (errors are always written)")
	e.str(&c.MetricsAddr, "metrics-addr", "TOLLGATE_METRICS_ADDR", "serve Prometheus /metrics on this separate address, e.g. :9090 (the API port serves /metrics only with TOLLGATE_METRICS_TOKEN)")
	e.int(&c.MetricsKeyLabel, "metrics-key-label", "TOLLGATE_METRICS_KEY_LABEL", "add per-key request and spend counters (tollgate_key_*) for at most this many keys, the rest counted as _other (0 = off; for small deployments: each key is a series)")
	e.duration(&c.ConfigMaxStaleness, "config-max-staleness", "TOLLGATE_CONFIG_MAX_STALENESS", "longest this replica serves keys from a view of revocations it has not confirmed with Postgres; older, keys are re-validated and refused with 503 when Postgres does not answer")
	e.duration(&c.ConfigReconcile, "config-reconcile-interval", "TOLLGATE_CONFIG_RECONCILE_INTERVAL", "period of the full configuration reload that catches missed notifications")
	e.duration(&c.UpstreamTimeout, "upstream-timeout", "TOLLGATE_UPSTREAM_TIMEOUT", "default bound on a unary upstream attempt, headers and body (a route target's timeout overrides it)")
	e.duration(&c.UpstreamFirstChunkTimeout, "upstream-first-chunk-timeout", "TOLLGATE_UPSTREAM_FIRST_CHUNK_TIMEOUT", "default bound on the wait for a stream's first chunk, per attempt (a route's first_chunk_timeout or target timeout overrides it)")
	e.duration(&c.UpstreamChunkTimeout, "upstream-chunk-timeout", "TOLLGATE_UPSTREAM_CHUNK_TIMEOUT", "default bound on the gap between two chunks of a stream (a route's chunk_timeout overrides it)")
}

func (c *Config) validateServing() error {
	var errs []error
	if c.MetricsKeyLabel < 0 || c.MetricsKeyLabel > 10000 {
		errs = append(errs, errors.New("-metrics-key-label must be between 0 and 10000"))
	}
	if c.MaxInflight < 0 || c.MaxAnonInflight < 0 || c.MaxConnections < 0 || c.GCHeadroomMB < 0 {
		errs = append(errs, errors.New("-max-inflight, -max-unauthenticated-inflight, -max-connections and -gc-headroom-mb must not be negative"))
	}
	if c.AdmissionTarget < time.Millisecond {
		errs = append(errs, errors.New("-admission-latency-target must be at least 1ms"))
	}
	if c.HeaderTimeout <= 0 || c.BodyTimeout < 0 {
		errs = append(errs, errors.New("-request-header-timeout must be positive and -request-body-timeout not negative"))
	}
	if c.LogSampleSuccess < 0 || c.LogSampleSuccess > 1 {
		errs = append(errs, errors.New("-log-sample-success must be between 0 and 1"))
	}
	if c.ConfigMaxStaleness < 500*time.Millisecond {
		errs = append(errs, errors.New("-config-max-staleness must be at least 500ms"))
	}
	if c.ConfigReconcile < time.Second {
		errs = append(errs, errors.New("-config-reconcile-interval must be at least 1s"))
	}
	if c.UpstreamTimeout < 0 || c.UpstreamFirstChunkTimeout < 0 || c.UpstreamChunkTimeout < 0 {
		errs = append(errs, errors.New("the -upstream-*-timeout settings must not be negative (0 = no bound)"))
	}
	return errors.Join(errs...)
}

// maxInflight is MaxInflight or its default.
func (c *Config) maxInflight() int {
	if c.MaxInflight > 0 {
		return c.MaxInflight
	}
	return DefaultMaxInflight()
}

// maxAnonInflight is MaxAnonInflight or its default.
func (c *Config) maxAnonInflight() int {
	if c.MaxAnonInflight > 0 {
		return c.MaxAnonInflight
	}
	return max(c.maxInflight()/16, 64)
}

// maxConnections is MaxConnections or its default.
func (c *Config) maxConnections() int {
	if c.MaxConnections > 0 {
		return c.MaxConnections
	}
	return DefaultMaxConnections()
}

// upstreamTimeouts are the engine's default upstream timeouts.
func (c *Config) upstreamTimeouts() gateway.Timeouts {
	return gateway.Timeouts{Unary: c.UpstreamTimeout, FirstChunk: c.UpstreamFirstChunkTimeout, Chunk: c.UpstreamChunkTimeout}
}

// GCHeadroom is the heap headroom in bytes the tollgate command gives the
// garbage collector (gctune): GCHeadroomMB, at most a sixteenth of the
// memory budget; 0 when pacing is left to Go.
func (c *Config) GCHeadroom() uint64 {
	if c.GCHeadroomMB <= 0 {
		return 0
	}
	return uint64(min(int64(c.GCHeadroomMB)<<20, memoryBudget()/16))
}
