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
// so a long prompt or answer takes a few syscalls instead of dozens.
func NewHTTPClient() *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Client{Transport: newTracingTransport(&http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 10 * time.Minute, // unary answers of thinking models arrive only when done
		ExpectContinueTimeout: time.Second,
		WriteBufferSize:       32 << 10,
		ReadBufferSize:        32 << 10,
	})}
}
