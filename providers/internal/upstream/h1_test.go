package upstream

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// newTestH1 is an h1Transport as NewHTTPClient makes it, with next for
// what it does not send itself.
func newTestH1(next http.RoundTripper) *h1Transport {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &h1Transport{dial: d.DialContext, next: next, maxIdle: 4, idleTimeout: time.Minute, bufSize: 4096}
}

// countingServer is an httptest server that counts the connections it
// accepted and signals each one it closed.
type countingServer struct {
	*httptest.Server
	conns  atomic.Int64
	closed chan struct{}
}

func newCountingServer(t *testing.T, h http.HandlerFunc) *countingServer {
	t.Helper()
	s := &countingServer{closed: make(chan struct{}, 16)}
	s.Server = httptest.NewUnstartedServer(h)
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			s.conns.Add(1)
		case http.StateClosed:
			s.closed <- struct{}{}
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// do sends a request through rt and returns the answer's body.
func do(t *testing.T, rt http.RoundTripper, method, target, body string) (*http.Response, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, target, rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp, string(b)
}

// TestH1ReusesConnections: unary, chunked and streamed answers, with and
// without a request body, all travel on one connection.
func TestH1ReusesConnections(t *testing.T) {
	t.Parallel()
	s := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		in, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/echo":
			w.Header().Set("Content-Length", fmt.Sprint(len(in)))
			w.Write(in)
		case "/stream":
			for i := range 3 {
				fmt.Fprintf(w, "data: %d\n\n", i)
				w.(http.Flusher).Flush()
			}
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		}
	})
	tr := newTestH1(nil)
	tests := []struct{ method, path, body, want string }{
		{"POST", "/echo", `{"model":"m"}`, `{"model":"m"}`},
		{"GET", "/stream", "", "data: 0\n\ndata: 1\n\ndata: 2\n\n"},
		{"GET", "/empty", "", ""},
		{"POST", "/echo", strings.Repeat("x", 100_000), strings.Repeat("x", 100_000)},
		{"HEAD", "/echo", "", ""},
		{"POST", "/echo", "again", "again"},
	}
	for _, tt := range tests {
		resp, got := do(t, tr, tt.method, s.URL+tt.path, tt.body)
		if got != tt.want {
			t.Errorf("%s %s: body %.40q, want %.40q", tt.method, tt.path, got, tt.want)
		}
		if resp.Request == nil || resp.Request.URL.Path != tt.path {
			t.Errorf("%s %s: resp.Request = %v", tt.method, tt.path, resp.Request)
		}
	}
	if n := s.conns.Load(); n != 1 {
		t.Errorf("%d connections for %d sequential requests, want 1", n, len(tests))
	}
}

