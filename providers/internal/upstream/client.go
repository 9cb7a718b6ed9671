package upstream

import (
	"net"
	"net/http"
	"time"
)

// NewHTTPClient returns the client an adapter uses when its config names
// none. It is tuned for many concurrent long-lived requests: bounded dial,
// TLS and header waits, and no overall timeout, so that streams last as
// long as the request's context allows (the engine bounds each attempt).
// Connections are kept for reuse (up to 256 idle per upstream host), and
// reads and writes go through 32 KiB buffers rather than net/http's 4 KiB,
// so a long prompt or answer takes a few syscalls instead of dozens (on
// plain HTTP the buffers are held only while a request uses the
// connection, not by idle ones).
// Plain-HTTP upstreams (self-hosted servers, sidecars) are called from the
// caller's goroutine (h1Transport); HTTPS, proxied requests and upgrades
// go through net/http's Transport, which may negotiate HTTP/2.
func NewHTTPClient() *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	const (
		maxIdlePerHost = 256
		idleTimeout    = 90 * time.Second
		headerTimeout  = 10 * time.Minute // unary answers of thinking models arrive only when done
		bufSize        = 32 << 10
	)
	std := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   maxIdlePerHost,
		IdleConnTimeout:       idleTimeout,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: headerTimeout,
		ExpectContinueTimeout: time.Second,
		WriteBufferSize:       bufSize,
		ReadBufferSize:        bufSize,
	}
	return &http.Client{Transport: newTracingTransport(&h1Transport{
		dial: dialer.DialContext, next: std, proxy: http.ProxyFromEnvironment,
		maxIdle: maxIdlePerHost, idleTimeout: idleTimeout, peekAfter: time.Second, headerTimeout: headerTimeout, bufSize: bufSize,
	})}
}
