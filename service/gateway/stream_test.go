package gateway

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/routing"
	"github.com/tollgate-dev/tollgate/service/store"
)

// TestStreamFailover: a stream fails over to the next target only until
// its first chunk has arrived; after that a failure ends the stream.
func TestStreamFailover(t *testing.T) {
	t.Parallel()
	const firstChunkTimeout = time.Second
	reset := upstreamErr("p1", providers.KindConnection, 0)
	tests := []struct {
		name      string
		first     behavior
		served    string
		attempts  int
		openErr   providers.ErrorKind // ChatStream fails with this kind (when not 0)
		wantText  string
		streamErr bool
		partial   bool
		status    store.Status
		elapsed   time.Duration // until ChatStream returned
	}{
		{name: "500 on open falls back", first: behavior{err: upstreamErr("p1", providers.KindServer, 500)},
			served: "p2", attempts: 2, wantText: "echo: one two", status: store.StatusOK},
		{name: "reset before the first chunk falls back", first: behavior{firstErr: reset},
			served: "p2", attempts: 2, wantText: "echo: one two", status: store.StatusOK},
		{name: "no first chunk within the first-chunk timeout falls back", first: behavior{stall: true},
			served: "p2", attempts: 2, wantText: "echo: one two", status: store.StatusOK, elapsed: firstChunkTimeout},
		{name: "no answer within the first-chunk timeout falls back", first: behavior{hang: true},
			served: "p2", attempts: 2, wantText: "echo: one two", status: store.StatusOK, elapsed: firstChunkTimeout},
		{name: "slow first chunk within the timeout is served", first: behavior{delay: firstChunkTimeout / 2},
			served: "p1", attempts: 1, wantText: "echo: one two", status: store.StatusOK, elapsed: firstChunkTimeout / 2},
		{name: "an empty stream is an answer", first: behavior{emptyEOF: true},
			served: "p1", attempts: 1, wantText: "", status: store.StatusOK},
		{name: "death after the first chunk ends the stream", first: behavior{after: 2, midErr: reset},
			served: "p1", attempts: 1, wantText: "echo: one ", streamErr: true, partial: true, status: store.StatusUpstreamError},
		{name: "400 on open is returned", first: behavior{err: upstreamErr("p1", providers.KindInvalidRequest, 400)},
			attempts: 1, openErr: providers.KindInvalidRequest, status: store.StatusUpstreamError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t, []*routing.Route{fallback("r", []string{"m1", "m2"}, func(rt *routing.Route) {
					rt.FirstChunkTimeout = routing.Duration(firstChunkTimeout)
					rt.Breaker.Failures = 100
				})})
				h.p("p1").then(tt.first)
				call := h.call()
				start := time.Now()
				s, err := h.eng.ChatStream(t.Context(), call, userReq("r", "one two"))
				if got := time.Since(start); got != tt.elapsed {
					t.Errorf("ChatStream took %v, want %v", got, tt.elapsed)
				}
				if tt.openErr != 0 {
					var pe *providers.Error
					if !errors.As(err, &pe) || pe.Kind != tt.openErr {
						t.Fatalf("ChatStream: %v, want a %v error", err, tt.openErr)
					}
				} else {
					if err != nil {
						t.Fatalf("ChatStream: %v", err)
					}
					if s.Provider != tt.served || s.Attempts != tt.attempts || s.Route != "r" {
						t.Errorf("stream from %s after %d attempts via %q", s.Provider, s.Attempts, s.Route)
					}
					text, err := drain(t.Context(), s)
					if text != tt.wantText || (err != nil) != tt.streamErr {
						t.Errorf("streamed %q, %v; want %q, error %v", text, err, tt.wantText, tt.streamErr)
					}
					if err := s.Close(); err != nil {
						t.Errorf("Close: %v", err)
					}
				}
				rec := h.rec.one(t, call.RequestID)
				if rec.Status != tt.status || rec.Attempts != tt.attempts || rec.Partial != tt.partial || !rec.Stream {
					t.Errorf("record %v after %d attempts, partial %v; want %v after %d, partial %v", rec.Status, rec.Attempts, rec.Partial,
						tt.status, tt.attempts, tt.partial)
				}
				if tt.served == "p1" && len(h.p("p2").received()) != 0 {
					t.Error("the fallback was called after the stream started")
				}
				for _, id := range fakeIDs {
					if n := h.p(id).open.Load(); n != 0 {
						t.Errorf("%s has %d streams left open", id, n)
					}
				}
			})
		})
	}
}

