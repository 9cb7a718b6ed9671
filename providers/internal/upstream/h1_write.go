package upstream

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"golang.org/x/net/http/httpguts"
)

// writeRequest writes req as Request.Write does, with a lean writer for
// the requests the adapters make (a body in memory, no trailer, an ASCII
// host, header values without line breaks or surrounding white space):
// Request.Write sorts the header, formats the Host and User-Agent lines
// with fmt and wraps the body in a transfer writer, a few percent of the
// CPU of a proxied request. The lean writer writes the same lines (the
// header fields in map order: their order carries no meaning in HTTP);
// any other request goes through Request.Write. Like it, writeRequest
// closes the body.
func writeRequest(bw *bufio.Writer, req *http.Request) error {
	if !leanWritable(req) {
		return req.Write(bw)
	}
	if req.Body != nil {
		defer req.Body.Close()
	}
	bw.WriteString(req.Method)
	bw.WriteByte(' ')
	bw.WriteString(req.URL.RequestURI())
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(host(req))
	ua := defaultUserAgent
	if v, ok := req.Header["User-Agent"]; ok {
		ua = ""
		if len(v) > 0 {
			ua = v[0]
		}
	}
	if ua != "" {
		bw.WriteString("\r\nUser-Agent: ")
		bw.WriteString(ua)
	}
	if req.ContentLength > 0 || sendsZeroLength(req.Method) {
		bw.WriteString("\r\nContent-Length: ")
		var num [20]byte
		bw.Write(strconv.AppendInt(num[:0], req.ContentLength, 10))
	}
	bw.WriteString("\r\n")
	for k, vs := range req.Header {
		if k == "User-Agent" {
			continue
		}
		for _, v := range vs {
			bw.WriteString(k)
			bw.WriteString(": ")
			bw.WriteString(v)
			bw.WriteString("\r\n")
		}
	}
	if _, err := bw.WriteString("\r\n"); err != nil {
		return err
	}
	if req.ContentLength == 0 {
		return nil
	}
	n, err := io.Copy(bw, io.LimitReader(req.Body, req.ContentLength))
	if err != nil {
		return err
	}
	if n == req.ContentLength {
		// Request.Write reads the body to its end and refuses one longer.
		var extra int64
		if extra, err = io.Copy(io.Discard, req.Body); err != nil {
			return err
		}
		n += extra
	}
	if n != req.ContentLength {
		return fmt.Errorf("http: ContentLength=%d with Body length %d", req.ContentLength, n)
	}
	return nil
}

// defaultUserAgent is the User-Agent Request.Write sends when the request
// sets none.
const defaultUserAgent = "Go-http-client/1.1"

// sendsZeroLength reports whether Request.Write sends "Content-Length: 0"
// for a request of method without a body.
func sendsZeroLength(method string) bool {
	return method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch
}

// leanWritable reports whether writeRequest's lean writer writes req as
// Request.Write would.
func leanWritable(req *http.Request) bool {
	u := req.URL
	if u.Opaque != "" || req.Close || req.TransferEncoding != nil || req.Trailer != nil ||
		req.Method == http.MethodConnect || !httpguts.ValidHeaderFieldName(req.Method) || !asciiHost(host(req)) {
		return false
	}
	switch {
	case req.ContentLength > 0:
		// A body in memory (GetBody is set for those): Request.Write
		// flushes the header before it reads any other body.
		if req.Body == nil || req.Body == http.NoBody || req.GetBody == nil {
			return false
		}
	case req.ContentLength == 0:
		if req.Body != nil && req.Body != http.NoBody {
			return false // a body of unknown length: chunked
		}
	default:
		return false
	}
	for k, vs := range req.Header {
		switch k {
		case "Host", "Content-Length", "Transfer-Encoding", "Trailer", "Connection":
			return false
		}
		if !httpguts.ValidHeaderFieldName(k) {
			return false
		}
		if k == "User-Agent" && len(vs) > 1 {
			return false
		}
		for _, v := range vs {
			if !plainValue(v) {
				return false
			}
		}
	}
	return true
}

// host is the Host header's value: req.Host, else its URL's host.
func host(req *http.Request) string {
	if req.Host != "" {
		return req.Host
	}
	return req.URL.Host
}

// asciiHost reports whether h is a host (and port) of printable ASCII
// without spaces, slashes, an IPv6 zone or the like: what Request.Write
// sends as it is.
func asciiHost(h string) bool {
	if h == "" {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if c <= ' ' || c >= 0x7f || c == '/' || c == '?' || c == '#' || c == '@' || c == '\\' || c == '%' {
			return false
		}
	}
	return httpguts.ValidHostHeader(h)
}

// plainValue reports whether v needs none of Request.Write's clean-up:
// no line breaks, no white space at either end.
func plainValue(v string) bool {
	if v == "" {
		return true
	}
	if c := v[0]; c == ' ' || c == '\t' {
		return false
	}
	if c := v[len(v)-1]; c == ' ' || c == '\t' {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c == '\r' || c == '\n' {
			return false
		}
	}
	return true
}
