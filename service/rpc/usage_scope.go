package rpc

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/service/store"
)

// creators returns the creator of each record's key (revoked keys too).
func (u *Usage) creators(ctx context.Context, rs []store.Record) (map[string]string, error) {
	if u.keys == nil || len(rs) == 0 {
		return map[string]string{}, nil
	}
	ids := make([]string, 0, len(rs))
	for i := range rs {
		if rs[i].KeyID != "" && !slices.Contains(ids, rs[i].KeyID) {
			ids = append(ids, rs[i].KeyID)
		}
	}
	return u.keys.KeyCreators(ctx, ids)
}

// foldFunc turns the store's groups into the requested ones: keys mapped
// to their creators, and groups with the same values merged.
type foldFunc func(ctx context.Context, gs []store.UsageGroup, merge bool) ([]store.UsageGroup, error)

// groupBy sets q's dimensions for the requested ones and returns the fold
// that turns its answer back into the requested groups. The key-creator
// dimension is asked of the store as the key dimension.
func (u *Usage) groupBy(q *store.SummaryQuery, dims []tollgatev1.UsageDimension) (foldFunc, error) {
	src := make([]int, len(dims)) // requested dimension → index in q.GroupBy
	creator := make([]bool, len(dims))
	keyAt := -1
	for i, d := range dims {
		if d == tollgatev1.UsageDimension_USAGE_DIMENSION_KEY_CREATOR {
			if u.keys == nil {
				return nil, badParam(fmt.Sprintf("group_by[%d]", i), "usage by key creator is not available on this server")
			}
			creator[i] = true
			continue
		}
		dim, ok := dimensions[d]
		if !ok {
			return nil, badParam(fmt.Sprintf("group_by[%d]", i), "unknown dimension")
		}
		if dim == store.DimKey {
			keyAt = len(q.GroupBy)
		}
		src[i] = len(q.GroupBy)
		q.GroupBy = append(q.GroupBy, dim)
	}
	byCreator := slices.Contains(creator, true)
	if byCreator && keyAt < 0 {
		keyAt = len(q.GroupBy)
		q.GroupBy = append(q.GroupBy, store.DimKey)
	}
	for i := range creator {
		if creator[i] {
			src[i] = keyAt
		}
	}
	return func(ctx context.Context, gs []store.UsageGroup, merge bool) ([]store.UsageGroup, error) {
		if !byCreator && !merge {
			return gs, nil
		}
		var who map[string]string
		if byCreator {
			ids := make([]string, 0, len(gs))
			for _, g := range gs {
				ids = append(ids, g.Keys[keyAt])
			}
			var err error
			if who, err = u.keys.KeyCreators(ctx, ids); err != nil {
				return nil, err
			}
		}
		type groupKey struct {
			keys   string
			bucket time.Time
		}
		index := map[groupKey]int{}
		var out []store.UsageGroup
		for _, g := range gs {
			keys := make([]string, len(dims))
			for i := range dims {
				keys[i] = g.Keys[src[i]]
				if creator[i] {
					keys[i] = who[keys[i]]
				}
			}
			k := groupKey{strings.Join(keys, "\x00"), g.BucketStart}
			j, ok := index[k]
			if !ok {
				index[k] = len(out)
				out = append(out, store.UsageGroup{Keys: keys, BucketStart: g.BucketStart})
				j = len(out) - 1
			}
			o := &out[j]
			o.Requests += g.Requests
			o.Errors += g.Errors
			o.InputTokens += g.InputTokens
			o.OutputTokens += g.OutputTokens
			o.CachedInputTokens += g.CachedInputTokens
			o.CostNanos += g.CostNanos
			o.CacheHits += g.CacheHits
			o.SavedNanos += g.SavedNanos
		}
		slices.SortStableFunc(out, func(a, b store.UsageGroup) int {
			if c := cmp.Compare(b.CostNanos, a.CostNanos); c != 0 {
				return c
			}
			return cmp.Compare(b.Requests, a.Requests)
		})
		return out, nil
	}, nil
}
