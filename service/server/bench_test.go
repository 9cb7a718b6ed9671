package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/internal/testutil"
	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/providers/anthropic/anthropictest"
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
// (auth, engine, adapter, accounting) to the fake upstream: over the Connect
// protocol ("unary", "stream"), and as an official SDK would over the
// OpenAI surface to the OpenAI fake ("openai-*") and over the Anthropic
// surface to the Anthropic fake ("anthropic-*"). The last two are
// same-dialect requests.
func BenchmarkChatViaGateway(b *testing.B) {
	e, _, _ := benchEnv(b)
	c := e.inference(e.key)
	// Each sub-benchmark starts once the gateway has written the records
	// of the ones before: their batches are its background work, not this
	// one's (run together, they added ~30 allocs/op to the later ones).
	run := func(name string, f func(b *testing.B)) {
		b.Run(name, func(b *testing.B) {
			settle(b, e.gw)
			f(b)
		})
	}
	req := connect.NewRequest(chatReq("benchmark prompt of a typical size, asking the model a short question"))
	sreq := connect.NewRequest(&tollgatev1.ChatStreamRequest{Request: req.Msg})
	run("unary", func(b *testing.B) {
		measure(b, func() {
			if _, err := c.Chat(context.Background(), req); err != nil {
				b.Fatal(err)
			}
		})
	})
	run("stream", func(b *testing.B) {
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
	const openaiBody = `{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are a helpful assistant."},` +
		`{"role":"user","content":"benchmark prompt of a typical size, asking the model a short question"}],"temperature":0.2,"max_completion_tokens":256`
	oa := map[string]string{"Authorization": "Bearer " + e.key}
	run("openai-unary", func(b *testing.B) { benchHTTP(b, e.gw.URL+"/v1/chat/completions", oa, openaiBody+`}`) })
	run("openai-stream", func(b *testing.B) {
		benchHTTP(b, e.gw.URL+"/v1/chat/completions", oa, openaiBody+`,"stream":true,"stream_options":{"include_usage":true}}`)
	})
	// A conversation of 150 earlier turns (~16 KB, as TestOverloadAt2xCapacity
	// sends): the costs that grow with the prompt.
	var turns strings.Builder
	for i := range 150 {
		fmt.Fprintf(&turns, `{"role":%q,"content":"Turn %d: a sentence of earlier conversation, about as long as people write them in chat."},`,
			[]string{"user", "assistant"}[i%2], i)
	}
	run("openai-unary-16k", func(b *testing.B) {
		benchHTTP(b, e.gw.URL+"/v1/chat/completions", oa, `{"model":"gpt-4o-mini","messages":[`+turns.String()+
			`{"role":"user","content":"a typical short question for the model"}],"max_completion_tokens":256}`)
	})

	_, aurl := anthropictest.Start(b, anthropictest.WithChunks(8))
	addModel(b, e.gw, "fake-anthropic", tollgatev1.ProviderType_PROVIDER_TYPE_ANTHROPIC, aurl, "claude-haiku-4-5")
	const anthropicBody = `{"model":"claude-haiku-4-5","max_tokens":256,"system":"You are a helpful assistant.",` +
		`"messages":[{"role":"user","content":"benchmark prompt of a typical size, asking the model a short question"}],"temperature":0.2`
	an := map[string]string{"X-Api-Key": e.key, "Anthropic-Version": "2023-06-01"}
	run("anthropic-unary", func(b *testing.B) { benchHTTP(b, e.gw.URL+"/v1/messages", an, anthropicBody+`}`) })
	run("anthropic-stream", func(b *testing.B) { benchHTTP(b, e.gw.URL+"/v1/messages", an, anthropicBody+`,"stream":true}`) })
}

// settle waits until the gateway's accounting writer has written every
// record handed to it, then collects garbage.
func settle(b *testing.B, gw *servertest.Gateway) {
	b.Helper()
	testutil.EventuallyWithin(b, 30*time.Second, func() error {
		recorded := gw.Metric(b, "tollgate_accounting_records_recorded_total")
		written := gw.Metric(b, "tollgate_accounting_records_written_total")
		queued := gw.Metric(b, "tollgate_accounting_records_queued")
		if recorded < 0 || written < recorded || queued != 0 {
			return fmt.Errorf("records not all written: %v recorded, %v written, %v queued", recorded, written, queued)
		}
		return nil
	})
	runtime.GC()
}

// addModel registers a provider of typ at url and a model of the same name
// as its upstream model.
func addModel(b *testing.B, gw *servertest.Gateway, id string, typ tollgatev1.ProviderType, url, model string) {
	ctx := context.Background()
	if _, err := gw.Admin.CreateProvider(ctx, connect.NewRequest(&tollgatev1.CreateProviderRequest{
		Provider: &tollgatev1.Provider{Id: id, Type: typ, BaseUrl: url}, Credential: "cred"})); err != nil {
		b.Fatal(err)
	}
	if _, err := gw.Admin.CreateModel(ctx, connect.NewRequest(&tollgatev1.CreateModelRequest{
		Model: &tollgatev1.Model{Name: model, ProviderId: id}})); err != nil {
		b.Fatal(err)
	}
}

// benchHTTP posts body to url with header, as an SDK would, and reads the
// whole answer (every event of a stream).
func benchHTTP(b *testing.B, url string, header map[string]string, body string) {
	measure(b, func() {
		req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d, err %v", resp.StatusCode, err)
		}
	})
}
