package gateway

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/routing"
	"github.com/tollgate-dev/tollgate/service/store"
)

// TestFailoverPerErrorKind sends one unary request through a two-target
// fallback route whose first target fails in one way, and checks who
// served it, how many attempts it took, what the caller got and what was
// recorded.
func TestFailoverPerErrorKind(t *testing.T) {
	t.Parallel()
	const attemptTimeout = time.Second
	tests := []struct {
		name     string
		first    behavior
		served   string // "" when the request fails
		attempts int
		wantKind providers.ErrorKind // of the error returned, when it fails
		wantCode string              // the record's error code
		elapsed  time.Duration       // fake time the request took
	}{
		{name: "500 falls back", first: behavior{err: upstreamErr("p1", providers.KindServer, 500)}, served: "p2", attempts: 2},
		{name: "503 falls back", first: behavior{err: upstreamErr("p1", providers.KindOverloaded, 503)}, served: "p2", attempts: 2},
		{name: "529 falls back", first: behavior{err: upstreamErr("p1", providers.KindOverloaded, 529)}, served: "p2", attempts: 2},
		{name: "429 falls back", first: behavior{err: upstreamErr("p1", providers.KindRateLimited, 429)}, served: "p2", attempts: 2},
		{name: "504 falls back", first: behavior{err: upstreamErr("p1", providers.KindTimeout, 504)}, served: "p2", attempts: 2},
		{name: "connection reset falls back", first: behavior{err: upstreamErr("p1", providers.KindConnection, 0)}, served: "p2", attempts: 2},
		{name: "hang past the attempt timeout falls back", first: behavior{hang: true}, served: "p2", attempts: 2, elapsed: attemptTimeout},
		{name: "slow but within the attempt timeout is served", first: behavior{delay: attemptTimeout / 2}, served: "p1", attempts: 1, elapsed: attemptTimeout / 2},
		{name: "400 is returned as is", first: behavior{err: upstreamErr("p1", providers.KindInvalidRequest, 400)},
			attempts: 1, wantKind: providers.KindInvalidRequest, wantCode: "upstream_invalid_request"},
		{name: "401 is returned as is", first: behavior{err: upstreamErr("p1", providers.KindAuthentication, 401)},
			attempts: 1, wantKind: providers.KindAuthentication, wantCode: "upstream_authentication"},
		{name: "403 is returned as is", first: behavior{err: upstreamErr("p1", providers.KindPermissionDenied, 403)},
			attempts: 1, wantKind: providers.KindPermissionDenied, wantCode: "upstream_permission_denied"},
		{name: "undecodable answer is returned as is", first: behavior{err: upstreamErr("p1", providers.KindBadResponse, 200)},
			attempts: 1, wantKind: providers.KindBadResponse, wantCode: "upstream_bad_response"},
		{name: "context length with no larger target is returned", first: behavior{err: upstreamErr("p1", providers.KindContextLength, 400)},
			attempts: 1, wantKind: providers.KindContextLength, wantCode: "upstream_context_length"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t, []*routing.Route{fallback("r", []string{"m1", "m2"}, func(rt *routing.Route) {
					rt.Targets[0].Timeout = routing.Duration(attemptTimeout)
					rt.Breaker.Failures = 100
				})})
				h.p("p1").then(tt.first)
				call := h.call()
				start := time.Now()
				res, err := h.eng.Chat(t.Context(), call, userReq("r", "hello"))
				if got := time.Since(start); got != tt.elapsed {
					t.Errorf("took %v of fake time, want %v", got, tt.elapsed)
				}
				rec := h.rec.one(t, call.RequestID)
				if rec.Attempts != tt.attempts {
					t.Errorf("record attempts %d, want %d", rec.Attempts, tt.attempts)
				}
				if tt.served == "" {
					var pe *providers.Error
					if !errors.As(err, &pe) || pe.Kind != tt.wantKind {
						t.Fatalf("err = %v, want a %v upstream error", err, tt.wantKind)
					}
					if rec.Status != store.StatusUpstreamError || rec.ErrorCode != tt.wantCode || rec.Provider != "p1" {
						t.Errorf("record %v/%s from %q, want upstream_error/%s from p1", rec.Status, rec.ErrorCode, rec.Provider, tt.wantCode)
					}
					if n := len(h.p("p2").received()); n != 0 {
						t.Errorf("the fallback was called %d times for a request it cannot cure", n)
					}
					return
				}
				if err != nil {
					t.Fatalf("Chat: %v", err)
				}
				if res.Provider != tt.served || res.Attempts != tt.attempts || res.Route != "r" {
					t.Errorf("served by %s in %d attempts via %q, want %s in %d via r", res.Provider, res.Attempts, res.Route, tt.served, tt.attempts)
				}
				if got := res.Response.Choices[0].Message.Text(); got != "echo: hello" {
					t.Errorf("answer %q", got)
				}
				if rec.Status != store.StatusOK || rec.Provider != tt.served || rec.CostNanos != defaultCost || rec.RequestedModel != "r" {
					t.Errorf("record %+v", rec)
				}
				if tt.first.hang && h.p("p1").canceled.Load() != 1 {
					t.Error("the timed-out attempt's upstream call was not cancelled")
				}
			})
		})
	}
}

