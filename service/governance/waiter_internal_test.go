package governance

import (
	"slices"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/service/store"
)

// TestKeptRoom checks the room kept for long-waiting requests: only those
// ahead of the asker count, only from their urgentAt on, at most
// keptWaiters of them, and the queue stays whole as waiters leave from
// anywhere in it.
func TestKeptRoom(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	c := &counter{}
	ws := make([]*waiter, 10)
	for i := range ws {
		// Waiter i wants 1<<i and becomes urgent at t0 + i seconds.
		ws[i] = &waiter{want: store.Amount{A: 1 << i}, urgentAt: t0.Add(time.Duration(i) * time.Second)}
		c.enqueueLocked(ws[i])
	}
	sum := func(idx ...int) int64 {
		var s int64
		for _, i := range idx {
			s += 1 << i
		}
		return s
	}
	tests := []struct {
		name  string
		asker *waiter // nil: a new request
		at    time.Duration
		want  int64
	}{
		{"before anyone waited long", nil, -time.Second, 0},
		{"the first waited long: a new request", nil, 0, sum(0)},
		{"the first waited long: the first itself", ws[0], 0, 0},
		{"the first waited long: the second", ws[1], 0, sum(0)},
		{"three waited long: the second", ws[1], 2 * time.Second, sum(0)},
		{"three waited long: the fifth (not urgent itself)", ws[4], 2 * time.Second, sum(0, 1, 2)},
		{"all waited long: capped at keptWaiters", nil, time.Hour, sum(0, 1, 2, 3, 4, 5, 6, 7)},
		{"all waited long: the last", ws[9], time.Hour, sum(0, 1, 2, 3, 4, 5, 6, 7)},
		{"all waited long: the eighth", ws[7], time.Hour, sum(0, 1, 2, 3, 4, 5, 6)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.keptLocked(tt.asker, t0.Add(tt.at)).A; got != tt.want {
				t.Errorf("kept = %d, want %d", got, tt.want)
			}
		})
	}

	// Leaving: the head, a middle one and the tail.
	for _, i := range []int{0, 5, 9} {
		c.dequeueLocked(ws[i])
	}
	var order []int64
	for x := c.head; x != nil; x = x.next {
		order = append(order, x.want.A)
		if x.next != nil && x.next.prev != x {
			t.Fatalf("broken back link after %d", x.want.A)
		}
	}
	if want := []int64{2, 4, 8, 16, 64, 128, 256}; !slices.Equal(order, want) {
		t.Errorf("queue after leaving = %v, want %v", order, want)
	}
	if c.tail != ws[8] || len(order) != 7 || c.queued.A != sum(1, 2, 3, 4, 6, 7, 8) {
		t.Errorf("tail %v, waiting %d, queued %d", c.tail.want, len(order), c.queued.A)
	}
	if got := c.keptLocked(nil, t0.Add(time.Hour)).A; got != sum(1, 2, 3, 4, 6, 7, 8) {
		t.Errorf("kept after leaving = %d", got)
	}
	for _, w := range []*waiter{ws[1], ws[2], ws[3], ws[4], ws[6], ws[7], ws[8]} {
		c.dequeueLocked(w)
	}
	if c.head != nil || c.tail != nil || c.queued != (store.Amount{}) || c.queuedMin != (store.Amount{}) {
		t.Errorf("empty queue: head %v tail %v queued %v min %v", c.head, c.tail, c.queued, c.queuedMin)
	}
}