// TestH1ConnectionFate: a connection goes back to the pool only when its
// answer was read to the end and both sides keep it.
func TestH1ConnectionFate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		first func(t *testing.T, tr *h1Transport, s *countingServer)
		// idle is the idle timeout for the second request (0: a minute).
		idle time.Duration
		// peekAfter is the transport's (0: a peek before every reuse); when
		// set, the second request can be replayed.
		peekAfter time.Duration
		conns     int64 // after a second request
	}{
		{"read to the end", func(t *testing.T, tr *h1Transport, s *countingServer) {
			do(t, tr, "GET", s.URL+"/big", "")
		}, 0, 0, 1},
		{"body closed early", func(t *testing.T, tr *h1Transport, s *countingServer) {
			resp, err := tr.RoundTrip(httptest.NewRequest("GET", s.URL+"/big", nil).WithContext(context.Background()))
			if err != nil {
				t.Fatal(err)
			}
			io.ReadFull(resp.Body, make([]byte, 10))
			resp.Body.Close()
			if _, err := resp.Body.Read(make([]byte, 1)); err == nil || err == io.EOF {
				t.Errorf("read after Close: %v, want an error", err)
			}
		}, 0, 0, 2},
		{"answer with Connection: close", func(t *testing.T, tr *h1Transport, s *countingServer) {
			do(t, tr, "GET", s.URL+"/close", "")
		}, 0, 0, 2},
		{"request with Connection: close", func(t *testing.T, tr *h1Transport, s *countingServer) {
			req, _ := http.NewRequest("GET", s.URL+"/big", nil)
			req.Close = true
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}, 0, 0, 2},
		{"idle for longer than the idle timeout", func(t *testing.T, tr *h1Transport, s *countingServer) {
			do(t, tr, "GET", s.URL+"/big", "")
		}, time.Nanosecond, 0, 2},
		{"closed by the server while idle", func(t *testing.T, tr *h1Transport, s *countingServer) {
			do(t, tr, "GET", s.URL+"/big", "")
			s.Config.SetKeepAlivesEnabled(false) // closes the idle connection
			<-s.closed
			s.Config.SetKeepAlivesEnabled(true)
		}, 0, 0, 2},
		// Not peeked: the request goes out on the closed connection, whose
		// answer ends before its first byte, and is sent again.
		{"closed by the server while idle, reused without a peek", func(t *testing.T, tr *h1Transport, s *countingServer) {
			do(t, tr, "GET", s.URL+"/big", "")
			s.Config.SetKeepAlivesEnabled(false)
			<-s.closed
			s.Config.SetKeepAlivesEnabled(true)
		}, 0, time.Minute, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/close" {
					w.Header().Set("Connection", "close")
				}
				w.Write(bytes.Repeat([]byte("y"), 64<<10))
			})
			tr := newTestH1(nil)
			tr.peekAfter = tt.peekAfter
			tt.first(t, tr, s)
			tr.idleTimeout = time.Minute
			if tt.idle > 0 {
				tr.idleTimeout = tt.idle
			}
			// The second request cannot be sent twice (its body has no
			// GetBody) unless the case relies on the resend, so a closed
			// connection must be seen before it goes out.
			req, err := http.NewRequest("POST", s.URL+"/big", io.NopCloser(strings.NewReader("once")))
			if tt.peekAfter > 0 {
				req, err = http.NewRequest("GET", s.URL+"/big", nil)
			}
			if err != nil {
				t.Fatal(err)
			}
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatalf("second request: %v", err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || len(body) != 64<<10 {
				t.Errorf("second answer: %d bytes, %v", len(body), err)
			}
			if n := s.conns.Load(); n != tt.conns {
				t.Errorf("%d connections, want %d", n, tt.conns)
			}
		})
	}
}

// scriptedServer accepts connections and hands each, with its reader, to
// the next of its scripts.
func scriptedServer(t *testing.T, scripts ...func(c *net.TCPConn, br *bufio.Reader)) (addr string, requests *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	requests = new(atomic.Int64)
	go func() {
		for _, script := range scripts {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				script(c.(*net.TCPConn), bufio.NewReader(&countingReader{r: c, requests: requests}))
			}()
		}
	}()
	return ln.Addr().String(), requests
}

// countingReader counts the requests a script reads by their request lines.
type countingReader struct {
	r        io.Reader
	requests *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.requests.Add(int64(bytes.Count(p[:n], []byte(" HTTP/1.1\r\n"))))
	return n, err
}

// answer reads one request and answers it with body.
func answer(br *bufio.Reader, w io.Writer, body string) error {
	req, err := http.ReadRequest(br)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, req.Body)
	_, err = fmt.Fprintf(w, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	return err
}

