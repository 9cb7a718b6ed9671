package gateway

import (
	"context"
	"errors"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/semcache"
	"github.com/tollgate-dev/tollgate/service/routing"
	"github.com/tollgate-dev/tollgate/service/store"
)

// Tracing.
//
// The engine opens a child span of the request's span (the server's, when
// tracing is on) for each step that takes time or decides something:
//
//	tollgate.admit              authentication, validation, budgets and rate limits, model resolution
//	tollgate.guardrails.input   the input guardrails (only when the engine has guardrails)
//	tollgate.cache.lookup       the response cache (only when the engine has a cache)
//	tollgate.attempt            one upstream attempt: provider, model, number, retry or fallback,
//	                            its outcome; the adapter's HTTP call is its child
//	tollgate.guardrails.output  the output guardrails of a unary answer
//
// and finish sets the OpenTelemetry GenAI attributes, the team, service
// and cost on the request's span (annotate). Prompts and completions are
// never put on spans. With no tracer (WithTracer) every span is a no-op.

// WithTracer sets the tracer of the pipeline's spans (none by default). A
// no-op tracer counts as none.
func WithTracer(t trace.Tracer) Option {
	return func(e *Engine) {
		if _, ok := t.(noop.Tracer); ok {
			t = nil
		}
		e.tracer = t
	}
}

// noSpan is the span of a step when the engine has no tracer.
var noSpan trace.Span = noop.Span{}

// startSpan opens the span of a pipeline step as a child of ctx's span.
// Without a tracer it returns ctx as it is and a no-op span: a no-op
// tracer would give each step a copy of ctx holding the same span, an
// allocation and a longer chain for every context lookup after it.
func (e *Engine) startSpan(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if e.tracer == nil {
		return ctx, noSpan
	}
	return e.tracer.Start(ctx, name, opts...)
}

// attemptSpanOpts are the start options of the attempts' spans (a shared
// slice: a variadic list would be allocated at every call).
var attemptSpanOpts = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindInternal)}

// Attribute keys of the spans (OpenTelemetry GenAI semantic conventions,
// and tollgate.* for the gateway's own).
const (
	attrOperation     = attribute.Key("gen_ai.operation.name")
	attrProvider      = attribute.Key("gen_ai.provider.name")
	attrRequestModel  = attribute.Key("gen_ai.request.model")
	attrResponseModel = attribute.Key("gen_ai.response.model")
	attrInputTokens   = attribute.Key("gen_ai.usage.input_tokens")
	attrOutputTokens  = attribute.Key("gen_ai.usage.output_tokens")
	attrFinish        = attribute.Key("gen_ai.response.finish_reasons")
	attrErrorType     = attribute.Key("error.type")
	attrTeam          = attribute.Key("tollgate.team")
	attrService       = attribute.Key("tollgate.service")
	attrCostUSD       = attribute.Key("tollgate.cost_usd")
	attrRequestID     = attribute.Key("tollgate.request_id")
	attrCacheStatus   = attribute.Key("tollgate.cache.status")
	attrAttempt       = attribute.Key("tollgate.attempt")
	attrAttemptReason = attribute.Key("tollgate.attempt.reason")
	attrAttemptResult = attribute.Key("tollgate.attempt.outcome")
	attrHTTPStatus    = attribute.Key("http.response.status_code")
)

// OperationName maps a record's operation to the GenAI convention's
// gen_ai.operation.name.
func OperationName(op string) string {
	switch op {
	case "embed":
		return "embeddings"
	}
	return op
}

// endSpan ends span, marking it failed when err is not nil, and returns err.
func endSpan(span trace.Span, err error) error {
	if err != nil && span.IsRecording() {
		_, code := StatusOf(err)
		span.SetStatus(codes.Error, code)
		span.SetAttributes(attrErrorType.String(code))
	}
	span.End()
	return err
}

