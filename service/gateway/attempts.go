package gateway

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/registry"
	"github.com/tollgate-dev/tollgate/service/routing"
)

// attemptFunc runs one attempt on a target with the attempt's context.
// For a stream it returns once the first chunk has arrived, with a
// release func that abandons the stream should the attempt be voided.
type attemptFunc func(ctx context.Context, sv *registry.Serving, t *routing.Target) (release func(), err error)

// outcome says how the attempts of a request went.
type outcome struct {
	// serving and target are those of the last attempt (the one that
	// served the request on success); nil when no attempt was made.
	serving *registry.Serving
	target  *routing.Target
	// attempts is the number of upstream attempts made.
	attempts int
	// cancel ends the context of a successful stream attempt; the stream
	// calls it when it closes. Nil for unary requests.
	cancel context.CancelFunc
}

// run drives the attempts of one request over the route's plan: one
// attempt per target in plan order, then around again with backoff
// before retrying a target that already failed, until an attempt
// succeeds, fails in a way no other attempt can cure, the route's attempt
// limit is reached, or ctx (or the route's deadline) ends.
//
// Unary attempts run under the target's timeout; stream attempts run
// until the first chunk under the target's timeout and the route's
// first-chunk timeout, whichever is shorter.
func (e *Engine) run(ctx context.Context, rt *registry.Route, f routing.Facts, stream bool, do attemptFunc) (outcome, error) {
	var out outcome
	var deadline time.Time
	if d := time.Duration(rt.Timeout); d > 0 {
		deadline = e.now().Add(d)
		if !stream {
			var cancel context.CancelFunc
			ctx, cancel = context.WithDeadline(ctx, deadline)
			defer cancel()
		}
	}
	plan := e.router.Plan(rt.Route, f)
	dead := make([]bool, len(plan))
	tries := make([]int, len(rt.Targets))
	base, ceiling := rt.BackoffBounds()
	limit := rt.MaxAttempts()
	var lastErr error
	minWindow, pos := 0, 0
	for out.attempts < limit {
		ix := -1
		for j := range plan {
			k := (pos + j) % len(plan)
			if !dead[k] && (minWindow == 0 || plan[k].Target.ContextWindow > minWindow) {
				ix = k
				break
			}
		}
		if ix < 0 {
			break
		}
		pos = ix + 1
		c := &plan[ix]
		sv := &rt.Serving[c.Index]
		if sv.Provider == nil {
			dead[ix] = true
			lastErr = fmt.Errorf("%w: provider %q is not usable (see the gateway log)", ErrUnavailable, sv.ProviderID)
			continue
		}
		if !deadline.IsZero() && !e.now().Before(deadline) {
			break // the route's time is up: no attempt could run
		}
		if n := tries[c.Index]; n > 0 {
			wait := routing.Backoff(n, base, ceiling, lastErr, rand.Uint64())
			if err := sleep(ctx, wait, deadline, e.now()); err != nil {
				break
			}
		}
		if !e.router.Start(c) {
			dead[ix] = true // half-open with its probe out
			continue
		}
		out.attempts++
		tries[c.Index]++
		reason := "first"
		switch {
		case out.serving == sv:
			reason = "retry"
		case out.serving != nil:
			reason = "fallback"
		}
		out.serving, out.target = sv, c.Target
		start := e.now()
		sctx, span := e.startAttempt(ctx, out.attempts, c, sv.UpstreamModel, reason)
		cancel, err := e.attempt(sctx, c.Target, rt.Route, deadline, stream, func(actx context.Context) (func(), error) {
			return do(actx, sv, c.Target)
		})
		e.router.Done(c, e.now().Sub(start), err)
		class := routing.Classify(err)
		endAttempt(span, class, err)
		if err != nil && e.attemptErrs != nil && ctx.Err() == nil {
			e.attemptErrs(sv.ProviderID, attemptErrorKind(err))
		}
		switch class {
		case routing.ClassOK:
			out.cancel = cancel
			return out, nil
		case routing.ClassRetryable:
			lastErr = err
			e.log.DebugContext(ctx, "gateway: attempt failed, trying again", "route", rt.Name, "target", c.Key(),
				"attempt", out.attempts, "err", err)
		case routing.ClassContextLength:
			lastErr = err
			dead[ix] = true
			w := c.Target.ContextWindow
			if w == 0 {
				w = f.PromptTokens
			}
			minWindow = max(minWindow, w)
		default:
			return out, err
		}
	}
	if lastErr == nil {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		lastErr = fmt.Errorf("%w: no target of %q can take the request now", ErrUnavailable, rt.Name)
	}
	return out, lastErr
}

