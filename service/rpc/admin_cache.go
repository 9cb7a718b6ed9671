package rpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"connectrpc.com/connect"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/semcache"
	"github.com/tollgate-dev/tollgate/service/gateway"
	"github.com/tollgate-dev/tollgate/service/routing"
)

// errNoCache is returned by the cache RPCs of a server without a cache.
var errNoCache = errors.New("the response cache is not configured on this server")

// adminCache is what the cache RPCs need.
type adminCache struct {
	cache *semcache.Cache
	cfg   gateway.CacheConfig
}

// WithCache enables the PurgeCache and GetCacheStats RPCs over c, whose
// server defaults cfg describes.
func WithCache(c *semcache.Cache, cfg gateway.CacheConfig) AdminOption {
	return func(a *Admin) { a.cache = &adminCache{cache: c, cfg: cfg} }
}

var cacheModes = map[tollgatev1.CacheMode]string{
	tollgatev1.CacheMode_CACHE_MODE_OFF:      routing.CacheModeOff,
	tollgatev1.CacheMode_CACHE_MODE_EXACT:    routing.CacheModeExact,
	tollgatev1.CacheMode_CACHE_MODE_SEMANTIC: routing.CacheModeSemantic,
}

func cacheModeToProto(mode string) tollgatev1.CacheMode {
	for k, v := range cacheModes {
		if v == mode {
			return k
		}
	}
	return tollgatev1.CacheMode_CACHE_MODE_UNSPECIFIED
}

// routeCacheFromProto converts a route's cache policy; the route's
// validation checks it. An unknown mode is kept verbatim so that
// validation rejects it.
func routeCacheFromProto(in *tollgatev1.CachePolicy) *routing.Cache {
	if in == nil {
		return nil
	}
	c := &routing.Cache{Threshold: in.GetThreshold(), TTL: routeDurFromProto(in.GetTtl()), Namespace: in.GetNamespace()}
	if m := in.GetMode(); m != tollgatev1.CacheMode_CACHE_MODE_UNSPECIFIED {
		var ok bool
		if c.Mode, ok = cacheModes[m]; !ok {
			c.Mode = m.String()
		}
	}
	return c
}

func routeCacheToProto(c *routing.Cache) *tollgatev1.CachePolicy {
	if c == nil {
		return nil
	}
	return &tollgatev1.CachePolicy{Mode: cacheModeToProto(c.Mode), Threshold: c.Threshold, Ttl: routeDurToProto(c.TTL), Namespace: c.Namespace}
}

// keyCacheFromProto validates a key's cache policy and returns its stored
// form (the JSON of a routing.Cache); nil for none.
func keyCacheFromProto(in *tollgatev1.CachePolicy) (json.RawMessage, error) {
	c := routeCacheFromProto(in)
	if c == nil {
		return nil, nil
	}
	if err := routing.ValidateKeyCache(c); err != nil {
		return nil, badParam("key.cache", err.Error())
	}
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("key cache policy: %w", err)
	}
	return b, nil
}

// keyCacheToProto converts a key's stored cache policy; nil for none (or
// one that cannot be decoded, which the API never stores).
func keyCacheToProto(b json.RawMessage) *tollgatev1.CachePolicy {
	c, err := routing.ParseKeyCache(b)
	if err != nil {
		return nil
	}
	return routeCacheToProto(c)
}

// cacheNamespace maps a scope to a namespace, "" for all.
func cacheNamespace(s *tollgatev1.CacheScope) (string, error) {
	var ns []string
	if v := s.GetTeamId(); v != "" {
		ns = append(ns, semcache.TeamNamespace(v))
	}
	if v := s.GetKeyId(); v != "" {
		ns = append(ns, semcache.KeyNamespace(v))
	}
	if v := s.GetShared(); v != "" {
		ns = append(ns, semcache.SharedNamespace(v))
	}
	switch len(ns) {
	case 0:
		return "", nil
	case 1:
		return ns[0], nil
	}
	return "", badParam("scope", "set at most one of team_id, key_id and shared")
}

// PurgeCache implements PolicyService.PurgeCache.
func (a *Admin) PurgeCache(ctx context.Context, req *connect.Request[tollgatev1.PurgeCacheRequest]) (*connect.Response[tollgatev1.PurgeCacheResponse], error) {
	if a.cache == nil {
		return nil, connect.NewError(connect.CodeFailedPrecondition, errNoCache)
	}
	m := req.Msg
	ns, err := cacheNamespace(m.GetScope())
	if err != nil {
		return nil, toConnectError(ctx, a.log, err)
	}
	f := semcache.Filter{Namespace: ns, Model: m.GetModel()}
	if t := m.GetOlderThan(); t != nil {
		if err := t.CheckValid(); err != nil {
			return nil, toConnectError(ctx, a.log, badParam("older_than", err.Error()))
		}
		f.OlderThan = t.AsTime()
	}
	n, err := a.cache.cache.Purge(ctx, f)
	if err != nil {
		return nil, toConnectError(ctx, a.log, err)
	}
	a.log.InfoContext(ctx, "admin: purged response cache", "namespace", ns, "model", f.Model, "older_than", f.OlderThan, "deleted", n)
	return connect.NewResponse(&tollgatev1.PurgeCacheResponse{Deleted: n}), nil
}

// GetCacheStats implements PolicyService.GetCacheStats.
func (a *Admin) GetCacheStats(ctx context.Context, req *connect.Request[tollgatev1.GetCacheStatsRequest]) (*connect.Response[tollgatev1.GetCacheStatsResponse], error) {
	if a.cache == nil {
		return nil, connect.NewError(connect.CodeFailedPrecondition, errNoCache)
	}
	ns, err := cacheNamespace(req.Msg.GetScope())
	if err != nil {
		return nil, toConnectError(ctx, a.log, err)
	}
	st, err := a.cache.cache.Stats(ctx, ns)
	if err != nil {
		return nil, toConnectError(ctx, a.log, err)
	}
	cfg := a.cache.cfg
	ttl := cfg.Policy.TTL
	if ttl == 0 {
		ttl = semcache.DefaultTTL
	}
	return connect.NewResponse(&tollgatev1.GetCacheStatsResponse{
		Entries: st.Entries, Bytes: st.Bytes, LocalEntries: int64(st.LocalEntries), LocalBytes: st.LocalBytes,
		HitsExact: st.HitsExact, HitsSemantic: st.HitsSemantic, LocalHits: st.LocalHits,
		Misses: st.Misses, Bypasses: st.Bypasses, LookupErrors: st.LookupErrors,
		Writes: st.Writes, WriteErrors: st.WriteErrors, Dropped: st.Dropped,
		Saved: moneyToProto(st.SavedNanos), DefaultMode: cacheModeToProto(cfg.Policy.Mode.String()),
		EmbeddingModel: cfg.EmbeddingModel, DefaultTtl: durationToProto(ttl),
	}), nil
}
