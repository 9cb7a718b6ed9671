package upstream

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"syscall"
	"time"
)

// h1Transport sends plain-HTTP requests (self-hosted OpenAI-compatible
// servers, sidecars, in-cluster routers) over pooled HTTP/1.1 connections
// from the caller's goroutine: it writes the request and reads the answer
// itself, where net/http's Transport hands each request to a writer and a
// reader goroutine per connection and waits on channels for both. Under a
// saturated CPU every such hand-off waits its turn in the scheduler's run
// queue; without them an upstream call costs two goroutine switches less,
// and a few allocations.
//
// The wire format is net/http's own (http.ReadResponse, and Request.Write
// or a lean writer that writes the same: writeRequest), so
// chunked bodies, Content-Length and Connection: close are handled as
// there. Everything else goes to next (a net/http Transport): HTTPS (which
// may negotiate HTTP/2), requests a proxy is configured for, upgrades.
//
// A connection is reused only after its answer was read to the end; a
// body closed early closes it, as net/http does. Its buffers are borrowed
// from the transport while it carries a request (the writer only while the
// request is written) and returned when it goes idle, so the pool's idle
// connections hold none: memory follows the requests in flight, not the
// connections kept for reuse (up to maxIdle per host, bufSize each way). Before reuse a pooled
// connection idle for peekAfter or longer is checked for a close from the server (a non-blocking peek).
// A request on a reused connection whose write fails, or whose answer
// ends cleanly before its first byte (the server closed the connection as
// an idle one just as the request went out, so it did not read it), is
// sent once more on a new connection when its body can be replayed, as
// net/http does; a reset after the request was written is not retried (the
// server may have acted on it). An answer the server sent before reading
// the whole request (a 413, a 401) is returned even though the write
// failed. The request's context bounds every read and write: its end
// closes the connection's deadlines.
type h1Transport struct {
	dial          func(ctx context.Context, network, addr string) (net.Conn, error)
	next          http.RoundTripper
	proxy         func(*http.Request) (*url.URL, error)
	maxIdle       int
	idleTimeout   time.Duration
	headerTimeout time.Duration
	bufSize       int
	// peekAfter is how long a connection may have been idle before its
	// reuse costs a peek (a system call per request at any load; 0: every
	// reuse). Servers close keep-alive connections after seconds of
	// idleness, not milliseconds; a close racing with the request is the
	// case RoundTrip sends again on a new connection (the answer ends
	// before its first byte) when the request can be replayed.
	peekAfter time.Duration

	mu   sync.Mutex
	idle map[string][]*h1Conn // per host:port, the most recently used last

	// readers and writers hold buffers of bufSize between requests.
	readers, writers sync.Pool
}

// h1Conn is one pooled connection.
type h1Conn struct {
	nc   net.Conn
	addr string
	// br reads the answer: borrowed while the connection carries a
	// request, nil while it is idle.
	br        *bufio.Reader
	idleSince time.Time
	reused    bool
}

// reader returns a read buffer of bufSize on nc.
func (t *h1Transport) reader(nc net.Conn) *bufio.Reader {
	if br, ok := t.readers.Get().(*bufio.Reader); ok {
		br.Reset(nc)
		return br
	}
	return bufio.NewReaderSize(nc, t.bufSize)
}

// writer returns a write buffer of bufSize on nc.
func (t *h1Transport) writer(nc net.Conn) *bufio.Writer {
	if bw, ok := t.writers.Get().(*bufio.Writer); ok {
		bw.Reset(nc)
		return bw
	}
	return bufio.NewWriterSize(nc, t.bufSize)
}

// putWriter returns a writer whose request is written (or failed).
func (t *h1Transport) putWriter(bw *bufio.Writer) {
	bw.Reset(nil)
	t.writers.Put(bw)
}

// RoundTrip implements http.RoundTripper.
func (t *h1Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "http" || req.Header.Get("Upgrade") != "" || t.proxied(req) {
		return t.next.RoundTrip(req)
	}
	ctx := req.Context()
	addr := hostPort(req.URL)
	for retried := false; ; retried = true {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c, err := t.conn(ctx, addr)
		if err != nil {
			return nil, err
		}
		resp, unread, err := t.send(ctx, c, req)
		if err == nil {
			return resp, nil
		}
		c.nc.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if retried || !unread || !c.reused || !replayable(req) {
			return nil, err
		}
		if req.GetBody != nil {
			body, gerr := req.GetBody()
			if gerr != nil {
				return nil, err
			}
			req = req.Clone(ctx)
			req.Body = body
		}
	}
}