// TestStreamRecordOnce: a stream is recorded exactly once however it ends:
// read to the end, closed by a client that went away before or during
// it, cut by the upstream, or by the caller's context.
func TestStreamRecordOnce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		script  behavior
		run     func(ctx context.Context, cancel context.CancelFunc, s *Stream) error
		status  store.Status
		code    string
		partial bool
		tokens  int64 // input + output recorded
	}{
		{name: "read to the end", run: func(ctx context.Context, _ context.CancelFunc, s *Stream) error {
			_, err := drain(ctx, s)
			return err
		}, status: store.StatusOK, tokens: 15},
		{name: "closed before the first read", run: func(context.Context, context.CancelFunc, *Stream) error { return nil },
			status: store.StatusCanceled, code: "canceled", tokens: 8},
		{name: "closed mid-stream", run: func(ctx context.Context, _ context.CancelFunc, s *Stream) error {
			_, err := s.Recv(ctx)
			return err
		}, status: store.StatusCanceled, code: "canceled", partial: true, tokens: 10},
		{name: "upstream dies mid-stream", script: behavior{after: 1, midErr: upstreamErr("p1", providers.KindConnection, 0)},
			run: func(ctx context.Context, _ context.CancelFunc, s *Stream) error {
				_, err := drain(ctx, s)
				if err == nil {
					return errors.New("the stream ended cleanly")
				}
				return nil
			}, status: store.StatusUpstreamError, code: "upstream_connection", partial: true, tokens: 10},
		{name: "caller cancels while the upstream stalls", script: behavior{after: 1, midHang: true},
			run: func(ctx context.Context, cancel context.CancelFunc, s *Stream) error {
				time.AfterFunc(time.Minute, cancel)
				_, err := drain(ctx, s)
				if !errors.Is(err, context.Canceled) {
					return err
				}
				return nil
			}, status: store.StatusCanceled, code: "canceled", partial: true, tokens: 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t, nil)
				h.p("p1").then(tt.script)
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				call := h.call()
				s, err := h.eng.ChatStream(ctx, call, userReq("m1", "one two three"))
				if err != nil {
					t.Fatal(err)
				}
				if err := tt.run(ctx, cancel, s); err != nil {
					t.Fatal(err)
				}
				_ = s.Close()
				_ = s.Close()
				if _, err := s.Recv(ctx); err == nil {
					t.Error("Recv after Close returned a chunk")
				}
				rec := h.rec.one(t, call.RequestID)
				if rec.Status != tt.status || rec.ErrorCode != tt.code || rec.Partial != tt.partial ||
					rec.InputTokens+rec.OutputTokens != tt.tokens {
					t.Errorf("record %v/%s partial %v tokens %d+%d; want %v/%s partial %v tokens %d", rec.Status, rec.ErrorCode, rec.Partial,
						rec.InputTokens, rec.OutputTokens, tt.status, tt.code, tt.partial, tt.tokens)
				}
				if n := h.p("p1").open.Load(); n != 0 {
					t.Errorf("%d upstream streams left open", n)
				}
			})
		})
	}
}

// TestStreamMetering: time to first token, reported and estimated usage,
// the model the upstream reports, and the cost, on the stream and in
// its record.
func TestStreamMetering(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, nil)
		h.p("p1").then(behavior{delay: 300 * time.Millisecond}, behavior{noUsage: true, text: "twelve bytes"})
		for _, tt := range []struct {
			usage providers.Usage
			cost  int64
		}{
			{usage: providers.Usage{InputTokens: 10, OutputTokens: 5}, cost: defaultCost},
			{usage: providers.Usage{InputTokens: 9, OutputTokens: 3, Estimated: true}, cost: 15_000},
		} {
			call := h.call()
			s, err := h.eng.ChatStream(t.Context(), call, userReq("m1", "hello, how are you?"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := drain(t.Context(), s); err != nil {
				t.Fatal(err)
			}
			if s.Usage() != tt.usage || s.CostNanos() != tt.cost || s.Model != "up-1" || s.Header().Get("X-Fake") != "p1" {
				t.Errorf("stream usage %+v cost %d model %s; want %+v, %d, up-1", s.Usage(), s.CostNanos(), s.Model, tt.usage, tt.cost)
			}
			_ = s.Close()
			rec := h.rec.one(t, call.RequestID)
			if rec.CostNanos != tt.cost || rec.UsageEstimated != tt.usage.Estimated || rec.Model != "up-1" {
				t.Errorf("record %+v", rec)
			}
			if call.RequestID == "req-1" && rec.TTFT != 300*time.Millisecond {
				t.Errorf("TTFT %v, want 300ms", rec.TTFT)
			}
		}
	})
}

// TestStreamRouteDeadline: the route's deadline bounds a stream's wait
// for its first chunk over all attempts; once the stream has started,
// it no longer applies.
func TestStreamRouteDeadline(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		script   map[string][]behavior
		wantErr  bool
		attempts int
		elapsed  time.Duration
		code     string
	}{
		{name: "no first chunk before the deadline: no attempt after it", script: map[string][]behavior{"p1": {{stall: true}}},
			wantErr: true, attempts: 1, elapsed: 2 * time.Second, code: "upstream_timeout"},
		{name: "a slow stream outlives the deadline once started", script: map[string][]behavior{"p1": {{after: 1, midHang: true}}},
			attempts: 1, code: "canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t, []*routing.Route{fallback("r", []string{"m1", "m2"}, func(rt *routing.Route) {
					rt.Timeout = routing.Duration(2 * time.Second)
				})})
				for id, bs := range tt.script {
					h.p(id).then(bs...)
				}
				call := h.call()
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				start := time.Now()
				s, err := h.eng.ChatStream(ctx, call, userReq("r", "hi"))
				if got := time.Since(start); got != tt.elapsed {
					t.Errorf("ChatStream took %v, want %v", got, tt.elapsed)
				}
				if (err != nil) != tt.wantErr {
					t.Fatalf("ChatStream: %v, want an error: %v", err, tt.wantErr)
				}
				if err == nil {
					time.AfterFunc(time.Minute, cancel) // the caller gives up long after the route's deadline
					text, err := drain(ctx, s)
					if text != "echo: " || !errors.Is(err, context.Canceled) {
						t.Errorf("streamed %q, %v; want the first chunk, then the caller's cancellation", text, err)
					}
					_ = s.Close()
				}
				rec := h.rec.one(t, call.RequestID)
				if rec.Attempts != tt.attempts || rec.ErrorCode != tt.code || len(h.p("p2").received()) != 0 {
					t.Errorf("record %s after %d attempts, fallback called %d times; want %s after %d and 0", rec.ErrorCode, rec.Attempts,
						len(h.p("p2").received()), tt.code, tt.attempts)
				}
			})
		})
	}
}