// TestRetrySameTarget covers a plain model (a route of one target):
// retryable failures are retried on it after a backoff that honours the
// upstream's retry-after, up to the attempt limit.
func TestRetrySameTarget(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		script   []behavior
		wantErr  bool
		attempts int
		minWait  time.Duration // between the two calls
	}{
		{name: "503 then success", script: []behavior{{err: upstreamErr("p1", providers.KindOverloaded, 503)}}, attempts: 2},
		{name: "429 waits its retry-after", script: []behavior{{err: &providers.Error{Provider: "p1", Kind: providers.KindRateLimited,
			Status: 429, RetryAfter: 1500 * time.Millisecond}}}, attempts: 2, minWait: 1500 * time.Millisecond},
		{name: "retry-after is capped at the backoff ceiling", script: []behavior{{err: &providers.Error{Provider: "p1", Kind: providers.KindRateLimited,
			Status: 429, RetryAfter: time.Hour}}}, attempts: 2, minWait: routing.DefaultBackoffMax},
		{name: "two failures exhaust the default two attempts", script: []behavior{
			{err: upstreamErr("p1", providers.KindServer, 500)}, {err: upstreamErr("p1", providers.KindServer, 500)}},
			wantErr: true, attempts: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t, nil)
				h.p("p1").then(tt.script...)
				call := h.call()
				res, err := h.eng.Chat(t.Context(), call, userReq("m1", "hi"))
				if (err != nil) != tt.wantErr {
					t.Fatalf("Chat: %v, want error %v", err, tt.wantErr)
				}
				calls := h.p("p1").received()
				if len(calls) != tt.attempts {
					t.Fatalf("upstream saw %d calls, want %d", len(calls), tt.attempts)
				}
				if wait := calls[1].at.Sub(calls[0].at); wait < tt.minWait || wait > routing.DefaultBackoffMax {
					t.Errorf("waited %v before retrying, want within [%v, %v]", wait, tt.minWait, routing.DefaultBackoffMax)
				}
				rec := h.rec.one(t, call.RequestID)
				if rec.Attempts != tt.attempts || rec.Provider != "p1" || rec.Model != "up-1" {
					t.Errorf("record attempts %d provider %s model %s", rec.Attempts, rec.Provider, rec.Model)
				}
				if !tt.wantErr && (res.Attempts != tt.attempts || res.Route != "") {
					t.Errorf("result attempts %d route %q", res.Attempts, res.Route)
				}
				if tt.wantErr && rec.ErrorCode != "upstream_server" {
					t.Errorf("record error code %q", rec.ErrorCode)
				}
			})
		})
	}
}

