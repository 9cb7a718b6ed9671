package fakehttp_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/fakeupstream/fakehttp"
)

func TestRecorderCopies(t *testing.T) {
	t.Parallel()
	var rec fakehttp.Recorder
	if _, ok := rec.Last(); ok {
		t.Fatal("Last on an empty recorder")
	}
	r := httptest.NewRequest(http.MethodPost, "/v1/x?a=1", nil)
	rec.Record(fakehttp.NewRequest(r, []byte("body")))
	got, _ := rec.Last()
	got.Body[0] = 'X'
	if all := rec.Requests(); len(all) != 1 || string(all[0].Body) != "body" || all[0].Path != "/v1/x?a=1" {
		t.Errorf("Requests = %+v", all)
	}
}

func TestQueue(t *testing.T) {
	t.Parallel()
	var q fakehttp.Queue[int]
	q.Push(1, 2)
	fn := func(*fakehttp.Request) (int, bool) { return 9, true }
	for _, want := range []int{1, 2, 9} {
		if got, ok := q.Next(nil, fn); !ok || got != want {
			t.Errorf("Next = %d, %v, want %d", got, ok, want)
		}
	}
	if _, ok := q.Next(nil, nil); ok {
		t.Error("Next on an empty queue without a func")
	}
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	var l fakehttp.Lifecycle
	ctx, cancel := context.WithCancel(context.Background())
	r := httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx)
	end := l.Begin(r)
	if l.InFlight() != 1 {
		t.Errorf("InFlight = %d", l.InFlight())
	}
	cancel()
	if l.Sleep(ctx, time.Hour) {
		t.Error("Sleep outlived the request")
	}
	end()
	if l.InFlight() != 0 || l.Cancelled() != 1 {
		t.Errorf("InFlight = %d, Cancelled = %d", l.InFlight(), l.Cancelled())
	}
	go l.Close()
	if l.Sleep(context.Background(), fakehttp.Forever) {
		t.Error("Sleep outlived Close")
	}
	l.Close()
}