// attempt runs one attempt under its timeouts. A timeout of the attempt
// (not of the caller) is reported as a retryable *providers.Error.
func (e *Engine) attempt(ctx context.Context, t *routing.Target, rt *routing.Route, deadline time.Time, stream bool,
	do func(context.Context) (func(), error)) (context.CancelFunc, error) {
	limit := time.Duration(t.Timeout)
	if stream && rt.FirstChunkTimeout > 0 && (limit == 0 || time.Duration(rt.FirstChunkTimeout) < limit) {
		limit = time.Duration(rt.FirstChunkTimeout)
	}
	if limit == 0 {
		limit = e.timeouts.Unary
		if stream {
			limit = e.timeouts.FirstChunk
		}
	}
	if stream && !deadline.IsZero() {
		left := deadline.Sub(e.now())
		if left <= 0 {
			return nil, context.DeadlineExceeded
		}
		if limit == 0 || left < limit {
			limit = left
		}
	}
	actx, cancel := context.WithCancel(ctx)
	if stream {
		chunk := time.Duration(rt.ChunkTimeout)
		if chunk == 0 {
			chunk = e.timeouts.Chunk
		}
		actx = providers.WithChunkTimeout(actx, chunk)
	}
	var timedOut atomic.Bool
	var timer *time.Timer
	if limit > 0 {
		timer = time.AfterFunc(limit, func() {
			timedOut.Store(true)
			cancel()
		})
	}
	release, err := do(actx)
	if timer != nil && !timer.Stop() && err == nil {
		// The timer fired as the attempt succeeded: its context is gone.
		if release != nil {
			release()
		}
		err = context.Canceled
	}
	if err != nil && timedOut.Load() && ctx.Err() == nil {
		// The upstream saw its context cancelled by the timer: that is the
		// attempt's deadline, not the caller going away.
		err = &providers.Error{Provider: t.Provider, Kind: providers.KindTimeout,
			Message: fmt.Sprintf("no answer within %v", limit), Err: context.DeadlineExceeded}
	}
	if err != nil || !stream {
		cancel()
		return nil, err
	}
	return cancel, nil
}

// Timeouts are the engine's default bounds on upstream attempts, used
// where a route sets none. Zero values set no bound.
type Timeouts struct {
	// Unary bounds a unary attempt: the answer's headers and body
	// (routing.Target.Timeout overrides it).
	Unary time.Duration
	// FirstChunk bounds the wait for a stream's first chunk per attempt
	// (routing.Route.FirstChunkTimeout and routing.Target.Timeout
	// override it).
	FirstChunk time.Duration
	// Chunk bounds the gap between two chunks of a stream
	// (routing.Route.ChunkTimeout overrides it).
	Chunk time.Duration
}

// WithTimeouts sets the default upstream timeouts (none by default).
func WithTimeouts(t Timeouts) Option { return func(e *Engine) { e.timeouts = t } }

// sleep waits d unless ctx ends first or the wait would pass deadline (or
// ctx's deadline).
func sleep(ctx context.Context, d time.Duration, deadline time.Time, now time.Time) error {
	if d <= 0 {
		return ctx.Err()
	}
	if dl, ok := ctx.Deadline(); ok && (deadline.IsZero() || dl.Before(deadline)) {
		deadline = dl
	}
	if !deadline.IsZero() && now.Add(d).After(deadline) {
		return context.DeadlineExceeded
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// facts gathers what routing needs to know about a chat request.
func facts(call *Call, rec *record, req *providers.ChatRequest) routing.Facts {
	f := routing.Facts{
		PromptTokens: int(rec.prompt(req)), NeedsTools: len(req.Tools) > 0,
		EndUser: call.EndUser, KeyID: rec.KeyID, TeamID: rec.TeamID, ServiceID: rec.ServiceID,
		Tags: rec.Tags, RequestID: call.RequestID, Sticky: call.Sticky,
	}
	for i := range req.Messages {
		for _, p := range req.Messages[i].Content {
			if p.Type == providers.PartImage {
				f.NeedsImages = true
			}
		}
	}
	return f
}

// served fills the record with what served (or last failed) the request.
func (r *record) served(rt *registry.Route, out outcome) {
	r.Attempts = out.attempts
	sv := out.serving
	if sv == nil && len(rt.Serving) > 0 {
		sv = &rt.Serving[0]
	}
	if sv != nil {
		r.Provider, r.Model = sv.ProviderID, sv.UpstreamModel
	}
}
