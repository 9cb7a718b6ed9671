// Package semcache is Tollgate's response cache: exact hits for requests
// that are equivalent byte for byte after canonicalisation, and semantic
// hits for paraphrased questions, both kept in a [Store] — Postgres
// (shared by all replicas) or the embedded SQLite store (one process) —
// with an in-process LRU in front.
//
// # Keys
//
// [ComputeKeys] hashes (SHA-256) a canonical encoding of everything in a
// [providers.ChatRequest] that changes the output: the resolved model, the
// messages, tools (JSON Schemas canonicalised: keys sorted, whitespace
// dropped, numbers normalised), tool choice, sampling parameters, limits,
// response format, reasoning and passthrough fields. The end-user id does
// not count. The namespace is part of the exact key and a column of every
// row, and every query filters on it: no lookup returns another
// namespace's entry.
//
// # Semantic hits
//
// A request is eligible when the policy is [ModeSemantic], an embedder is
// configured ([WithEmbedder]), its last message is a text-only user turn,
// its temperature is at most Policy.MaxTemperature, and (by default) it
// carries no tool results. Only that last user turn is embedded; the rest
// must match exactly: Keys.Params (model and parameters) and Keys.History
// (every earlier message, the system prompt included). A hit needs cosine
// similarity of at least Policy.Threshold within the same namespace and
// embedding model.
//
// On Postgres, entries of all embedding models share one table whose
// embedding column has no fixed dimension; each row records its embed_model and embed_dims.
// For each configured (model, dimension) the cache creates a partial HNSW
// index on embedding::vector(D) restricted to that model, and its query
// spells the same cast and predicate so the planner uses it. pgvector's
// iterative index scan keeps the namespace and hash filters from starving
// the index of candidates.
//
// On SQLite ([SQLite]) the vectors are stored with the entries and kept
// in an in-process index, rebuilt from the table when the gateway starts
// ([Cache.EnsureIndex], run by Run); a lookup scans the vectors of its
// bucket (same namespace, embedding model, parameters and history)
// exactly, and checks the best candidates against their rows.
//
// # Using it
//
//	cache, err := semcache.Open(semcache.Postgres(store.Pool()), // or semcache.SQLite(embedded.DB())
//		semcache.WithEmbedder(emb, semcache.EmbedConfig{Model: "text-embedding-3-small", Dims: 1536}))
//	go cache.Run(ctx)
//
//	res := cache.Lookup(ctx, semcache.Request{Namespace: semcache.TeamNamespace(team), Req: req, Policy: policy, Directives: d})
//	if res.Hit != nil {
//		// serve res.Hit.Response, or res.Hit.Stream(res.Status) for streams
//	}
//	resp, err := provider.Chat(ctx, req)
//	cache.Put(res, resp, costNanos) // asynchronous
//
// # Failures
//
// The cache never fails a request. Lookups are bounded by short timeouts
// ([WithLookupTimeout], [WithEmbedTimeout]) and any failure is a miss.
// Writes go through a bounded queue served by Run; when it is full, writes
// are dropped and counted in [Stats].
package semcache