// TestContextLengthEscalation: a target that finds the prompt too long
// is never retried, and only targets with a larger context window are
// tried after it.
func TestContextLengthEscalation(t *testing.T) {
	t.Parallel()
	tooLong := behavior{err: upstreamErr("", providers.KindContextLength, 400)}
	tests := []struct {
		name     string
		windows  []int // of targets m1, m2, m3
		script   map[string][]behavior
		served   string
		attempts int
		skipped  string // a provider that must not be called
	}{
		{name: "escalates to the larger window, skipping an equal one", windows: []int{8000, 8000, 100_000},
			script: map[string][]behavior{"p1": {tooLong}}, served: "p3", attempts: 2, skipped: "p2"},
		{name: "escalates step by step", windows: []int{4000, 8000, 100_000},
			script: map[string][]behavior{"p1": {tooLong}, "p2": {tooLong}}, served: "p3", attempts: 3},
		{name: "largest window too small: the error is returned", windows: []int{4000, 8000, 100_000},
			script: map[string][]behavior{"p1": {tooLong}, "p2": {tooLong}, "p3": {tooLong}}, attempts: 3},
		{name: "a retryable failure after it keeps the bound", windows: []int{4000, 4000, 100_000},
			script: map[string][]behavior{"p1": {tooLong}, "p3": {{err: upstreamErr("p3", providers.KindServer, 500)}}},
			served: "p3", attempts: 3, skipped: "p2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				rt := fallback("big", []string{"m1", "m2", "m3"}, func(rt *routing.Route) {
					for i, w := range tt.windows {
						rt.Targets[i].ContextWindow = w
					}
					rt.Retry.MaxAttempts = 4
				})
				h := newHarness(t, []*routing.Route{rt})
				for id, bs := range tt.script {
					h.p(id).then(bs...)
				}
				call := h.call()
				res, err := h.eng.Chat(t.Context(), call, userReq("big", "a long prompt"))
				rec := h.rec.one(t, call.RequestID)
				if rec.Attempts != tt.attempts {
					t.Errorf("attempts %d, want %d", rec.Attempts, tt.attempts)
				}
				if tt.skipped != "" && len(h.p(tt.skipped).received()) != 0 {
					t.Errorf("%s (no larger window) was tried", tt.skipped)
				}
				if tt.served == "" {
					var pe *providers.Error
					if !errors.As(err, &pe) || pe.Kind != providers.KindContextLength || rec.ErrorCode != "upstream_context_length" {
						t.Fatalf("err = %v, record %q; want the context-length error", err, rec.ErrorCode)
					}
					return
				}
				if err != nil || res.Provider != tt.served {
					t.Fatalf("Chat = %v, %v; want served by %s", res, err, tt.served)
				}
			})
		})
	}
}

