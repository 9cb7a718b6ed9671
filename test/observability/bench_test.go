package observability_test

import (
	"bytes"
	"io"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/service/server"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkObservabilityCost measures what the request metrics and
// tracing cost per request through the real server (OpenAI surface,
// unary and streamed chat, fake upstream in process): off (no request
// metrics, no tracing), metrics (the default), and metrics with tracing
// exporting over OTLP/gRPC to an in-process collector with 10 % of the
// traces sampled (callers send no traceparent) and with every trace
// sampled. cpu-µs/op is the process's CPU per request (client, gateway
// and fake upstream; only the gateway's part differs between variants).
func BenchmarkObservabilityCost(b *testing.B) {
	for _, v := range []struct {
		name    string
		metrics bool
		sampler string // "" = tracing off
	}{
		{"off", false, ""},
		{"metrics", true, ""},
		{"metrics+tracing-10pct", true, "0.1"},
		{"metrics+tracing-all", true, "1"},
	} {
		b.Run(v.name, func(b *testing.B) {
			if v.sampler != "" {
				_, addr := startCollector(b)
				b.Setenv("OTEL_TRACES_EXPORTER", "otlp")
				b.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
				b.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+addr)
				b.Setenv("OTEL_EXPORTER_OTLP_INSECURE", "true")
				b.Setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
				b.Setenv("OTEL_TRACES_SAMPLER_ARG", v.sampler)
			}
			_, url := fakeupstream.StartOpenAI(b, fakeupstream.WithChunks(8))
			opts := servertest.Options{Config: func(c *server.Config) { c.LogRequests, c.LogLevel = false, "warn" }}
			if !v.metrics {
				opts.ServerOptions = []server.Option{server.WithoutRequestMetrics()}
			}
			g := servertest.Start(b, opts)
			key := g.Setup(b, url)
			for _, stream := range []bool{false, true} {
				name := "unary"
				body := []byte(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"benchmark prompt of a typical size, asking a short question"}]}`)
				if stream {
					name = "stream"
					body = []byte(`{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"benchmark prompt of a typical size, asking a short question"}]}`)
				}
				b.Run(name, func(b *testing.B) {
					b.ReportAllocs()
					c0 := cpuTime()
					for b.Loop() {
						req, _ := http.NewRequest(http.MethodPost, g.URL+"/v1/chat/completions", bytes.NewReader(body))
						req.Header.Set("Authorization", "Bearer "+key)
						resp, err := http.DefaultClient.Do(req)
						if err != nil {
							b.Fatal(err)
						}
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode != http.StatusOK {
							b.Fatalf("status %d", resp.StatusCode)
						}
					}
					b.ReportMetric(float64((cpuTime()-c0).Microseconds())/float64(b.N), "cpu-µs/op")
				})
			}
		})
	}
}
