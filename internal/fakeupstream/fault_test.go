package fakeupstream

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/openai"
)

const chatBody = `{"model":"m","messages":[{"role":"user","content":"some words to stream"}]}`
const streamBody = `{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"some words to stream"}]}`

func TestStatusFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fault      Fault
		status     int
		typ, code  string
		retryAfter string
	}{
		{StatusFault(400), 400, "invalid_request_error", "", ""},
		{StatusFault(401), 401, "invalid_request_error", "invalid_api_key", ""},
		{StatusFault(403), 403, "request_forbidden", "unsupported_country_region_territory", ""},
		{StatusFault(404), 404, "invalid_request_error", "model_not_found", ""},
		{StatusFault(429), 429, "requests", "rate_limit_exceeded", "1"},
		{RateLimitFault(2500 * time.Millisecond), 429, "requests", "rate_limit_exceeded", "3"},
		{QuotaFault(), 429, "insufficient_quota", "insufficient_quota", ""},
		{StatusFault(500), 500, "server_error", "", ""},
		{StatusFault(503), 503, "server_error", "server_is_overloaded", ""},
		{StatusFault(502), 502, "server_error", "", ""},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status)+"/"+tt.code, func(t *testing.T) {
			t.Parallel()
			fake, base := StartOpenAI(t)
			fake.Enqueue(tt.fault)
			status, h, body := post(t, base, "/chat/completions", chatBody)
			var e schema.ErrorBody
			if err := apischema.Unmarshal(body, &e); err != nil {
				t.Fatalf("body %s: %v", body, err)
			}
			if status != tt.status || e.Error.Type != tt.typ || apischema.Text(e.Error.Code) != tt.code || e.Error.Message == "" {
				t.Errorf("got %d %+v", status, e.Error)
			}
			if !bytes.Contains(body, []byte(`"param":null`)) {
				t.Errorf("param not null: %s", body)
			}
			if h.Get("Retry-After") != tt.retryAfter {
				t.Errorf("retry-after = %q, want %q", h.Get("Retry-After"), tt.retryAfter)
			}
			if tt.retryAfter != "" && h.Get("X-Ratelimit-Remaining-Requests") != "0" {
				t.Errorf("missing x-ratelimit headers: %v", h)
			}
			if status, _, _ := post(t, base, "/chat/completions", chatBody); status != 200 {
				t.Errorf("fault not consumed: next status %d", status)
			}
		})
	}
}

func TestFaultQueueAndFunc(t *testing.T) {
	t.Parallel()
	fake, base := StartOpenAI(t, WithFaultFunc(func(r *Request) (Fault, bool) {
		if strings.HasSuffix(r.Path, "/embeddings") {
			return StatusFault(500), true
		}
		return Fault{}, false
	}))
	fake.Enqueue(StatusFault(400), StatusFault(401))
	var got []int
	for _, path := range []string{"/chat/completions", "/chat/completions", "/chat/completions", "/embeddings"} {
		body := chatBody
		if path == "/embeddings" {
			body = `{"model":"e","input":"x"}`
		}
		status, _, _ := post(t, base, path, body)
		got = append(got, status)
	}
	want := []int{400, 401, 200, 500}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("statuses = %v, want %v", got, want)
		}
	}
	fake.SetFaultFunc(nil)
	if status, _, _ := post(t, base, "/embeddings", `{"model":"e","input":"x"}`); status != 200 {
		t.Errorf("status after removing the func = %d", status)
	}
}

func TestMidStreamFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		fault     Fault
		events    int
		wantErr   bool
		lastError bool
	}{
		{name: "die after 2", fault: DieAfterFault(2), events: 2, wantErr: true},
		{name: "graceful end after 3", fault: Fault{Kind: FaultDieMidStream, AfterChunks: 3, Graceful: true}, events: 3},
		{name: "error event after 1", fault: StreamErrorFault(1), events: 2, lastError: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake, base := StartOpenAI(t)
			fake.Enqueue(tt.fault)
			resp, err := http.Post(base+"/chat/completions", "application/json", strings.NewReader(streamBody))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if (err != nil) != tt.wantErr {
				t.Fatalf("read err = %v, wantErr %v", err, tt.wantErr)
			}
			var data []string
			for _, line := range strings.Split(string(body), "\n") {
				if d, ok := strings.CutPrefix(line, "data: "); ok {
					data = append(data, d)
				}
			}
			if len(data) != tt.events {
				t.Fatalf("%d events, want %d: %s", len(data), tt.events, body)
			}
			for _, d := range data {
				if d == "[DONE]" {
					t.Error("a failed stream sent [DONE]")
				}
			}
			if tt.lastError && !strings.HasPrefix(data[len(data)-1], `{"error":{"message":`) {
				t.Errorf("last event = %s", data[len(data)-1])
			}
		})
	}
}

func TestConnectionFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fault Fault
		body  string
	}{
		{name: "reset", fault: ResetFault(), body: chatBody},
		{name: "unary body cut", fault: DieAfterFault(0), body: chatBody},
		{name: "stream cut before any event", fault: DieAfterFault(0), body: streamBody},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake, base := StartOpenAI(t)
			fake.Enqueue(tt.fault)
			resp, err := http.Post(base+"/chat/completions", "application/json", strings.NewReader(tt.body))
			if err == nil {
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			if err == nil {
				t.Fatal("request succeeded despite the fault")
			}
		})
	}
}

func TestHangReleasedByClose(t *testing.T) {
	t.Parallel()
	fake, base := StartOpenAI(t)
	fake.Enqueue(HangFault())
	done := make(chan error, 1)
	go func() {
		resp, err := http.Post(base+"/chat/completions", "application/json", strings.NewReader(chatBody))
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		done <- err
	}()
	waitUntil(t, func() bool { return fake.InFlight() == 1 })
	select {
	case <-done:
		t.Fatal("hanging request answered")
	case <-time.After(50 * time.Millisecond):
	}
	fake.Close()
	fake.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Error("released request looked like a success")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not release the hanging handler")
	}
	waitUntil(t, func() bool { return fake.InFlight() == 0 })
}

func TestMainRejectsBadFlags(t *testing.T) {
	t.Parallel()
	tests := [][]string{{"-chunks", "0"}, {"-nope"}, {"-latency", "-1s"}, {"-addr", "256.0.0.1:1"}}
	for _, args := range tests {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			t.Parallel()
			var stderr bytes.Buffer
			if err := Main(context.Background(), args, &stderr); err == nil {
				t.Errorf("Main(%q) succeeded", args)
			}
		})
	}
}

func TestServeShutsDownGracefully(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fake := NewOpenAI()
	// Only the request that asks for it hangs: a queued fault would go to
	// whichever request gets there first, and the one meant to succeed
	// can overtake the one meant to hang (both are in flight for a while).
	fake.SetFaultFunc(func(r *Request) (Fault, bool) { return HangFault(), r.Header.Get("X-Test-Hang") != "" })
	ctx, cancel := context.WithCancel(context.Background())
	var logs bytes.Buffer
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, ln, fake, newTestLogger(&logs)) }()

	base := "http://" + ln.Addr().String() + "/v1"
	hung := make(chan error, 1)
	go func() {
		req, err := http.NewRequest(http.MethodPost, base+"/chat/completions", strings.NewReader(chatBody))
		if err != nil {
			hung <- err
			return
		}
		req.Header.Set("X-Test-Hang", "1")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		hung <- err
	}()
	waitUntil(t, func() bool { return fake.InFlight() == 1 })
	if status, _, _ := post(t, base, "/chat/completions", chatBody); status != 200 {
		t.Fatalf("status %d", status)
	}
	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
	}
	if err := <-hung; err == nil {
		t.Error("request hanging at shutdown looked like a success")
	}
	if conn, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		conn.Close()
		t.Error("listener still open after shutdown")
	}
	if !strings.Contains(logs.String(), "listening") || !strings.Contains(logs.String(), "stopped") {
		t.Errorf("logs = %s", logs.String())
	}
}

func newTestLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }
