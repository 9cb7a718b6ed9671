package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/internal/testutil"
	"github.com/tollgate-dev/tollgate/service/server"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// rawConn sends a request head (and part of a body) over a new connection
// and leaves the rest of the body unsent.
type rawConn struct {
	net.Conn
	r *bufio.Reader
}

func dialRaw(t *testing.T, addr, method, path string, header map[string]string, contentLength int, partial string) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n", method, path, addr, contentLength)
	for k, v := range header {
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	b.WriteString("\r\n")
	b.WriteString(partial)
	if _, err := io.WriteString(c, b.String()); err != nil {
		t.Fatal(err)
	}
	return &rawConn{Conn: c, r: bufio.NewReader(c)}
}

// response reads the answer; it fails the test if none comes within 20s
// (the body is never sent, so a gateway waiting for it would hang).
func (c *rawConn) response(t *testing.T) (*http.Response, string) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// healthz returns the gateway's health report.
func healthz(t *testing.T, url string) map[string]any {
	t.Helper()
	resp, err := http.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h map[string]any
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&h) != nil {
		t.Fatalf("/healthz: %d", resp.StatusCode)
	}
	return h
}

// TestAdmissionSheds fills a gateway's in-flight bound with open streams:
// further requests are refused at once, before their body is read, with a
// retryable 503 in their dialect; health, readiness and admin calls still
// work; once the streams end, requests are admitted again.
func TestAdmissionSheds(t *testing.T) {
	t.Parallel()
	up, url := fakeupstream.StartOpenAI(t)
	gw := servertest.Start(t, servertest.Options{Config: func(c *server.Config) { c.MaxInflight, c.AdmissionAdaptive = 2, false }})
	key := gw.Setup(t, url)

	// Two streams that hang upstream hold both slots.
	holdCtx, release := context.WithCancel(context.Background())
	var held sync.WaitGroup
	for range 2 {
		up.Enqueue(fakeupstream.HangFault())
		held.Go(func() {
			req, _ := http.NewRequestWithContext(holdCtx, http.MethodPost, gw.URL+"/v1/chat/completions", strings.NewReader(oaiStream))
			req.Header.Set("Authorization", "Bearer "+key)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	testutil.Eventually(t, func() error {
		if n := healthz(t, gw.URL)["inflight"].(float64); n != 2 {
			return fmt.Errorf("inflight = %v, want 2", n)
		}
		return nil
	})

	auth := map[string]string{"Authorization": "Bearer " + key}
	// OpenAI: 503 overloaded, retry-after, without the body.
	resp, body := dialRaw(t, gw.Addr, "POST", "/v1/chat/completions", auth, 500, `{"model":`).response(t)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, `"code":"overloaded"`) ||
		resp.Header.Get("Retry-After") == "" || resp.Header.Get("X-Should-Retry") != "true" {
		t.Errorf("openai: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	// Anthropic: 529 overloaded_error.
	resp, body = dialRaw(t, gw.Addr, "POST", "/v1/messages", map[string]string{"X-Api-Key": key, "Anthropic-Version": "2023-06-01"}, 500, "").response(t)
	if resp.StatusCode != 529 || !strings.Contains(body, `"type":"overloaded_error"`) || resp.Header.Get("Retry-After") == "" {
		t.Errorf("anthropic: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	// Connect and gRPC: unavailable with RetryInfo.
	for _, p := range []struct {
		name string
		opts []connect.ClientOption
	}{{"connect", nil}, {"grpc", []connect.ClientOption{connect.WithGRPC()}}, {"grpc-web", []connect.ClientOption{connect.WithGRPCWeb()}}} {
		e := &env{gw: gw}
		_, err := e.inference(key, p.opts...).Chat(context.Background(), connect.NewRequest(chatReq("x")))
		var ce *connect.Error
		if !errors.As(err, &ce) || ce.Code() != connect.CodeUnavailable || !hasRetryInfo(ce) {
			t.Errorf("%s: %v, want unavailable with RetryInfo", p.name, err)
		}
	}
	// Never shed: probes and admin calls.
	for _, path := range []string{"/healthz", "/readyz"} {
		if r, err := http.Get(gw.URL + path); err != nil || r.StatusCode != http.StatusOK {
			t.Errorf("%s while overloaded: %v %v", path, r, err)
		} else {
			r.Body.Close()
		}
	}
	if _, err := gw.Admin.ListTeams(context.Background(), connect.NewRequest(&tollgatev1.ListTeamsRequest{})); err != nil {
		t.Errorf("admin call while overloaded: %v", err)
	}
	if shed := healthz(t, gw.URL)["inflight"].(float64); shed != 2 {
		t.Errorf("inflight = %v after the refusals, want still 2", shed)
	}

	// The streams end: requests are admitted again as soon as their
	// handlers return.
	release()
	held.Wait()
	testutil.Eventually(t, func() error {
		if n := healthz(t, gw.URL)["inflight"].(float64); n != 0 {
			return fmt.Errorf("inflight = %v after the streams ended", n)
		}
		return nil
	})
	status, body := post(t, gw.URL, "/v1/chat/completions", key, oaiUnary, false)
	if status != http.StatusOK {
		t.Errorf("after the streams ended: %d %s", status, body)
	}
}

func hasRetryInfo(ce *connect.Error) bool {
	for _, d := range ce.Details() {
		if m, err := d.Value(); err == nil {
			if _, ok := m.(*errdetails.RetryInfo); ok {
				return true
			}
		}
	}
	return false
}

// TestAnonymousPool: requests without a known key have a pool of their
// own, so slow anonymous clients cannot take the slots of keyed traffic.
func TestAnonymousPool(t *testing.T) {
	t.Parallel()
	_, url := fakeupstream.StartOpenAI(t)
	gw := servertest.Start(t, servertest.Options{Config: func(c *server.Config) { c.MaxAnonInflight, c.AdmissionAdaptive = 1, false }})
	key := gw.Setup(t, url)
	// One anonymous client sends part of its body and stalls.
	slow := dialRaw(t, gw.Addr, "POST", "/v1/chat/completions", nil, 500, `{"model":"gpt-4o-mini"`)
	testutil.Eventually(t, func() error {
		if n := healthz(t, gw.URL)["anonymous_inflight"].(float64); n != 1 {
			return fmt.Errorf("anonymous inflight = %v, want 1", n)
		}
		return nil
	})
	resp, body := dialRaw(t, gw.Addr, "POST", "/v1/chat/completions", map[string]string{"Authorization": "Bearer sk-unknown"}, 500, "").response(t)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "overloaded") {
		t.Errorf("second anonymous request: %d %s, want 503", resp.StatusCode, body)
	}
	if status, body := post(t, gw.URL, "/v1/chat/completions", key, oaiUnary, false); status != http.StatusOK {
		t.Errorf("keyed request beside the anonymous crowd: %d %s", status, body)
	}
	slow.Close()
}

// TestBodyTimeout: a body that does not arrive within the body timeout is
// answered with 408 in the caller's dialect and the connection closed,
// while a stream lasting much longer than the timeout is not cut.
func TestBodyTimeout(t *testing.T) {
	t.Parallel()
	_, url := fakeupstream.StartOpenAI(t, fakeupstream.WithChunks(6), fakeupstream.WithChunkDelay(200*time.Millisecond))
	gw := servertest.Start(t, servertest.Options{Config: func(c *server.Config) { c.BodyTimeout = 400 * time.Millisecond }})
	key := gw.Setup(t, url)

	c := dialRaw(t, gw.Addr, "POST", "/v1/chat/completions", map[string]string{"Authorization": "Bearer " + key}, 500, `{"model":`)
	resp, body := c.response(t)
	if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(body, `"code":"request_timeout"`) {
		t.Errorf("slow body: %d %s, want 408 request_timeout", resp.StatusCode, body)
	}
	if _, err := c.r.ReadByte(); err == nil {
		t.Errorf("the connection stayed open after the body timeout")
	}
	resp, body = dialRaw(t, gw.Addr, "POST", "/v1/messages", map[string]string{"X-Api-Key": key}, 500, `{"model":`).response(t)
	if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(body, `"type":"invalid_request_error"`) {
		t.Errorf("anthropic slow body: %d %s, want 408", resp.StatusCode, body)
	}

	// A stream of 6 chunks 200ms apart outlives the 400ms body timeout.
	status, body := post(t, gw.URL, "/v1/chat/completions", key, oaiStream, false)
	if status != http.StatusOK || !strings.Contains(body, "[DONE]") {
		t.Errorf("long stream: %d %s", status, body)
	}
	s, err := tollgateInference(gw, key).ChatStream(context.Background(), connect.NewRequest(&tollgatev1.ChatStreamRequest{Request: chatReq("x")}))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for s.Receive() {
		n++
	}
	if s.Err() != nil || n < 6 {
		t.Errorf("long connect stream: %d events, %v", n, s.Err())
	}
}