// TestH1ResendsOnlyUnreadRequests: a request on a reused connection that
// ends cleanly before any answer is sent once more on a new connection;
// one that is reset after it was written is not (the server may have
// acted on it), nor one whose body cannot be replayed.
func TestH1ResendsOnlyUnreadRequests(t *testing.T) {
	t.Parallel()
	closeAfterRead := func(reset bool) func(c *net.TCPConn, br *bufio.Reader) {
		return func(c *net.TCPConn, br *bufio.Reader) {
			if answer(br, c, "first") != nil {
				return
			}
			if _, err := http.ReadRequest(br); err != nil {
				return
			}
			if reset {
				c.SetLinger(0) // RST instead of FIN
			}
		}
	}
	healthy := func(c *net.TCPConn, br *bufio.Reader) {
		for answer(br, c, "second") == nil {
		}
	}
	tests := []struct {
		name       string
		reset      bool
		replayable bool
		wantErr    bool
		requests   int64
	}{
		{"closed before answering: sent again", false, true, false, 3},
		{"reset after the request was written: not sent again", true, true, true, 3},
		{"body cannot be replayed: not sent again", false, false, true, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr, requests := scriptedServer(t, closeAfterRead(tt.reset), healthy)
			tr := newTestH1(nil)
			if _, body := do(t, tr, "POST", "http://"+addr+"/v1/chat/completions", "{}"); body != "first" {
				t.Fatalf("first answer %q", body)
			}
			var body io.Reader = strings.NewReader(`{"n":2}`)
			if !tt.replayable {
				body = io.MultiReader(body) // http.NewRequest sets no GetBody for it
			}
			req, _ := http.NewRequest("POST", "http://"+addr+"/v1/chat/completions", body)
			resp, err := tr.RoundTrip(req)
			if (err != nil) != tt.wantErr {
				t.Fatalf("second request: %v, want error %v", err, tt.wantErr)
			}
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if string(b) != "second" {
					t.Errorf("second answer %q", b)
				}
			}
			if tt.wantErr {
				// A third request dials the healthy script: the failed
				// one was not resent on it.
				do(t, tr, "POST", "http://"+addr+"/", "{}")
			}
			if n := requests.Load(); n != tt.requests {
				t.Errorf("the server read %d requests, want %d", n, tt.requests)
			}
		})
	}
}

// TestH1Cancel: the end of the request's context ends a wait for the
// answer's header and a read of its body, and closes the connection.
func TestH1Cancel(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	gone := make(chan string, 2)
	arrived := make(chan struct{}, 2)
	s := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		if r.URL.Path == "/body" {
			w.Write([]byte("data: first\n\n"))
			w.(http.Flusher).Flush()
		}
		select {
		case <-r.Context().Done():
			gone <- r.URL.Path
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) }) // before the server's Close, which waits for the handler
	tr := newTestH1(nil)
	for _, path := range []string{"/header", "/body"} {
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "GET", s.URL+path, nil)
		var err error
		if path == "/header" {
			go func() { <-arrived; cancel() }() // the caller leaves while the upstream thinks
			_, err = tr.RoundTrip(req)
		} else {
			resp, rerr := tr.RoundTrip(req)
			if rerr != nil {
				t.Fatal(rerr)
			}
			<-arrived
			first := make([]byte, 13)
			if _, rerr := io.ReadFull(resp.Body, first); rerr != nil {
				t.Fatal(rerr)
			}
			cancel()
			_, err = resp.Body.Read(make([]byte, 10))
			resp.Body.Close()
		}
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s: %v, want context.Canceled", path, err)
		}
		if got := <-gone; got != path {
			t.Errorf("the server saw %s go, want %s", got, path)
		}
	}
}

// endingConn ends its request's context as soon as the request is
// written, and waits until the end has set its deadline in the past: the
// order in which a deadline set afterwards (the header timeout) must not
// undo it.
type endingConn struct {
	net.Conn
	cancel context.CancelFunc
	once   sync.Once
	ended  chan struct{}
}

func (c *endingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.cancel()
	select {
	case <-c.ended:
	case <-time.After(5 * time.Second): // a bound, should the deadline never come
	}
	return n, err
}

func (c *endingConn) SetDeadline(t time.Time) error {
	err := c.Conn.SetDeadline(t)
	if t.Equal(aLongTimeAgo) {
		c.once.Do(func() { close(c.ended) })
	}
	return err
}

