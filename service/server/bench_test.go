package server_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/providers/openai"
	"github.com/tollgate-dev/tollgate/service/server"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// cpuTime returns the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measure runs fn b.N times and reports process CPU per op, which lets the
// direct and the via-gateway benchmarks be compared: the difference is the
// gateway's CPU per request (client and fake upstream cost the same in both).
func measure(b *testing.B, fn func()) {
	b.ReportAllocs()
	b.ResetTimer()
	c0 := cpuTime()
	for b.Loop() {
		fn()
	}
	b.ReportMetric(float64((cpuTime()-c0).Microseconds())/float64(b.N), "cpu-µs/op")
}

func benchEnv(b *testing.B) (*env, string, *providers.ChatRequest) {
	up, url := fakeupstream.StartOpenAI(b, fakeupstream.WithChunks(8))
	gw := servertest.Start(b, servertest.Options{Config: func(c *server.Config) {
		c.LogRequests, c.LogLevel = false, "warn"
	}})
	e := &env{gw: gw, upstream: up, key: gw.Setup(b, url)}
	return e, url, &providers.ChatRequest{Model: "gpt-4o-mini", Messages: []providers.Message{{Role: providers.RoleUser, Content: []providers.Part{providers.TextPart("benchmark prompt of a typical size, asking the model a short question")}}}}
}

// BenchmarkChatDirect calls the fake upstream directly with the OpenAI
// adapter: the baseline without the gateway.
func BenchmarkChatDirect(b *testing.B) {
	_, url, req := benchEnv(b)
	p, err := openai.New(providers.Config{ID: "direct", Type: "openai", BaseURL: url, APIKey: servertest.UpstreamKey})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("unary", func(b *testing.B) {
		measure(b, func() {
			if _, err := p.Chat(context.Background(), req); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("stream", func(b *testing.B) {
		measure(b, func() {
			s, err := p.ChatStream(context.Background(), req)
			if err != nil {
				b.Fatal(err)
			}
			for {
				if _, err := s.Recv(); err != nil {
					break
				}
			}
			s.Close()
		})
	})
}

// BenchmarkChatViaGateway sends the same request through the real server
// (Connect protocol, auth, engine, adapter, accounting) to the fake upstream.
func BenchmarkChatViaGateway(b *testing.B) {
	e, _, _ := benchEnv(b)
	c := e.inference(e.key)
	req := connect.NewRequest(chatReq("benchmark prompt of a typical size, asking the model a short question"))
	sreq := connect.NewRequest(&tollgatev1.ChatStreamRequest{Request: req.Msg})
	b.Run("unary", func(b *testing.B) {
		measure(b, func() {
			if _, err := c.Chat(context.Background(), req); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("stream", func(b *testing.B) {
		measure(b, func() {
			s, err := c.ChatStream(context.Background(), sreq)
			if err != nil {
				b.Fatal(err)
			}
			for s.Receive() {
			}
			if err := s.Err(); err != nil {
				b.Fatal(err)
			}
		})
	})
}
