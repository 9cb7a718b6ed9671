package telemetry

import (
	"context"
	"fmt"
	"os"
	"strings"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Propagator is what the gateway reads from callers: W3C traceparent,
// tracestate and baggage.
var Propagator propagation.TextMapPropagator = propagation.NewCompositeTextMapPropagator(
	propagation.TraceContext{}, propagation.Baggage{})

// Tracing is the process's tracer provider: an OpenTelemetry SDK one
// exporting over OTLP, or a no-op one when tracing is off.
type Tracing struct {
	// Provider makes the tracers of the engine, the HTTP and Connect
	// instrumentation and the upstream transport.
	Provider trace.TracerProvider
	// Enabled is true when spans are exported.
	Enabled bool
	// Exporter says where spans go, for the start-up log line
	// ("otlp/grpc", "otlp/http/protobuf"), "" when off.
	Exporter string
	sdk      *sdktrace.TracerProvider
}

// Shutdown flushes the spans not exported yet and stops the exporter.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil || t.sdk == nil {
		return nil
	}
	return t.sdk.Shutdown(ctx)
}

// TracingFromEnv configures tracing from the standard OpenTelemetry
// environment variables. It is off unless OTEL_TRACES_EXPORTER is "otlp"
// or an OTLP endpoint is set (OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), and always off with
// OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none. The protocol comes
// from OTEL_EXPORTER_OTLP_TRACES_PROTOCOL or OTEL_EXPORTER_OTLP_PROTOCOL:
// "grpc" or "http/protobuf" (the default); endpoint, headers, timeout,
// compression and TLS from the exporters' own OTEL_EXPORTER_OTLP_*
// variables; sampling from OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG
// (default parentbased_always_on: a caller's sampling decision is
// followed); the resource from OTEL_SERVICE_NAME and
// OTEL_RESOURCE_ATTRIBUTES (service.name defaults to "tollgate").
// getenv is os.Getenv outside tests.
func TracingFromEnv(ctx context.Context, version string, getenv func(string) string) (*Tracing, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	off := &Tracing{Provider: noop.NewTracerProvider()}
	exp := strings.ToLower(strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")))
	endpoint := getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") + getenv("OTEL_EXPORTER_OTLP_ENDPOINT")
	switch {
	case strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true"), exp == "none":
		return off, nil
	case exp == "otlp", exp == "" && endpoint != "":
	case exp == "":
		return off, nil
	default:
		return nil, fmt.Errorf("OTEL_TRACES_EXPORTER=%q: only \"otlp\" and \"none\" are supported", exp)
	}
	proto := getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if proto == "" {
		proto = getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	var exporter sdktrace.SpanExporter
	var err error
	switch proto {
	case "grpc":
		exporter, err = otlptracegrpc.New(ctx)
	case "", "http/protobuf":
		proto = "http/protobuf"
		exporter, err = otlptracehttp.New(ctx)
	default:
		return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL=%q: use \"grpc\" or \"http/protobuf\"", proto)
	}
	if err != nil {
		return nil, fmt.Errorf("tracing: OTLP exporter: %w", err)
	}
	res, err := resource.Merge(
		resource.NewSchemaless(semconv.ServiceName("tollgate"), semconv.ServiceVersion(version)),
		resource.Environment())
	if err != nil {
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	// No sampler option: the SDK reads OTEL_TRACES_SAMPLER itself.
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res))
	return &Tracing{Provider: tp, Enabled: true, Exporter: "otlp/" + proto, sdk: tp}, nil
}
