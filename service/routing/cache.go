package routing

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// The cache modes of a route's Cache.Mode.
const (
	CacheModeOff      = "off"
	CacheModeExact    = "exact"
	CacheModeSemantic = "semantic"
)

// The cache namespace scopes of a route's Cache.Namespace, besides
// CacheScopeShared followed by a name.
const (
	CacheScopeTeam   = "team"
	CacheScopeKey    = "key"
	CacheScopeShared = "shared:"
)

// Cache is a route's response-cache policy. Zero fields take the server's
// defaults.
type Cache struct {
	// Mode is "off", "exact" or "semantic"; "" takes the default.
	Mode string `json:"mode,omitempty"`
	// Threshold is the minimum cosine similarity of a semantic hit, in
	// (0, 1]; 0 takes the default.
	Threshold float64 `json:"threshold,omitempty"`
	// TTL is how long entries live; 0 takes the default.
	TTL Duration `json:"ttl,omitempty"`
	// Namespace says who shares entries: "team", "key" or "shared:<name>";
	// "" takes the default.
	Namespace string `json:"namespace,omitempty"`
}

// ValidCacheScope reports whether s is "", "team", "key" or "shared:<name>"
// with a non-empty name.
func ValidCacheScope(s string) bool {
	switch s {
	case "", CacheScopeTeam, CacheScopeKey:
		return true
	}
	name, ok := strings.CutPrefix(s, CacheScopeShared)
	return ok && name != ""
}

func (c *Cache) validate() error {
	switch c.Mode {
	case "", CacheModeOff, CacheModeExact, CacheModeSemantic:
	default:
		return fmt.Errorf("unknown mode %q (want off, exact or semantic)", c.Mode)
	}
	switch {
	case c.Threshold < 0 || c.Threshold > 1:
		return errors.New("threshold must be in (0, 1]")
	case c.TTL < 0:
		return errors.New("negative ttl")
	case !ValidCacheScope(c.Namespace):
		return fmt.Errorf("namespace %q: want team, key or shared:<name>", c.Namespace)
	}
	return nil
}

// ValidateKeyCache checks c as a virtual key's cache policy: the rules of a
// route's, except that the namespace may only be "team" or "key". A key
// cannot widen its namespace beyond its team: shared namespaces are an
// administrator's choice made on a route.
func ValidateKeyCache(c *Cache) error {
	if err := c.validate(); err != nil {
		return err
	}
	if strings.HasPrefix(c.Namespace, CacheScopeShared) {
		return fmt.Errorf("namespace %q: a key's namespace is team or key (shared namespaces are set on routes)", c.Namespace)
	}
	return nil
}

// ParseKeyCache decodes a virtual key's stored cache policy (the JSON of a
// Cache); nil for an empty one.
func ParseKeyCache(b []byte) (*Cache, error) {
	if len(b) == 0 || string(b) == "null" {
		return nil, nil
	}
	c := &Cache{}
	if err := json.Unmarshal(b, c); err != nil {
		return nil, fmt.Errorf("key cache policy: %w", err)
	}
	if err := ValidateKeyCache(c); err != nil {
		return nil, fmt.Errorf("key cache policy: %w", err)
	}
	return c, nil
}
