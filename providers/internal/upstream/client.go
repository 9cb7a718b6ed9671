package upstream

import (
	"net"
	"net/http"
	"time"
)

// NewHTTPClient returns the client an adapter uses when its config names
// none. It is tuned for many concurrent long-lived requests: bounded dial,
// TLS and header waits, and no overall timeout, so that streams last as
// long as the request's context allows.
func NewHTTPClient() *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 10 * time.Minute, // unary answers of thinking models arrive only when done
		ExpectContinueTimeout: time.Second,
	}}
}
