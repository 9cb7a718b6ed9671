package server

import (
	"context"
	"net/http"
	"strings"

	"connectrpc.com/connect"
	"connectrpc.com/otelconnect"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/tollgate-dev/tollgate/internal/version"
	"github.com/tollgate-dev/tollgate/service/gateway"
	"github.com/tollgate-dev/tollgate/service/telemetry"
)

// observability holds the request metrics and the tracer provider.
type observability struct {
	metrics *telemetry.Metrics
	tracing *telemetry.Tracing
}

func newObservability(ctx context.Context, cfg Config) (*observability, error) {
	v := version.Get()
	tr, err := telemetry.TracingFromEnv(ctx, v.Version, nil)
	if err != nil {
		return nil, err
	}
	return &observability{
		metrics: telemetry.NewMetrics(telemetry.Options{KeyLabel: cfg.MetricsKeyLabel,
			Version: v.Version, Commit: v.Commit, GoVersion: v.GoVersion}),
		tracing: tr,
	}, nil
}

// engineOptions are the engine's tracer and upstream-error counter.
func (o *observability) engineOptions() []gateway.Option {
	opts := []gateway.Option{gateway.WithTracer(o.tracing.Provider.Tracer("tollgate/gateway"))}
	if o.metrics != nil {
		opts = append(opts, gateway.WithAttemptErrors(o.metrics.UpstreamError))
	}
	return opts
}

// recorder is the engine's record sink: next, observed by the request
// metrics first.
func (o *observability) recorder(next gateway.Recorder) gateway.Recorder {
	if o.metrics == nil {
		return next
	}
	return o.metrics.Tee(next)
}

// wrap is the outermost handler: with tracing on, it opens the server
// span of every HTTP API request under the caller's traceparent
// (tracestate and baggage honoured; RPCs get theirs from otelconnect, ops
// endpoints none); with tracing off, a caller's traceparent is still read
// so that it reaches the upstream. The span is opened directly rather
// than through otelhttp's handler: a request the sampler drops then costs
// one non-recording span and nothing else, and the attributes are set
// only on recorded spans (the status by the middleware, traceStatus).
func (o *observability) wrap(h http.Handler) http.Handler {
	if !o.tracing.Enabled {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if len(r.Header["Traceparent"]) > 0 {
				r = r.WithContext(telemetry.Propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header)))
			}
			h.ServeHTTP(w, r)
		})
	}
	tracer := o.tracing.Provider.Tracer("tollgate/server")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if classify(r.URL.Path) == classOps || strings.HasPrefix(r.URL.Path, "/tollgate.v1.") {
			h.ServeHTTP(w, r)
			return
		}
		ctx := r.Context()
		if len(r.Header["Traceparent"]) > 0 || len(r.Header["Baggage"]) > 0 {
			ctx = telemetry.Propagator.Extract(ctx, propagation.HeaderCarrier(r.Header))
		}
		ctx, span := tracer.Start(ctx, r.Method+" "+r.URL.Path, trace.WithSpanKind(trace.SpanKindServer))
		if span.IsRecording() {
			span.SetAttributes(attribute.String("http.request.method", r.Method), attribute.String("url.path", r.URL.Path),
				attribute.String("network.protocol.version", strings.TrimPrefix(r.Proto, "HTTP/")),
				attribute.String("user_agent.original", r.UserAgent()))
		}
		defer span.End()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

// traceStatus sets the answer's status on the request's server span.
func traceStatus(ctx context.Context, status int) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	span.SetAttributes(attribute.Int("http.response.status_code", status))
	if status >= 500 {
		span.SetStatus(codes.Error, http.StatusText(status))
	}
}

// interceptors are the Connect interceptors of every RPC service: the
// server span (otelconnect, with tracing on) and the code of a failed
// call for its log line.
func (o *observability) interceptors() []connect.Interceptor {
	var out []connect.Interceptor
	if o.tracing.Enabled {
		ic, err := otelconnect.NewInterceptor(otelconnect.WithTracerProvider(o.tracing.Provider),
			otelconnect.WithPropagator(telemetry.Propagator), otelconnect.WithTrustRemote(), otelconnect.WithoutMetrics())
		if err == nil {
			out = append(out, ic)
		}
	}
	return append(out, noteCode{})
}

// noteCode records a failed RPC's Connect code in the request's Note.
type noteCode struct{}

func (noteCode) note(ctx context.Context, err error) {
	if err == nil {
		return
	}
	if n := gateway.NoteFrom(ctx); n != nil {
		n.RPCCode = connect.CodeOf(err).String()
	}
}

// WrapUnary implements connect.Interceptor.
func (c noteCode) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		res, err := next(ctx, req)
		c.note(ctx, err)
		return res, err
	}
}

// WrapStreamingClient implements connect.Interceptor.
func (noteCode) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

// WrapStreamingHandler implements connect.Interceptor.
func (c noteCode) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		err := next(ctx, conn)
		c.note(ctx, err)
		return err
	}
}

// traceID returns the trace id of the request's span context, "" without one.
func traceID(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.HasTraceID() {
		return ""
	}
	return sc.TraceID().String()
}
