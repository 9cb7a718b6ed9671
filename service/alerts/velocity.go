package alerts

import (
	"sync"
	"time"

	"github.com/tollgate-dev/tollgate/service/store"
)

// Velocity windows: spend is kept per key in one-minute buckets; the recent
// window is compared with the average of the baseline window before it.
const (
	bucketWidth    = time.Minute
	recentBuckets  = 5
	baseBuckets    = 60
	historyBuckets = recentBuckets + baseBuckets
)

// keyRate is a key's spend per minute over the last historyBuckets minutes,
// as a ring indexed by minute number.
type keyRate struct {
	team    string
	buckets [historyBuckets]int64
	minutes [historyBuckets]int64 // the minute each bucket holds
	last    int64                 // the newest minute observed
}

// rates aggregates spend per key in memory.
type rates struct {
	mu   sync.Mutex
	keys map[string]*keyRate
}

func newRates() *rates { return &rates{keys: make(map[string]*keyRate)} }

// add adds cost to key's bucket of the minute containing at.
func (r *rates) add(key, team string, at time.Time, cost int64) {
	if key == "" || cost <= 0 {
		return
	}
	minute := at.Unix() / int64(bucketWidth/time.Second)
	i := minute % historyBuckets
	r.mu.Lock()
	defer r.mu.Unlock()
	k := r.keys[key]
	if k == nil {
		k = &keyRate{team: team}
		r.keys[key] = k
	}
	if k.minutes[i] != minute {
		k.minutes[i], k.buckets[i] = minute, 0
	}
	k.buckets[i] += cost
	k.last = max(k.last, minute)
}

// spike is a key whose recent spend exceeds its threshold.
type spike struct {
	key, team string
	// recent is the spend of the last recentBuckets minutes; baseline the
	// average spend per recentBuckets minutes over the baseBuckets before.
	recent, baseline, threshold int64
}

// spikes returns the keys whose spend in the recentBuckets minutes up to
// now exceeds max(factor × baseline, floor), and forgets keys with no spend
// in the whole history.
func (r *rates) spikes(now time.Time, factor float64, floor int64) []spike {
	cur := now.Unix() / int64(bucketWidth/time.Second)
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []spike
	for id, k := range r.keys {
		if cur-k.last >= historyBuckets {
			delete(r.keys, id)
			continue
		}
		var recent, base int64
		for i := range historyBuckets {
			age := cur - k.minutes[i]
			switch {
			case age < 0 || age >= historyBuckets:
			case age < recentBuckets:
				recent += k.buckets[i]
			default:
				base += k.buckets[i]
			}
		}
		baseline := base * recentBuckets / baseBuckets
		threshold := max(int64(factor*float64(baseline)), floor)
		if recent > threshold {
			out = append(out, spike{key: id, team: k.team, recent: recent, baseline: baseline, threshold: threshold})
		}
	}
	return out
}

// observe feeds one record into the rates.
func (r *rates) observe(rec *store.Record) { r.add(rec.KeyID, rec.TeamID, rec.Time, rec.CostNanos) }
