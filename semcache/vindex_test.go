package semcache

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

func randomUnit(r *rand.Rand, dims int) []float32 {
	v := make([]float32, dims)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return normalize(v)
}

// TestVectorIndexExact checks searches against a brute-force ranking
// while entries are replaced, moved between buckets and removed.
func TestVectorIndexExact(t *testing.T) {
	t.Parallel()
	const dims = 24
	r := rand.New(rand.NewPCG(1, 2))
	x := newVectorIndex()
	a, b := bucketID{model: "m", dims: dims, ns: "team:a"}, bucketID{model: "m", dims: dims, ns: "team:b"}
	want := map[bucketID]map[string][]float32{a: {}, b: {}}
	put := func(bk bucketID, id string, v []float32) {
		for _, m := range want {
			delete(m, id)
		}
		want[bk][id] = v
		x.add(bk, id, v)
	}
	for i := range 300 {
		put([]bucketID{a, b}[i%2], fmt.Sprint("e", i), randomUnit(r, dims))
	}
	for i := range 100 {
		id := fmt.Sprint("e", i)
		switch i % 3 {
		case 0: // replaced in place
			bk := []bucketID{a, b}[i%2]
			put(bk, id, randomUnit(r, dims))
		case 1: // moved to the other bucket
			put([]bucketID{b, a}[i%2], id, randomUnit(r, dims))
		case 2:
			for _, m := range want {
				delete(m, id)
			}
			x.remove(id)
		}
	}
	if got, n := x.size(), len(want[a])+len(want[b]); got != n {
		t.Fatalf("size %d, want %d", got, n)
	}
	for range 50 {
		q := randomUnit(r, dims)
		for _, bk := range []bucketID{a, b} {
			type scored struct {
				id string
				s  float64
			}
			var all []scored
			for id, v := range want[bk] {
				var s float64
				for i := range v {
					s += float64(v[i]) * float64(q[i])
				}
				all = append(all, scored{id, s})
			}
			slices.SortFunc(all, func(x, y scored) int {
				if x.s > y.s {
					return -1
				}
				return 1
			})
			got := x.search(bk, q, searchCandidates)
			if len(got) != searchCandidates {
				t.Fatalf("search returned %d candidates", len(got))
			}
			for i, c := range got {
				if c.id != all[i].id || c.score-all[i].s > 1e-4 || all[i].s-c.score > 1e-4 {
					t.Fatalf("candidate %d = %+v, want %s (%.5f)", i, c, all[i].id, all[i].s)
				}
			}
		}
	}
}

// TestVectorIndexConcurrent searches while entries are added, replaced and
// removed (run with -race).
func TestVectorIndexConcurrent(t *testing.T) {
	t.Parallel()
	const dims = 16
	x := newVectorIndex()
	b := bucketID{model: "m", dims: dims}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 9))
			for i := range 500 {
				id := fmt.Sprint(w, "-", i%100)
				if i%5 == 4 {
					x.remove(id)
				} else {
					x.add(b, id, randomUnit(r, dims))
				}
				x.search(b, randomUnit(r, dims), 4)
			}
		})
	}
	wg.Wait()
	x.mu.RLock()
	defer x.mu.RUnlock()
	if bk := x.buckets[b]; bk == nil || len(bk.ids) != len(x.entries) || len(bk.pos) != len(bk.ids) {
		t.Fatal("bucket and entries disagree")
	}
}

func TestVectorIndexZeroAndWrongDims(t *testing.T) {
	t.Parallel()
	x := newVectorIndex()
	b := bucketID{model: "m", dims: 2}
	x.add(b, "zero", []float32{0, 0})
	x.add(b, "long", []float32{1, 0, 0})
	x.add(b, "ok", []float32{3, 4})
	if n := x.size(); n != 1 {
		t.Errorf("size %d, want only the valid vector", n)
	}
	got := x.search(b, []float32{3, 4}, 4)
	if len(got) != 1 || got[0].id != "ok" || got[0].score < 0.9999 {
		t.Errorf("search = %+v", got)
	}
	if got := x.search(b, []float32{0, 0}, 4); got != nil {
		t.Errorf("search of a zero vector = %+v", got)
	}
	x.remove("ok")
	if n := len(x.buckets); n != 0 {
		t.Errorf("%d buckets left after removing every entry", n)
	}
}

// BenchmarkVectorIndex measures a semantic search (the scan of one bucket
// of 1536-dimension vectors) at several bucket sizes.
func BenchmarkVectorIndex(b *testing.B) {
	const dims = 1536
	for _, n := range []int{100, 1000, 10000} {
		r := rand.New(rand.NewPCG(1, 2))
		bk := bucketID{model: "m", dims: dims}
		x := newVectorIndex()
		for i := range n {
			x.add(bk, fmt.Sprint(i), randomUnit(r, dims))
		}
		q := randomUnit(r, dims)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			for b.Loop() {
				x.search(bk, q, searchCandidates)
			}
		})
	}
}