// TestDeadlines covers the route's overall deadline, the attempt
// timeouts under it, a backoff that would overrun it, and the caller
// giving up.
func TestDeadlines(t *testing.T) {
	t.Parallel()
	hang := behavior{hang: true}
	tests := []struct {
		name      string
		route     func(*routing.Route)
		script    map[string][]behavior
		cancelAt  time.Duration // the caller cancels after this long; 0: never
		callerTTL time.Duration // the caller's own deadline; 0: none
		wantErr   error
		wantCode  string
		elapsed   time.Duration
		attempts  int
	}{
		{name: "route deadline ends a hung attempt", route: func(rt *routing.Route) { rt.Timeout = routing.Duration(2 * time.Second) },
			script: map[string][]behavior{"p1": {hang}}, wantErr: context.DeadlineExceeded, wantCode: "deadline_exceeded",
			elapsed: 2 * time.Second, attempts: 1},
		{name: "attempt timeout then the rest of the route deadline", route: func(rt *routing.Route) {
			rt.Timeout = routing.Duration(1500 * time.Millisecond)
			rt.Targets[0].Timeout = routing.Duration(time.Second)
		}, script: map[string][]behavior{"p1": {hang}, "p2": {hang}}, wantErr: context.DeadlineExceeded, wantCode: "deadline_exceeded",
			elapsed: 1500 * time.Millisecond, attempts: 2},
		{name: "an attempt timeout is recorded as the upstream's timeout", route: func(rt *routing.Route) {
			rt.Targets = rt.Targets[:1]
			rt.Targets[0].Timeout = routing.Duration(time.Second)
			rt.Retry.MaxAttempts = 1
		}, script: map[string][]behavior{"p1": {hang}}, wantCode: "upstream_timeout", elapsed: time.Second, attempts: 1},
		{name: "a backoff past the deadline is not waited", route: func(rt *routing.Route) {
			rt.Targets = rt.Targets[:1]
			rt.Timeout = routing.Duration(500 * time.Millisecond)
			rt.Retry = routing.Retry{MaxAttempts: 3, BackoffBase: routing.Duration(time.Second), BackoffMax: routing.Duration(time.Second)}
		}, script: map[string][]behavior{"p1": {{err: &providers.Error{Provider: "p1", Kind: providers.KindRateLimited, Status: 429, RetryAfter: time.Second}}}},
			wantCode: "upstream_rate_limited", attempts: 1},
		{name: "caller cancels during an attempt", script: map[string][]behavior{"p1": {hang}}, cancelAt: 300 * time.Millisecond,
			wantErr: context.Canceled, wantCode: "canceled", elapsed: 300 * time.Millisecond, attempts: 1},
		{name: "caller deadline during an attempt", script: map[string][]behavior{"p1": {hang}}, callerTTL: 700 * time.Millisecond,
			wantErr: context.DeadlineExceeded, wantCode: "deadline_exceeded", elapsed: 700 * time.Millisecond, attempts: 1},
		{name: "caller cancels during a backoff", route: func(rt *routing.Route) {
			rt.Targets = rt.Targets[:1]
			rt.Retry = routing.Retry{BackoffBase: routing.Duration(time.Second), BackoffMax: routing.Duration(time.Second)}
		}, script: map[string][]behavior{"p1": {{err: &providers.Error{Provider: "p1", Kind: providers.KindRateLimited, Status: 429, RetryAfter: time.Second}}}},
			cancelAt: 100 * time.Millisecond, wantCode: "upstream_rate_limited", elapsed: 100 * time.Millisecond, attempts: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				rt := fallback("r", []string{"m1", "m2"}, func(rt *routing.Route) { rt.Breaker.Failures = 100 })
				if tt.route != nil {
					tt.route(rt)
				}
				h := newHarness(t, []*routing.Route{rt})
				for id, bs := range tt.script {
					h.p(id).then(bs...)
				}
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				if tt.cancelAt > 0 {
					time.AfterFunc(tt.cancelAt, cancel)
				}
				if tt.callerTTL > 0 {
					ctx, cancel = context.WithTimeout(ctx, tt.callerTTL)
					defer cancel()
				}
				call := h.call()
				start := time.Now()
				_, err := h.eng.Chat(ctx, call, userReq("r", "hi"))
				if got := time.Since(start); got != tt.elapsed {
					t.Errorf("took %v, want %v", got, tt.elapsed)
				}
				if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				rec := h.rec.one(t, call.RequestID)
				if rec.ErrorCode != tt.wantCode || rec.Attempts != tt.attempts {
					t.Errorf("record %s after %d attempts, want %s after %d", rec.ErrorCode, rec.Attempts, tt.wantCode, tt.attempts)
				}
				if n := len(h.p("p2").received()) + len(h.p("p1").received()); n != tt.attempts {
					t.Errorf("upstreams saw %d calls, want %d", n, tt.attempts)
				}
			})
		})
	}
}

