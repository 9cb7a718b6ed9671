package upstream

import (
	"context"
	"net/http"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/tollgate-dev/tollgate/providers"
)

// traceContext is the propagation sent to upstreams: W3C traceparent and
// tracestate. Baggage is not forwarded: it is the caller's, meant for its
// own services, and may name things a third-party provider should not see.
var traceContext = propagation.TraceContext{}

// forwardContext sets the headers that tie an upstream request to the
// gateway's: X-Request-Id (the gateway's request id) and, when the
// request carries a trace context (the caller's traceparent, or the
// gateway's own span when tracing is on), traceparent and tracestate.
// A header the request already has (a passed-through client header) is
// kept.
func forwardContext(ctx context.Context, h http.Header) {
	if id := providers.RequestID(ctx); id != "" && h.Get("X-Request-Id") == "" {
		h["X-Request-Id"] = []string{id}
	}
	if trace.SpanContextFromContext(ctx).IsValid() {
		traceContext.Inject(ctx, propagation.HeaderCarrier(h))
	}
}

// tracingTransport sends requests whose context holds a recording span
// through otelhttp, which opens the client span of the upstream call
// (method, URL without credentials, status) and propagates it; every
// other request goes straight to the base transport, so the cost of
// tracing is paid only by traced requests.
type tracingTransport struct {
	base   http.RoundTripper
	traced http.RoundTripper
}

func newTracingTransport(base http.RoundTripper) *tracingTransport {
	return &tracingTransport{base: base, traced: otelhttp.NewTransport(base,
		otelhttp.WithPropagators(traceContext),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return "upstream " + r.Method }))}
}

// RoundTrip implements http.RoundTripper.
func (t *tracingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if trace.SpanFromContext(r.Context()).IsRecording() {
		return t.traced.RoundTrip(r)
	}
	return t.base.RoundTrip(r)
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the base transport.
func (t *tracingTransport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