// TestH1CancelBeforeTheHeaderDeadline: a caller that leaves right after
// the request went out ends the wait for the answer, although the header
// timeout's deadline is set after the end set its own.
func TestH1CancelBeforeTheHeaderDeadline(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	s := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) }) // before the server's Close, which waits for the handler
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tr := newTestH1(nil)
	tr.headerTimeout = time.Hour
	d := &net.Dialer{}
	tr.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &endingConn{Conn: c, cancel: cancel, ended: make(chan struct{})}, nil
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", s.URL, nil)
	done := make(chan error, 1)
	go func() {
		_, err := tr.RoundTrip(req)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("RoundTrip = %v, want context.Canceled", err)
		}
	case <-time.After(30 * time.Second): // a liveness bound: without the fix it waits for the hour
		t.Fatal("RoundTrip still waits for the answer 30 s after its caller left")
	}
}

// TestH1HeaderTimeout: an upstream that never answers fails the request
// after the header timeout.
func TestH1HeaderTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	s := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) { <-release })
	t.Cleanup(func() { close(release) })
	tr := newTestH1(nil)
	tr.headerTimeout = 50 * time.Millisecond
	req, _ := http.NewRequest("GET", s.URL, nil)
	_, err := tr.RoundTrip(req)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("RoundTrip = %v, want a timeout", err)
	}
}

