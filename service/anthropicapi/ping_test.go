package anthropicapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestKeepAlivePings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		idle      time.Duration
		wantPings bool
	}{
		{"idle stream is pinged", 60 * time.Millisecond, true},
		{"stopped stream is not", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				rec := httptest.NewRecorder()
				out := &sseWriter{w: rec, rc: http.NewResponseController(rec)}
				out.startPings(5 * time.Millisecond)
				time.Sleep(tt.idle) // simulated time: the stream idles on the synctest bubble's fake clock
				out.stop()
				synctest.Wait()
				n := strings.Count(rec.Body.String(), pingFrame)
				time.Sleep(20 * time.Millisecond) // simulated time: nothing may be written after stop
				synctest.Wait()
				if after := strings.Count(rec.Body.String(), pingFrame); after != n {
					t.Errorf("%d pings after stop", after-n)
				}
				if got := n > 0; got != tt.wantPings {
					t.Errorf("%d pings, want some: %v", n, tt.wantPings)
				}
			})
		})
	}
}
