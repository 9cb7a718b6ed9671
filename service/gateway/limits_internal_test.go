package gateway

import (
	"testing"
	"time"
)

func TestDefaultOutput(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	o := outputStats{floor: 1024}
	steps := []struct {
		name    string
		observe int64 // 0: none
		at      time.Duration
		want    int64
	}{
		{"no observation: the floor", 0, 0, 1024},
		{"short answers do not lower it", 50, 0, 1024},
		{"a longer answer raises it", 3000, time.Minute, 3000},
		{"it stays through the next window", 0, outputWindow + time.Minute, 3000},
		{"and is forgotten after two", 0, 2*outputWindow + 2*time.Minute, 1024},
	}
	for _, st := range steps {
		now := t0.Add(st.at)
		if st.observe > 0 {
			o.observe("m", st.observe, now)
		}
		if got := o.reserve("m", now); got != st.want {
			t.Errorf("%s: reserve = %d, want %d", st.name, got, st.want)
		}
	}
	if got := o.reserve("other", t0); got != 1024 {
		t.Errorf("another model: reserve = %d, want the floor", got)
	}
}
