package gateway

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/semcache"
	"github.com/tollgate-dev/tollgate/service/registry"
	"github.com/tollgate-dev/tollgate/service/routing"
)

// CacheProvider is the provider that records and X-Tollgate-Provider name
// for requests served from the response cache.
const CacheProvider = "cache"

// CacheConfig is the engine's response-cache configuration.
type CacheConfig struct {
	// Policy applies to requests whose route and key set no cache policy
	// of their own, and fills in the fields their policies leave unset.
	Policy semcache.Policy
	// Scope is the default namespace scope: "team" (the default when
	// empty), "key" or "shared:<name>" (see routing.Cache.Namespace).
	Scope string
	// EmbeddingModel is the configured model semantic lookups embed with,
	// "" when semantic lookups are not configured (informational).
	EmbeddingModel string
}

// WithCache serves chat requests from c where their policy allows: the
// key's cache policy over the route's over cfg's defaults (see
// Engine.cachePolicy).
func WithCache(c *semcache.Cache, cfg CacheConfig) Option {
	return func(e *Engine) { e.cache, e.cacheCfg = c, cfg }
}

// Cache returns the response cache and its configuration; nil when the
// engine has none.
func (e *Engine) Cache() (*semcache.Cache, CacheConfig) { return e.cache, e.cacheCfg }

// cacheModel is the model a request's cache entries are keyed on: the
// upstream model of a plain model, so that every configured name of one
// upstream model shares entries; the route name for a route, because any
// of its targets may serve it and the caller accepted all of them by
// asking for the route (its answer does not depend on which target
// happened to serve it first), and because route entries must not be served
// for a plain model the route merely targets.
func cacheModel(rt *registry.Route) string {
	if rt.Alias || len(rt.Serving) == 0 {
		return rt.Name
	}
	return rt.Serving[0].UpstreamModel
}

// cachePolicy returns the policy and namespace of a request through rt by
// key k. The most specific policy wins, field by field:
//
//  1. the server's defaults (CacheConfig, the -cache-* flags);
//  2. the route's policy (rt.Cache), set by administrators;
//  3. the key's policy (k.Cache), set when the key is issued.
//
// Each set field (a mode, a threshold above 0, a TTL above 0, a namespace)
// replaces the one below it, so a key may turn the cache off, raise or
// lower the threshold, shorten or lengthen entries' lives, or turn it on
// where the route leaves it off. What a key cannot do is widen whom it
// shares answers with: its namespace is "team" or "key" only (checked when
// the key is created, see routing.ValidateKeyCache), while shared
// namespaces stay an administrator's choice on routes. A key setting "team"
// or "key" on a shared route thus opts out of the shared namespace.
func (e *Engine) cachePolicy(rt *registry.Route, k *registry.Key) (semcache.Policy, string) {
	p, scope := e.cacheCfg.Policy, e.cacheCfg.Scope
	p, scope = overlayCache(p, scope, rt.Cache)
	p, scope = overlayCache(p, scope, k.Cache)
	return p, cacheNamespace(scope, k)
}

// overlayCache returns p and scope with the fields c sets replaced. c is
// validated where it is configured, so an unknown mode cannot occur.
func overlayCache(p semcache.Policy, scope string, c *routing.Cache) (semcache.Policy, string) {
	if c == nil {
		return p, scope
	}
	if c.Mode != "" {
		if m, err := semcache.ParseMode(c.Mode); err == nil {
			p.Mode = m
		}
	}
	if c.Threshold > 0 {
		p.Threshold = c.Threshold
	}
	if c.TTL > 0 {
		p.TTL = time.Duration(c.TTL)
	}
	if c.Namespace != "" {
		scope = c.Namespace
	}
	return p, scope
}

// cacheNamespace maps a scope to the key's namespace. A key without a
// team gets its own namespace: keys without a team share nothing.
func cacheNamespace(scope string, k *registry.Key) string {
	if name, ok := strings.CutPrefix(scope, routing.CacheScopeShared); ok && name != "" {
		return semcache.SharedNamespace(name)
	}
	if scope == routing.CacheScopeKey || k.TeamID == "" {
		return semcache.KeyNamespace(k.ID)
	}
	return semcache.TeamNamespace(k.TeamID)
}

// lookup looks a chat request up in the cache; nil when the engine has no
// cache. It never fails: the cache bounds its own time and reports
// failures as misses.
func (e *Engine) lookup(ctx context.Context, call *Call, rec *record, k *registry.Key, rt *registry.Route, req *providers.ChatRequest) *semcache.Result {
	if e.cache == nil {
		return nil
	}
	policy, ns := e.cachePolicy(rt, k)
	keyed := *req
	keyed.Model = cacheModel(rt)
	res := e.cache.Lookup(ctx, semcache.Request{Namespace: ns, Req: &keyed, Policy: policy, Directives: call.Cache})
	rec.CacheStatus = string(res.Status)
	if res.Hit != nil {
		rec.SavedNanos = res.Hit.SavedNanos()
		rec.Provider, rec.Model = CacheProvider, keyed.Model
		if m := res.Hit.Response.Model; m != "" {
			rec.Model = m
		}
	}
	return res
}

// cachePut queues a unary miss's response for the cache. A response that
// cannot be stored is not an error of the request.
func (e *Engine) cachePut(ctx context.Context, res *semcache.Result, resp *providers.ChatResponse, cost int64) {
	if res == nil || res.Hit != nil {
		return
	}
	if err := e.cache.Put(res, resp, cost); err != nil {
		e.log.DebugContext(ctx, "gateway: response not cached", "err", err)
	}
}

// cacheInfo returns the status and score a surface reports for res.
func cacheInfo(res *semcache.Result) (semcache.Status, float64) {
	if res == nil {
		return "", 0
	}
	return res.Status, res.Score
}

// RegistryEmbedder returns the embedder of semantic lookups: it embeds
// with the configured embedding model (or route) named model, through the
// registry's providers, so the cache needs no credentials of its own. The
// name is resolved on every call, so configuration changes apply at once.
func RegistryEmbedder(reg *registry.Registry, model string) providers.Embedder {
	return semcache.EmbedderFunc(func(ctx context.Context, req *providers.EmbedRequest) (*providers.EmbedResponse, error) {
		rt, ok := reg.Route(model)
		if !ok || !rt.Embedding {
			return nil, fmt.Errorf("cache embedding model %q: %w", model, ErrModelNotFound)
		}
		for i := range rt.Serving {
			sv := &rt.Serving[i]
			emb, ok := sv.Provider.(providers.Embedder)
			if !ok {
				continue
			}
			up := *req
			up.Model = sv.UpstreamModel
			return emb.Embed(ctx, &up)
		}
		return nil, fmt.Errorf("cache embedding model %q: %w: no provider serves it", model, ErrUnavailable)
	})
}