// replayable reports whether req can be sent again: it has no body, or
// one GetBody makes anew.
func replayable(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

// proxied reports whether a proxy is configured for req.
func (t *h1Transport) proxied(req *http.Request) bool {
	if t.proxy == nil {
		return false
	}
	u, err := t.proxy(req)
	return err != nil || u != nil
}

// hostPort is the address to dial for u: its host and port, 80 by default.
func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	return net.JoinHostPort(u.Hostname(), "80")
}

// conn returns a live pooled connection to addr, or dials one.
func (t *h1Transport) conn(ctx context.Context, addr string) (*h1Conn, error) {
	now := time.Now()
	t.mu.Lock()
	for list := t.idle[addr]; len(list) > 0; list = t.idle[addr] {
		c := list[len(list)-1]
		list[len(list)-1] = nil
		t.idle[addr] = list[:len(list)-1]
		t.mu.Unlock()
		idle := now.Sub(c.idleSince)
		if idle < t.idleTimeout && (idle < t.peekAfter || c.alive()) {
			c.reused = true
			c.br = t.reader(c.nc)
			return c, nil
		}
		c.nc.Close()
		t.mu.Lock()
	}
	t.mu.Unlock()
	nc, err := t.dial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return &h1Conn{nc: nc, addr: addr, br: t.reader(nc)}, nil
}

// alive reports whether an idle connection can carry a request: the
// server has not closed it nor sent anything unasked. (It went idle with
// nothing buffered: put.)
func (c *h1Conn) alive() bool {
	sc, ok := c.nc.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	alive := false
	if err := rc.Read(func(fd uintptr) bool { alive = peekIdle(fd); return true }); err != nil {
		return false
	}
	return alive
}

// put returns a connection whose answer was read to the end, with nothing
// buffered past it, to the pool, and its read buffer to the transport; it
// closes connections idle for longer than the idle timeout.
func (t *h1Transport) put(c *h1Conn) {
	c.br.Reset(nil)
	t.readers.Put(c.br)
	c.br = nil
	now := time.Now()
	c.idleSince = now
	t.mu.Lock()
	list := t.idle[c.addr]
	stale := 0
	for stale < len(list) && now.Sub(list[stale].idleSince) >= t.idleTimeout {
		stale++
	}
	old := list[:stale:stale]
	list = list[stale:]
	keep := len(list) < t.maxIdle
	if keep {
		list = append(list, c)
	}
	if t.idle == nil {
		t.idle = map[string][]*h1Conn{}
	}
	t.idle[c.addr] = list
	t.mu.Unlock()
	for _, o := range old {
		o.nc.Close()
	}
	if !keep {
		c.nc.Close()
	}
}

// CloseIdleConnections closes the pooled connections, and next's.
func (t *h1Transport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = nil
	t.mu.Unlock()
	for _, list := range idle {
		for _, c := range list {
			c.nc.Close()
		}
	}
	if ci, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

// aLongTimeAgo is a deadline that makes pending reads and writes fail.
var aLongTimeAgo = time.Unix(1, 0)

// send writes req on c and reads the answer's header. On failure, unread
// reports that the server cannot have acted on the request: writing it
// failed, or the connection ended cleanly before any byte of an answer.
func (t *h1Transport) send(ctx context.Context, c *h1Conn, req *http.Request) (resp *http.Response, unread bool, err error) {
	stop := context.AfterFunc(ctx, func() { _ = c.nc.SetDeadline(aLongTimeAgo) })
	defer func() {
		if err != nil {
			stop()
		}
	}()
	bw := t.writer(c.nc)
	werr := writeRequest(bw, req)
	if werr == nil {
		werr = bw.Flush()
	}
	t.putWriter(bw)
	if werr != nil {
		// A server may answer before it has read the whole request (413
		// for a body over its limit, 401) and close the connection; the
		// answer then waits in the receive buffer ahead of the reset that
		// failed the write, and is worth more than the write's error.
		if resp, _, err := t.readAnswer(ctx, c, req, time.Now().Add(earlyAnswerWait)); err == nil {
			resp.Close = true
			return t.body(ctx, c, req, resp, stop), false, nil
		}
		return nil, true, werr
	}
	var deadline time.Time
	if t.headerTimeout > 0 {
		deadline = time.Now().Add(t.headerTimeout)
	}
	resp, unread, err = t.readAnswer(ctx, c, req, deadline)
	if err != nil {
		return nil, unread, err
	}
	return t.body(ctx, c, req, resp, stop), false, nil
}

// earlyAnswerWait bounds the wait for an answer after a failed write.
const earlyAnswerWait = time.Second

// readAnswer reads the answer's header, past informational answers (103
// Early Hints), by deadline (zero: none). unread reports a clean end of the
// connection before any byte.
func (t *h1Transport) readAnswer(ctx context.Context, c *h1Conn, req *http.Request, deadline time.Time) (resp *http.Response, unread bool, err error) {
	if !deadline.IsZero() {
		if err := setReadDeadline(ctx, c.nc, deadline); err != nil {
			return nil, false, err
		}
	}
	for {
		if _, err := c.br.Peek(1); err != nil {
			return nil, err == io.EOF, err
		}
		resp, err = http.ReadResponse(c.br, req)
		if err != nil {
			return nil, false, err
		}
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			break
		}
	}
	if !deadline.IsZero() {
		if err := setReadDeadline(ctx, c.nc, time.Time{}); err != nil {
			return nil, false, err
		}
	}
	return resp, false, nil
}