// TestBreaker walks a target's breaker through open, rejected, a failed
// probe, a probe that holds the half-open slot, and recovery.
func TestBreaker(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const cooldown = 10 * time.Second
		h := newHarness(t, []*routing.Route{fallback("guarded", []string{"m1", "m2"}, func(rt *routing.Route) {
			rt.Breaker = routing.Breaker{Failures: 3, Cooldown: routing.Duration(cooldown)}
		})})
		p1 := h.p("p1")
		p1.setAlways(&behavior{err: upstreamErr("p1", providers.KindServer, 500)})
		chat := func(step string, wantProvider string, wantAttempts int) {
			t.Helper()
			res, err := h.eng.Chat(t.Context(), h.call(), userReq("guarded", step))
			if err != nil {
				t.Fatalf("%s: %v", step, err)
			}
			if res.Provider != wantProvider || res.Attempts != wantAttempts {
				t.Fatalf("%s: served by %s in %d attempts, want %s in %d", step, res.Provider, res.Attempts, wantProvider, wantAttempts)
			}
		}
		for range 3 {
			chat("closed, failing", "p2", 2)
		}
		seen := len(p1.received())
		for range 5 {
			chat("open", "p2", 1)
		}
		if got := len(p1.received()); got != seen {
			t.Fatalf("the open breaker let %d requests through", got-seen)
		}
		time.Sleep(cooldown) // fake time (synctest bubble): the cooldown passes at once
		chat("failed probe", "p2", 2)
		chat("open again", "p2", 1)
		if got := len(p1.received()); got != seen+1 {
			t.Fatalf("primary saw %d requests after the cooldown, want 1 probe", got-seen)
		}

		// The primary recovers; its probe is slow. While it is out, the
		// half-open breaker admits no other request.
		p1.setAlways(nil)
		p1.then(behavior{delay: time.Second})
		time.Sleep(cooldown) // fake time (synctest bubble)
		var wg sync.WaitGroup
		wg.Go(func() { chat("slow successful probe", "p1", 1) })
		synctest.Wait() // the probe is in flight
		chat("during the probe", "p2", 1)
		wg.Wait()
		for range 3 {
			chat("closed again", "p1", 1)
		}
	})
}

// TestRecordOncePerUnaryOutcome: every unary request, whatever its fate,
// is recorded exactly once, with the governance-relevant fields.
func TestRecordOncePerUnaryOutcome(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		model  string
		secret string
		script []behavior
		status store.Status
		code   string
	}{
		{name: "success", model: "m1", status: store.StatusOK},
		{name: "unknown key", model: "m1", secret: "tg-nope", status: store.StatusUnauthenticated, code: "unauthenticated"},
		{name: "unknown model", model: "nope", status: store.StatusInvalid, code: "model_not_found"},
		{name: "upstream error", model: "m1", script: []behavior{{err: upstreamErr("p1", providers.KindInvalidRequest, 400)}},
			status: store.StatusUpstreamError, code: "upstream_invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t, nil)
				h.p("p1").then(tt.script...)
				call := h.call()
				if tt.secret != "" {
					call.Credential = tt.secret
				}
				call.EndUser, call.Tags = "user-7", []string{"batch"}
				_, _ = h.eng.Chat(t.Context(), call, userReq(tt.model, "hi"))
				rec := h.rec.one(t, call.RequestID)
				if rec.Status != tt.status || rec.ErrorCode != tt.code {
					t.Errorf("record %v/%s, want %v/%s", rec.Status, rec.ErrorCode, tt.status, tt.code)
				}
				if rec.EndUser != "user-7" || rec.Operation != "chat" || rec.Stream || rec.Surface != string(SurfaceOpenAI) || rec.RequestedModel != tt.model {
					t.Errorf("record attribution %+v", rec)
				}
				if tt.status == store.StatusOK && (rec.KeyID != "key-a" || rec.TeamID != "team-a" || rec.InputTokens != 10 ||
					rec.OutputTokens != 5 || rec.CostNanos != defaultCost) {
					t.Errorf("record usage %+v", rec)
				}
			})
		})
	}
}
