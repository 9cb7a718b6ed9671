package server

import (
	"errors"
	"fmt"
	"time"

	"github.com/tollgate-dev/tollgate/semcache"
	"github.com/tollgate-dev/tollgate/service/gateway"
	"github.com/tollgate-dev/tollgate/service/registry"
	"github.com/tollgate-dev/tollgate/service/routing"
)

// CacheConfig holds the response cache's process settings: the default
// policy of requests whose route sets none, and the embedding model of
// semantic lookups. Routes override the policy (see routing.Cache).
type CacheConfig struct {
	// Mode is the default mode: off (the default), exact or semantic.
	Mode string
	// Threshold is the default minimum similarity of a semantic hit; 0
	// means semcache.DefaultThreshold.
	Threshold float64
	// TTL is the default entry lifetime; 0 means semcache.DefaultTTL.
	TTL time.Duration
	// MaxTTL caps the x-tollgate-cache-ttl directive; 0 means no cap.
	MaxTTL time.Duration
	// Namespace is the default scope: team, key or shared:<name>.
	Namespace string
	// MaxTemperature is the highest temperature of a request eligible
	// for semantic hits.
	MaxTemperature float64
	// EmbeddingModel names a configured embedding model (or route) that
	// semantic lookups embed with through the gateway's own providers;
	// empty disables semantic lookups (semantic policies then act as exact).
	EmbeddingModel string
	// EmbeddingDims is the dimension of EmbeddingModel's vectors.
	EmbeddingDims int
	// LookupTimeout bounds a lookup in the store, EmbedTimeout the
	// embedding of a semantic lookup's question: past them the lookup is
	// a miss, so the cache never slows a request by more.
	LookupTimeout, EmbedTimeout time.Duration
}

func defaultCacheConfig() CacheConfig {
	return CacheConfig{Mode: routing.CacheModeOff, Namespace: routing.CacheScopeTeam,
		LookupTimeout: semcache.DefaultLookupTimeout, EmbedTimeout: semcache.DefaultEmbedTimeout}
}

// registerFlags binds the cache settings to flags with defaults from the
// environment.
func (c *CacheConfig) registerFlags(e *envFlags) {
	e.str(&c.Mode, "cache-mode", "TOLLGATE_CACHE_MODE", "default response-cache mode of routes and models without a cache policy: off, exact or semantic")
	e.float64(&c.Threshold, "cache-threshold", "TOLLGATE_CACHE_THRESHOLD", "default minimum cosine similarity of a semantic cache hit (0 = 0.95)")
	e.duration(&c.TTL, "cache-ttl", "TOLLGATE_CACHE_TTL", "default lifetime of cache entries (0 = 1h)")
	e.duration(&c.MaxTTL, "cache-max-ttl", "TOLLGATE_CACHE_MAX_TTL", "cap on the x-tollgate-cache-ttl request header (0 = none)")
	e.str(&c.Namespace, "cache-namespace", "TOLLGATE_CACHE_NAMESPACE", "default cache scope: team, key or shared:<name>")
	e.float64(&c.MaxTemperature, "cache-max-temperature", "TOLLGATE_CACHE_MAX_TEMPERATURE", "highest temperature of requests eligible for semantic cache hits")
	e.str(&c.EmbeddingModel, "cache-embedding-model", "TOLLGATE_CACHE_EMBEDDING_MODEL", "configured embedding model of semantic cache lookups (empty: semantic acts as exact)")
	e.int(&c.EmbeddingDims, "cache-embedding-dims", "TOLLGATE_CACHE_EMBEDDING_DIMS", "vector dimension of -cache-embedding-model")
	e.duration(&c.LookupTimeout, "cache-lookup-timeout", "TOLLGATE_CACHE_LOOKUP_TIMEOUT", "longest a cache lookup in the store may take; past it the lookup is a miss")
	e.duration(&c.EmbedTimeout, "cache-embed-timeout", "TOLLGATE_CACHE_EMBED_TIMEOUT", "longest the embedding of a semantic lookup's question may take; past it the lookup is a miss")
}

func (c *CacheConfig) validate() error {
	var errs []error
	if _, err := semcache.ParseMode(c.Mode); err != nil {
		errs = append(errs, fmt.Errorf("-cache-mode: %w", err))
	}
	if c.Threshold < 0 || c.Threshold > 1 {
		errs = append(errs, errors.New("-cache-threshold must be in (0, 1]"))
	}
	if c.TTL < 0 || c.MaxTTL < 0 {
		errs = append(errs, errors.New("-cache-ttl and -cache-max-ttl must not be negative"))
	}
	if c.LookupTimeout <= 0 || c.EmbedTimeout <= 0 {
		errs = append(errs, errors.New("-cache-lookup-timeout and -cache-embed-timeout must be positive"))
	}
	if c.MaxTemperature < 0 {
		errs = append(errs, errors.New("-cache-max-temperature must not be negative"))
	}
	if !routing.ValidCacheScope(c.Namespace) || c.Namespace == "" {
		errs = append(errs, fmt.Errorf("-cache-namespace %q: want team, key or shared:<name>", c.Namespace))
	}
	switch {
	case c.EmbeddingModel != "" && (c.EmbeddingDims < 1 || c.EmbeddingDims > 2000):
		errs = append(errs, errors.New("-cache-embedding-dims must be 1..2000 with -cache-embedding-model"))
	case c.EmbeddingModel == "" && c.EmbeddingDims != 0:
		errs = append(errs, errors.New("-cache-embedding-dims needs -cache-embedding-model"))
	}
	return errors.Join(errs...)
}

// engineConfig returns the engine's view of the settings.
func (c *CacheConfig) engineConfig() gateway.CacheConfig {
	mode, _ := semcache.ParseMode(c.Mode) // validated
	return gateway.CacheConfig{
		Policy: semcache.Policy{Mode: mode, Threshold: c.Threshold, TTL: c.TTL, MaxTTL: c.MaxTTL,
			MaxTemperature: c.MaxTemperature},
		Scope: c.Namespace, EmbeddingModel: c.EmbeddingModel,
	}
}

// newCache builds the response cache on st, embedding through reg's
// providers when an embedding model is configured.
func newCache(c *CacheConfig, st semcache.Store, reg *registry.Registry, opts ...semcache.Option) (*semcache.Cache, error) {
	opts = append(opts, semcache.WithLookupTimeout(c.LookupTimeout), semcache.WithEmbedTimeout(c.EmbedTimeout))
	if c.EmbeddingModel != "" {
		opts = append(opts, semcache.WithEmbedder(gateway.RegistryEmbedder(reg, c.EmbeddingModel),
			semcache.EmbedConfig{Model: c.EmbeddingModel, Dims: c.EmbeddingDims}))
	}
	cache, err := semcache.Open(st, opts...)
	if err != nil {
		return nil, fmt.Errorf("response cache: %w", err)
	}
	return cache, nil
}