// setReadDeadline sets nc's read deadline to d unless ctx has ended. The
// end of ctx sets a deadline in the past from another goroutine (send's
// AfterFunc), which a deadline set after it must not undo: checking ctx
// after setting d catches an end that came first, and an end that comes
// later sets its deadline after d.
func setReadDeadline(ctx context.Context, nc net.Conn, d time.Time) error {
	if err := nc.SetReadDeadline(d); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		_ = nc.SetDeadline(aLongTimeAgo)
		return err
	}
	return nil
}

// body wraps resp's body so that its end releases the connection.
func (t *h1Transport) body(ctx context.Context, c *h1Conn, req *http.Request, resp *http.Response, stop func() bool) *http.Response {
	reuse := !resp.Close && !req.Close && resp.ProtoAtLeast(1, 1) && resp.StatusCode != http.StatusSwitchingProtocols
	b := &h1Body{rc: resp.Body, t: t, c: c, ctx: ctx, stop: stop, reuse: reuse}
	if resp.Body == http.NoBody {
		b.done = true
		b.release(true)
		return resp
	}
	resp.Body = b
	return resp
}

// h1Body is an answer's body: read to the end, it gives its connection
// back to the pool; closed before, it closes the connection.
//
// As net/http's bodies, it may be closed by another goroutine while a
// read waits (a stream's chunk timeout closes it from a timer): the close
// closes the connection, which ends that read. Exactly one of the two
// releases the connection, so one read to the end just as a close comes
// never puts back a connection the close is closing.
type h1Body struct {
	rc    io.ReadCloser
	t     *h1Transport
	c     *h1Conn
	ctx   context.Context
	stop  func() bool
	reuse bool

	mu sync.Mutex
	// done is set by whichever of a read's end and Close comes first;
	// it releases the connection.
	done bool
	// err is what reads return once the body is done.
	err error
}

// Read implements io.Reader.
func (b *h1Body) Read(p []byte) (int, error) {
	b.mu.Lock()
	done, derr := b.done, b.err
	b.mu.Unlock()
	if done {
		return 0, derr
	}
	n, err := b.rc.Read(p)
	if err == nil {
		return n, nil
	}
	eof := err == io.EOF
	if !eof {
		if cerr := b.ctx.Err(); cerr != nil {
			err = cerr
		}
	}
	b.mu.Lock()
	if b.done { // closed while the read waited: the close released it
		err = b.err
		b.mu.Unlock()
		return n, err
	}
	b.done, b.err = true, err
	b.mu.Unlock()
	b.release(eof)
	return n, err
}

// Close implements io.Closer.
func (b *h1Body) Close() error {
	b.mu.Lock()
	if b.done {
		b.mu.Unlock()
		return nil
	}
	b.done, b.err = true, errBodyClosed
	b.mu.Unlock()
	b.release(false)
	return nil
}

// errBodyClosed is what reads of a closed body return, as net/http's.
var errBodyClosed = errors.New("http: read on closed response body")

// release gives the connection back: to the pool when the body was read
// to the end and the connection may be reused, else closed. The caller
// has set done, so it runs once.
func (b *h1Body) release(eof bool) {
	// stop reports false once the context's end has set the deadlines.
	if eof && b.stop() && b.reuse && b.c.br.Buffered() == 0 {
		b.t.put(b.c)
		return
	}
	b.stop()
	b.c.nc.Close()
}
