// Package faultproxy is a TCP proxy for tests that injects network faults
// between a client and a server (typically a gateway and its Postgres):
// it forwards, refuses (closes every connection and each new one), or
// partitions silently (keeps every connection open and forwards nothing,
// as a dead link or a firewall dropping packets does, until it heals).
package faultproxy

import (
	"net"
	"net/url"
	"sync"
	"testing"
)

// Mode is how the proxy treats traffic.
type Mode int

// The modes.
const (
	// Forward copies bytes both ways.
	Forward Mode = iota
	// Refuse closes every connection, and each new one at once.
	Refuse
	// Partition keeps connections open and accepts new ones but forwards
	// nothing (nor connects new ones to the server) until the mode
	// changes; what was held back is then delivered.
	Partition
)

// Proxy is a running proxy. Its methods are safe for concurrent use.
type Proxy struct {
	ln     net.Listener
	target string

	mu      sync.Mutex
	mode    Mode
	changed chan struct{} // closed and replaced on every mode change
	conns   map[net.Conn]struct{}
	wg      sync.WaitGroup
}

// Start listens on a loopback port and forwards to target until the test
// ends.
func Start(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{ln: ln, target: target, changed: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	p.wg.Go(p.accept)
	t.Cleanup(p.Close)
	return p
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Via returns the URL dsn (a postgres:// or http:// URL) with its host
// and port replaced by the proxy's, and the proxy's target set to dsn's
// host and port when it has none.
func Via(t testing.TB, dsn string) (*Proxy, string) {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	p := Start(t, u.Host)
	u.Host = p.Addr()
	return p, u.String()
}

// Set changes the mode. Refuse closes every open connection.
func (p *Proxy) Set(m Mode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = m
	close(p.changed)
	p.changed = make(chan struct{})
	if m == Refuse {
		for c := range p.conns {
			_ = c.Close()
		}
	}
}

// Close stops the proxy and closes every connection.
func (p *Proxy) Close() {
	_ = p.ln.Close()
	p.Set(Refuse)
	p.wg.Wait()
}

// state returns the mode and a channel closed at the next change.
func (p *Proxy) state() (Mode, <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mode, p.changed
}

// waitForward blocks while the proxy is partitioned; it reports false once
// connections are to be refused.
func (p *Proxy) waitForward() bool {
	for {
		m, changed := p.state()
		switch m {
		case Forward:
			return true
		case Refuse:
			return false
		}
		<-changed
	}
}

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mode == Refuse {
		_ = c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.conns, c)
	_ = c.Close()
}

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.track(c) {
			continue
		}
		p.wg.Go(func() { p.serve(c) })
	}
}

func (p *Proxy) serve(client net.Conn) {
	defer p.untrack(client)
	if !p.waitForward() {
		return
	}
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	if !p.track(server) {
		return
	}
	defer p.untrack(server)
	var wg sync.WaitGroup
	wg.Go(func() { p.pipe(server, client) })
	wg.Go(func() { p.pipe(client, server) })
	wg.Wait()
}

// pipe copies src to dst, holding bytes back while partitioned.
func (p *Proxy) pipe(dst, src net.Conn) {
	defer func() {
		_ = dst.Close()
		_ = src.Close()
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.waitForward() {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
