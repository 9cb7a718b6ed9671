package semcache

import (
	"math"
	"slices"
	"sync"

	"github.com/viterin/vek/vek32"
)

// searchCandidates is how many nearest entries a search returns, so that
// a lookup can skip candidates whose rows expired meanwhile.
const searchCandidates = 8

// bucketID names the entries a semantic lookup may match: the same
// embedding model and dimension, namespace, parameters and history.
type bucketID struct {
	model   string
	dims    int
	ns      string
	params  Key
	history Key
}

// candidate is an entry a search found, with its cosine similarity.
type candidate struct {
	id    string // lruID(namespace, key)
	score float64
}

// vectorIndex keeps the unit-length embeddings of live entries in memory,
// in buckets (see bucketID), and answers a semantic lookup by an exact
// scan of its bucket with SIMD dot products (github.com/viterin/vek).
// The index only proposes candidates: the store checks each against its
// row (expiry, model), so a stale vector can never be served.
//
// Why a scan and not an HNSW graph: a lookup only ever compares entries
// of one bucket, which holds the paraphrases of one conversation prefix
// in one namespace, so buckets stay small where a whole table would not;
// measured on the project's loaded 2-core machine (BenchmarkVectorIndex,
// 1536 dimensions, vectors contiguous per bucket) a scan takes 17 µs for
// 100 entries, 0.73 ms for 1,000 and 16 ms for 10,000 (memory-bound),
// within the 50 ms lookup timeout up to a few tens of thousands, and it
// is exact. The served Go HNSW library (github.com/coder/hnsw v0.6.1)
// searched 0.25–0.45 ms at 10,000 entries, but found a stored vector's
// own entry for only 61–85 % of queries whatever its efSearch, took about
// 1.4 ms per insert (minutes to rebuild a large index at start), and its
// released Delete can leave an empty top layer that the next search
// dereferences.
type vectorIndex struct {
	mu      sync.RWMutex
	buckets map[bucketID]*vbucket
	entries map[string]*vbucket // entry id → its bucket
}

// vbucket is one bucket's entries: entry i's vector is
// data[i*dims:(i+1)*dims], so a scan reads memory in order.
type vbucket struct {
	id   bucketID
	ids  []string
	data []float32
	pos  map[string]int
}

// vec returns entry i's vector.
func (bk *vbucket) vec(i int) []float32 {
	d := bk.id.dims
	return bk.data[i*d : (i+1)*d : (i+1)*d]
}

func newVectorIndex() *vectorIndex {
	return &vectorIndex{buckets: map[bucketID]*vbucket{}, entries: map[string]*vbucket{}}
}

// normalize returns v scaled to unit length, or nil for a zero vector
// (which has no direction to compare).
func normalize(v []float32) []float32 {
	var sum float64
	for _, x := range v {
		sum += float64(x) * float64(x)
	}
	if sum == 0 || math.IsNaN(sum) || math.IsInf(sum, 0) {
		return nil
	}
	inv := float32(1 / math.Sqrt(sum))
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = x * inv
	}
	return out
}

// add puts (or replaces) entry id with vector vec in bucket b.
func (x *vectorIndex) add(b bucketID, id string, vec []float32) {
	n := normalize(vec)
	if n == nil || len(n) != b.dims {
		x.remove(id)
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if old, ok := x.entries[id]; ok && old.id != b {
		x.removeLocked(id)
	}
	bk := x.buckets[b]
	if bk == nil {
		bk = &vbucket{id: b, pos: map[string]int{}}
		x.buckets[b] = bk
	}
	x.entries[id] = bk
	if i, ok := bk.pos[id]; ok {
		copy(bk.vec(i), n)
		return
	}
	bk.pos[id] = len(bk.ids)
	bk.ids = append(bk.ids, id)
	bk.data = append(bk.data, n...)
}

// remove deletes entry id, if indexed.
func (x *vectorIndex) remove(id string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.removeLocked(id)
}

func (x *vectorIndex) removeLocked(id string) {
	bk, ok := x.entries[id]
	if !ok {
		return
	}
	delete(x.entries, id)
	i := bk.pos[id]
	last := len(bk.ids) - 1
	if i != last {
		bk.ids[i] = bk.ids[last]
		copy(bk.vec(i), bk.vec(last))
		bk.pos[bk.ids[i]] = i
	}
	bk.ids[last] = ""
	bk.ids, bk.data = bk.ids[:last], bk.data[:last*bk.id.dims]
	delete(bk.pos, id)
	if len(bk.ids) == 0 {
		delete(x.buckets, bk.id)
	}
}

// search returns up to k entries of bucket b nearest to vec, best first.
func (x *vectorIndex) search(b bucketID, vec []float32, k int) []candidate {
	q := normalize(vec)
	if q == nil || len(q) != b.dims {
		return nil
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	bk := x.buckets[b]
	if bk == nil {
		return nil
	}
	out := make([]candidate, 0, k+1)
	for i := range bk.ids {
		s := float64(vek32.Dot(q, bk.vec(i)))
		if len(out) == k && s <= out[k-1].score {
			continue
		}
		j, _ := slices.BinarySearchFunc(out, s, func(c candidate, s float64) int {
			switch {
			case c.score > s:
				return -1
			case c.score < s:
				return 1
			}
			return 0
		})
		out = slices.Insert(out, j, candidate{id: bk.ids[i], score: s})
		if len(out) > k {
			out = out[:k]
		}
	}
	return out
}

// size returns the number of indexed entries.
func (x *vectorIndex) size() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.entries)
}