// annotate sets the request's outcome on its span.
func annotate(span trace.Span, r *store.Record) {
	span.SetAttributes(
		attrOperation.String(OperationName(r.Operation)),
		attrProvider.String(r.Provider),
		attrRequestModel.String(r.RequestedModel),
		attrResponseModel.String(r.Model),
		attrInputTokens.Int64(r.InputTokens),
		attrOutputTokens.Int64(r.OutputTokens),
		attrTeam.String(r.TeamID),
		attrService.String(r.ServiceID),
		attrCostUSD.Float64(float64(r.CostNanos)/1e9),
		attrRequestID.String(r.RequestID),
	)
	if r.CacheStatus != "" {
		span.SetAttributes(attrCacheStatus.String(r.CacheStatus))
	}
	if r.ErrorCode != "" {
		span.SetAttributes(attrErrorType.String(r.ErrorCode))
		span.SetStatus(codes.Error, r.ErrorCode)
	}
}

// finishReasons sets the answer's finish reasons on the request's span.
func finishReasons(span trace.Span, reasons ...string) {
	if span == nil || !span.IsRecording() || len(reasons) == 0 || reasons[0] == "" {
		return
	}
	span.SetAttributes(attrFinish.StringSlice(reasons))
}

// cacheStatusOf returns a lookup's status, "" when none applied.
func cacheStatusOf(res *semcache.Result) semcache.Status {
	if res == nil {
		return ""
	}
	return res.Status
}

// startAttempt opens the span of one upstream attempt. reason says why
// it is made: "first", "retry" (the same target again) or "fallback".
func (e *Engine) startAttempt(ctx context.Context, n int, c *routing.Candidate, upstreamModel, reason string) (context.Context, trace.Span) {
	ctx, span := e.startSpan(ctx, "tollgate.attempt", attemptSpanOpts...)
	if span.IsRecording() {
		span.SetAttributes(attrAttempt.Int(n), attrAttemptReason.String(reason),
			attrProvider.String(c.Target.Provider), attrResponseModel.String(upstreamModel))
	}
	return ctx, span
}

// endAttempt ends an attempt's span with its outcome.
func endAttempt(span trace.Span, class routing.Class, err error) {
	if span.IsRecording() {
		outcome := "ok"
		switch class {
		case routing.ClassRetryable:
			outcome = "retryable"
		case routing.ClassContextLength:
			outcome = "context_length"
		case routing.ClassOK:
		default:
			outcome = "failed"
		}
		span.SetAttributes(attrAttemptResult.String(outcome))
		var pe *providers.Error
		if errors.As(err, &pe) && pe.Status != 0 {
			span.SetAttributes(attrHTTPStatus.Int(pe.Status))
		}
		if err != nil {
			_, code := StatusOf(err)
			span.SetAttributes(attrErrorType.String(code))
			span.SetStatus(codes.Error, code+": "+strconv.Quote(err.Error()))
		}
	}
	span.End()
}

// checkOutput runs the output guardrails of a unary answer in their span.
func (e *Engine) checkOutput(ctx context.Context, g *guardRun, rec *record, resp *providers.ChatResponse) (*providers.ChatResponse, error) {
	if !g.checksOutput() {
		return resp, nil
	}
	ctx, span := e.startSpan(ctx, "tollgate.guardrails.output")
	out, err := g.checkOutput(ctx, rec, resp)
	return out, endSpan(span, err)
}

// WithAttemptErrors calls f with the provider and the kind of every
// failed upstream attempt (retried and fallen-back ones included), e.g.
// to count them by provider; not called when the caller went away.
func WithAttemptErrors(f func(provider, kind string)) Option {
	return func(e *Engine) { e.attemptErrs = f }
}

// attemptErrorKind names why an attempt failed: the upstream error's kind
// (rate_limited, server, timeout, ...), else the request's error code.
func attemptErrorKind(err error) string {
	var pe *providers.Error
	if errors.As(err, &pe) {
		return pe.Kind.String()
	}
	_, code := StatusOf(err)
	return code
}