// TestH1SkipsInformational: a 103 Early Hints before the answer is read
// past.
func TestH1SkipsInformational(t *testing.T) {
	t.Parallel()
	addr, _ := scriptedServer(t, func(c *net.TCPConn, br *bufio.Reader) {
		if _, err := http.ReadRequest(br); err == nil {
			io.WriteString(c, "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	resp, body := do(t, newTestH1(nil), "GET", "http://"+addr+"/", "")
	if resp.StatusCode != 200 || body != "ok" {
		t.Errorf("%d %q, want 200 ok", resp.StatusCode, body)
	}
}

// TestH1EarlyAnswer: an answer the server sends before reading the whole
// request (a 413 for a body over its limit), closing the connection, is
// returned rather than the failed write's error.
func TestH1EarlyAnswer(t *testing.T) {
	t.Parallel()
	addr, _ := scriptedServer(t, func(c *net.TCPConn, br *bufio.Reader) {
		for {
			line, err := br.ReadString('\n')
			if err != nil || line == "\r\n" {
				break
			}
		}
		io.WriteString(c, "HTTP/1.1 413 Request Entity Too Large\r\nContent-Type: application/json\r\nContent-Length: 18\r\n\r\n{\"error\":\"large\"}")
	})
	req, _ := http.NewRequest("POST", "http://"+addr+"/v1/chat/completions", bytes.NewReader(make([]byte, 16<<20)))
	resp, err := newTestH1(nil).RoundTrip(req)
	if err != nil {
		t.Fatalf("RoundTrip: %v, want the 413", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge || string(b) != `{"error":"large"}` {
		t.Errorf("%d %q", resp.StatusCode, b)
	}
}

// recordingTransport answers every request with 418 and records its URL.
type recordingTransport struct {
	mu   sync.Mutex
	urls []string
}

func (r *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.urls = append(r.urls, req.URL.String())
	r.mu.Unlock()
	return &http.Response{StatusCode: http.StatusTeapot, Body: http.NoBody, Request: req}, nil
}

// TestH1Delegates: HTTPS, proxied requests and upgrades go to net/http.
func TestH1Delegates(t *testing.T) {
	t.Parallel()
	next := &recordingTransport{}
	tr := newTestH1(next)
	tr.proxy = func(r *http.Request) (*url.URL, error) {
		if r.URL.Hostname() == "proxied.example" {
			return url.Parse("http://proxy.example:3128")
		}
		return nil, nil
	}
	for _, target := range []string{"https://api.example/v1/models", "http://proxied.example/v1/models", "http://ws.example/socket"} {
		req, _ := http.NewRequest("GET", target, nil)
		if strings.Contains(target, "socket") {
			req.Header.Set("Upgrade", "websocket")
		}
		resp, err := tr.RoundTrip(req)
		if err != nil || resp.StatusCode != http.StatusTeapot {
			t.Errorf("%s: %v, %v: not delegated", target, resp, err)
		}
	}
	if len(next.urls) != 3 {
		t.Errorf("delegated %v, want the 3 requests", next.urls)
	}
}

// TestH1PoolBound: the pool keeps at most maxIdle connections per host
// and closes the others.
func TestH1PoolBound(t *testing.T) {
	t.Parallel()
	tr := newTestH1(nil)
	tr.maxIdle = 2
	var far []net.Conn
	for range 3 {
		near, f := net.Pipe()
		far = append(far, f)
		tr.put(&h1Conn{nc: near, addr: "up:80", br: tr.reader(near)})
	}
	if n := len(tr.idle["up:80"]); n != 2 {
		t.Errorf("%d pooled, want 2", n)
	}
	// The third was closed: its far end reads EOF at once.
	if _, err := far[2].Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("the connection beyond the bound: read %v, want EOF", err)
	}
	tr.CloseIdleConnections()
	for i, f := range far[:2] {
		if _, err := f.Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("pooled %d after CloseIdleConnections: read %v, want EOF", i, err)
		}
	}
}

// TestH1CloseDuringRead: a body may be closed by another goroutine while
// a read waits (a stream's chunk timeout does so from a timer), as
// net/http's bodies may. The close ends the read at once with the closed
// body's error and closes the connection; a close that races with a read
// reaching the end releases the connection once, so the pool never holds
// a connection the close closed. (Run with -race, make test-race: the
// body's state is shared by the two goroutines.)
func TestH1CloseDuringRead(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	s := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/stall":
			w.Write([]byte("data: first\n\n"))
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}
	})
	t.Cleanup(func() { close(release) })
	whole := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", "4")
		w.Write([]byte("body"))
	}))
	t.Cleanup(whole.Close)
	tr := newTestH1(nil)

	t.Run("waiting read", func(t *testing.T) {
		req, _ := http.NewRequestWithContext(context.Background(), "GET", s.URL+"/stall", nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(resp.Body, make([]byte, 13)); err != nil {
			t.Fatal(err)
		}
		read := make(chan error, 1)
		go func() {
			_, err := resp.Body.Read(make([]byte, 10))
			read <- err
		}()
		time.Sleep(20 * time.Millisecond) // the read is (most likely) waiting
		if err := resp.Body.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		select {
		case err := <-read:
			if !errors.Is(err, errBodyClosed) {
				t.Errorf("the waiting read: %v, want %v", err, errBodyClosed)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the waiting read did not end when the body was closed")
		}
		if _, err := resp.Body.Read(make([]byte, 10)); !errors.Is(err, errBodyClosed) {
			t.Errorf("a read after Close: %v, want %v", err, errBodyClosed)
		}
		select {
		case <-s.closed:
		case <-time.After(5 * time.Second):
			t.Fatal("the server did not see the connection close")
		}
		if n := len(tr.idle[hostPort(req.URL)]); n != 0 {
			t.Errorf("%d pooled connections after a close mid-body, want 0", n)
		}
	})

	t.Run("close racing the end", func(t *testing.T) {
		addr := strings.TrimPrefix(whole.URL, "http://")
		for i := range 100 {
			req, _ := http.NewRequestWithContext(context.Background(), "GET", whole.URL, nil)
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
			var wg sync.WaitGroup
			wg.Go(func() { _, _ = io.ReadAll(resp.Body) })
			wg.Go(func() { _ = resp.Body.Close() })
			wg.Wait()
			tr.mu.Lock()
			pooled := append([]*h1Conn(nil), tr.idle[addr]...)
			tr.mu.Unlock()
			for _, c := range pooled {
				if !c.alive() {
					t.Fatalf("request %d: the pool holds a closed connection", i)
				}
			}
		}
	})
}
