package observability_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"

	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/internal/testutil"
	"github.com/tollgate-dev/tollgate/service/server"
)

// collector is an OTLP trace receiver served over gRPC in the test: the
// OTLP protobufs' TraceService, keeping every span it is sent.
type collector struct {
	collectortrace.UnimplementedTraceServiceServer
	mu    sync.Mutex
	spans []*tracepb.Span
}

// Export implements collectortrace.TraceServiceServer.
func (c *collector) Export(_ context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			c.spans = append(c.spans, ss.GetSpans()...)
		}
	}
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

func (c *collector) snapshot() []*tracepb.Span {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*tracepb.Span(nil), c.spans...)
}

// startCollector serves a collector on a loopback port and returns its address.
func startCollector(t testing.TB) (*collector, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{}
	srv := grpc.NewServer()
	collectortrace.RegisterTraceServiceServer(srv, c)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return c, ln.Addr().String()
}

func attrs(s *tracepb.Span) map[string]*commonpb.AnyValue {
	m := map[string]*commonpb.AnyValue{}
	for _, kv := range s.GetAttributes() {
		m[kv.GetKey()] = kv.GetValue()
	}
	return m
}

// TestTraceOfStreamWithFallback: one streamed request whose first target
// answers 503 and that falls back to a second provider is exported over
// OTLP/gRPC as one trace under the caller's traceparent: the server span
// with the GenAI attributes, its admission, cache and two attempt spans,
// and an upstream HTTP span under each attempt; both upstreams received
// the trace context and the caller's request id.
func TestTraceOfStreamWithFallback(t *testing.T) {
	// Not parallel: the OTLP exporter reads the process environment.
	coll, addr := startCollector(t)
	t.Setenv("OTEL_TRACES_EXPORTER", "otlp")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+addr)
	t.Setenv("OTEL_EXPORTER_OTLP_INSECURE", "true")
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
	t.Setenv("OTEL_TRACES_SAMPLER", "parentbased_always_on")
	f := newMix(t, func(c *server.Config) {})

	const (
		traceID   = "4bf92f3577b34da6a3ce929d0e0e4736"
		parentID  = "00f067aa0ba902b7"
		requestID = "caller-req-42"
	)
	f.up1.Enqueue(fakeupstream.StatusFault(http.StatusServiceUnavailable))
	body, _ := json.Marshal(map[string]any{"model": "resilient", "stream": true, "stream_options": map[string]any{"include_usage": true},
		"messages": []any{map[string]any{"role": "user", "content": "stream me a story"}}})
	req, _ := http.NewRequest(http.MethodPost, f.g.URL+"/v1/chat/completions", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+f.keyB)
	req.Header.Set("Traceparent", "00-"+traceID+"-"+parentID+"-01")
	req.Header.Set("Tracestate", "vendor=opaque")
	req.Header.Set("Baggage", "tenant=blue")
	req.Header.Set("X-Request-Id", requestID)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	events := 0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "data: {") {
			events++
		}
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || events < 2 {
		t.Fatalf("stream: status %d, %d events", resp.StatusCode, events)
	}
	if got := resp.Header.Get("X-Request-Id"); got != requestID {
		t.Errorf("X-Request-Id = %q, want the caller's %q", got, requestID)
	}

	// Both upstreams received the trace context and the request id.
	for name, up := range map[string]*fakeupstream.OpenAI{"p1": f.up1, "p2": f.up2} {
		r, ok := up.LastRequest()
		if !ok {
			t.Fatalf("%s received nothing", name)
		}
		tp := r.Header.Get("Traceparent")
		if !strings.HasPrefix(tp, "00-"+traceID+"-") || strings.Contains(tp, parentID) {
			t.Errorf("%s traceparent = %q, want trace %s under a gateway span", name, tp, traceID)
		}
		if r.Header.Get("X-Request-Id") != requestID {
			t.Errorf("%s X-Request-Id = %q, want %q", name, r.Header.Get("X-Request-Id"), requestID)
		}
		if r.Header.Get("Baggage") != "" {
			t.Errorf("%s received the caller's baggage", name)
		}
	}

	want := []string{"POST /v1/chat/completions", "tollgate.admit", "tollgate.cache.lookup", "tollgate.attempt", "upstream POST"}
	var spans []*tracepb.Span
	testutil.Eventually(t, func() error {
		// The trace of the request; the admin calls of the set-up have
		// traces of their own.
		spans = spans[:0]
		for _, s := range coll.snapshot() {
			if hex.EncodeToString(s.GetTraceId()) == traceID {
				spans = append(spans, s)
			}
		}
		seen := map[string]int{}
		for _, s := range spans {
			seen[s.GetName()]++
		}
		for _, n := range want {
			if seen[n] == 0 {
				return fmt.Errorf("no %q span yet (have %v)", n, seen)
			}
		}
		if seen["tollgate.attempt"] < 2 || seen["upstream POST"] < 2 {
			return fmt.Errorf("attempts: %v", seen)
		}
		return nil
	})
	byID := map[string]*tracepb.Span{}
	var server *tracepb.Span
	for _, s := range spans {
		byID[hex.EncodeToString(s.GetSpanId())] = s
		if s.GetName() == "POST /v1/chat/completions" {
			server = s
		}
	}
	if got := hex.EncodeToString(server.GetParentSpanId()); got != parentID {
		t.Errorf("server span's parent = %s, want the caller's %s", got, parentID)
	}
	if server.GetKind() != tracepb.Span_SPAN_KIND_SERVER {
		t.Errorf("server span kind = %v", server.GetKind())
	}
	parentName := func(s *tracepb.Span) string { return byID[hex.EncodeToString(s.GetParentSpanId())].GetName() }
	a := attrs(server)
	for k, v := range map[string]string{"gen_ai.operation.name": "chat", "gen_ai.request.model": "resilient", "gen_ai.provider.name": "p2",
		"gen_ai.response.model": "gpt-4o", "tollgate.team": "beta", "tollgate.request_id": requestID, "tollgate.cache.status": "miss"} {
		if got := a[k].GetStringValue(); got != v {
			t.Errorf("server span %s = %q, want %q", k, got, v)
		}
	}
	if a["gen_ai.usage.input_tokens"].GetIntValue() <= 0 || a["gen_ai.usage.output_tokens"].GetIntValue() <= 0 || a["tollgate.cost_usd"].GetDoubleValue() <= 0 {
		t.Errorf("server span usage and cost: %v %v %v", a["gen_ai.usage.input_tokens"], a["gen_ai.usage.output_tokens"], a["tollgate.cost_usd"])
	}
	if fr := a["gen_ai.response.finish_reasons"].GetArrayValue().GetValues(); len(fr) != 1 || fr[0].GetStringValue() != "stop" {
		t.Errorf("finish reasons = %v", fr)
	}
	if _, ok := a["gen_ai.prompt"]; ok {
		t.Error("the prompt is on the span")
	}
	attempts := map[string]*tracepb.Span{}
	for _, s := range spans {
		switch s.GetName() {
		case "tollgate.admit", "tollgate.cache.lookup", "tollgate.attempt":
			if parentName(s) != server.GetName() {
				t.Errorf("%s's parent = %q, want the server span", s.GetName(), parentName(s))
			}
			if s.GetName() == "tollgate.attempt" {
				attempts[attrs(s)["gen_ai.provider.name"].GetStringValue()] = s
			}
		case "upstream POST":
			if parentName(s) != "tollgate.attempt" {
				t.Errorf("upstream span's parent = %q, want an attempt", parentName(s))
			}
			if s.GetKind() != tracepb.Span_SPAN_KIND_CLIENT {
				t.Errorf("upstream span kind = %v", s.GetKind())
			}
		}
	}
	for prov, w := range map[string][2]string{"p1": {"first", "retryable"}, "p2": {"fallback", "ok"}} {
		s := attempts[prov]
		if s == nil {
			t.Fatalf("no attempt span for %s", prov)
		}
		at := attrs(s)
		if at["tollgate.attempt.reason"].GetStringValue() != w[0] || at["tollgate.attempt.outcome"].GetStringValue() != w[1] {
			t.Errorf("attempt %s: reason %v outcome %v, want %v", prov, at["tollgate.attempt.reason"], at["tollgate.attempt.outcome"], w)
		}
	}
	if st := attempts["p1"]; attrs(st)["http.response.status_code"].GetIntValue() != 503 {
		t.Errorf("p1 attempt status = %v, want 503", attrs(st)["http.response.status_code"])
	}
	// The upstream span of each attempt carries the span id the upstream saw.
	r2, _ := f.up2.LastRequest()
	tp := strings.Split(r2.Header.Get("Traceparent"), "-")
	if up := byID[tp[2]]; up == nil || up.GetName() != "upstream POST" {
		t.Errorf("p2's traceparent names span %s, not an exported upstream span", tp[2])
	}
}
