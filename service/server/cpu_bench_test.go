package server_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/gen/tollgate/v1/tollgatev1connect"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// procCPU returns the user+system CPU time of a process from /proc.
func procCPU(b *testing.B, pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the ")" that ends the command name; utime and stime are fields 14 and 15.
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * (time.Second / 100) // USER_HZ is 100 on Linux
}

// BenchmarkGatewayProcessCPU runs the real tollgate binary as its own
// process and reports the CPU it spends per proxied request (all pipeline
// steps, logging off, accounting on), read from /proc: the figure that
// compares with other gateways' per-request overhead.
func BenchmarkGatewayProcessCPU(b *testing.B) {
	_, upURL := fakeupstream.StartOpenAI(b, fakeupstream.WithChunks(8))
	gw := startBinary(b)
	key := gw.Setup(b, upURL)
	c := tollgatev1connect.NewInferenceServiceClient(http.DefaultClient, gw.URL, connect.WithInterceptors(servertest.BearerInterceptor(key)))
	req := connect.NewRequest(chatReq("benchmark prompt of a typical size, asking the model a short question"))
	sreq := connect.NewRequest(&tollgatev1.ChatStreamRequest{Request: req.Msg})
	run := func(b *testing.B, fn func() error) {
		for range 200 { // warm up connections and caches
			if err := fn(); err != nil {
				b.Fatal(err)
			}
		}
		b.ResetTimer()
		c0 := procCPU(b, gw.pid)
		for b.Loop() {
			if err := fn(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64((procCPU(b, gw.pid)-c0).Microseconds())/float64(b.N), "gateway-cpu-µs/op")
	}
	b.Run("unary", func(b *testing.B) {
		run(b, func() error { _, err := c.Chat(context.Background(), req); return err })
	})
	b.Run("stream", func(b *testing.B) {
		run(b, func() error {
			s, err := c.ChatStream(context.Background(), sreq)
			if err != nil {
				return err
			}
			for s.Receive() {
			}
			return s.Err()
		})
	})
}
