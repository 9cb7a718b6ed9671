package upstream

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// TestWriteRequest: what writeRequest writes reads back (http.ReadRequest)
// as the same request Request.Write writes, for the requests the lean
// writer takes and those it leaves to Request.Write; errors are the same.
func TestWriteRequest(t *testing.T) {
	t.Parallel()
	body := func(s string) io.ReadCloser { return io.NopCloser(strings.NewReader(s)) }
	tests := []struct {
		name string
		make func() *http.Request
		lean bool
	}{
		{"post with a body", func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:8080/v1/chat/completions?api-version=1", bytes.NewReader([]byte(`{"model":"m"}`)))
			r.Header["Content-Type"] = []string{"application/json"}
			r.Header["Authorization"] = []string{"Bearer sk-x"}
			r.Header["X-Multi"] = []string{"a", "b", ""}
			return r
		}, true},
		{"get", func() *http.Request {
			r, _ := http.NewRequest(http.MethodGet, "http://up.internal/v1/models", nil)
			return r
		}, true},
		{"delete without a body", func() *http.Request {
			r, _ := http.NewRequest(http.MethodDelete, "http://up.internal/v1/responses/r1", nil)
			return r
		}, true},
		{"post without a body", func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, "http://up.internal/v1/x", http.NoBody)
			return r
		}, true},
		{"user agent set", func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, "http://[::1]:9/p", strings.NewReader("x"))
			r.Header["User-Agent"] = []string{"tollgate"}
			return r
		}, true},
		{"user agent empty", func() *http.Request {
			r, _ := http.NewRequest(http.MethodGet, "http://h/p", nil)
			r.Header["User-Agent"] = []string{""}
			return r
		}, true},
		{"value with a line break", func() *http.Request {
			r, _ := http.NewRequest(http.MethodGet, "http://h/p", nil)
			r.Header["X-A"] = []string{"a\r\nX-Injected: 1"}
			return r
		}, false},
		{"value with surrounding space", func() *http.Request {
			r, _ := http.NewRequest(http.MethodGet, "http://h/p", nil)
			r.Header["X-A"] = []string{" a "}
			return r
		}, false},
		{"invalid field name", func() *http.Request {
			r, _ := http.NewRequest(http.MethodGet, "http://h/p", nil)
			r.Header["X A"] = []string{"a"}
			return r
		}, false},
		{"host override", func() *http.Request {
			r, _ := http.NewRequest(http.MethodGet, "http://h/p", nil)
			r.Host = "other"
			return r
		}, true},
		{"IPv6 zone", func() *http.Request {
			r, _ := http.NewRequest(http.MethodGet, "http://[fe80::1%25eth0]:80/p", nil)
			return r
		}, false},
		{"non-ASCII host", func() *http.Request {
			r, _ := http.NewRequest(http.MethodGet, "http://bücher.example/p", nil)
			return r
		}, false},
		{"unknown length", func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, "http://h/p", body("streamed"))
			return r
		}, false},
		{"close", func() *http.Request {
			r, _ := http.NewRequest(http.MethodGet, "http://h/p", nil)
			r.Close = true
			return r
		}, false},
		{"body shorter than its length", func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, "http://h/p", strings.NewReader("abc"))
			r.ContentLength = 5
			return r
		}, true},
		{"body longer than its length", func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, "http://h/p", strings.NewReader("abcdef"))
			r.ContentLength = 5
			return r
		}, true},
		{"body not in memory", func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, "http://h/p", body("abc"))
			r.ContentLength = 3
			return r
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := leanWritable(tt.make()); got != tt.lean {
				t.Fatalf("leanWritable = %v, want %v", got, tt.lean)
			}
			var lean, std bytes.Buffer
			bw := bufio.NewWriter(&lean)
			lerr := writeRequest(bw, tt.make())
			bw.Flush()
			serr := tt.make().Write(&std)
			if (lerr == nil) != (serr == nil) || lerr != nil && lerr.Error() != serr.Error() {
				t.Fatalf("writeRequest: %v; Request.Write: %v", lerr, serr)
			}
			if lerr != nil {
				return
			}
			if lean.Len() != std.Len() {
				t.Errorf("%d bytes, Request.Write %d:\n%q\n%q", lean.Len(), std.Len(), lean.String(), std.String())
			}
			l, s := readBack(t, lean.Bytes()), readBack(t, std.Bytes())
			if !reflect.DeepEqual(l, s) {
				t.Errorf("reads back as\n%+v\nRequest.Write's as\n%+v", l, s)
			}
		})
	}
}

// wireRequest is what a server reads of a request.
type wireRequest struct {
	Method, RequestURI, Host string
	Header                   http.Header
	ContentLength            int64
	Body                     string
}

func readBack(t *testing.T, raw []byte) wireRequest {
	t.Helper()
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatalf("read back %q: %v", raw, err)
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return wireRequest{r.Method, r.RequestURI, r.Host, r.Header, r.ContentLength, string(b)}
}

// BenchmarkWriteRequest compares the lean writer with Request.Write on
// an adapter's chat request.
func BenchmarkWriteRequest(b *testing.B) {
	payload := bytes.Repeat([]byte("x"), 300)
	req := func() *http.Request {
		r, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:8080/v1/chat/completions", bytes.NewReader(payload))
		r.Header["Content-Type"] = []string{"application/json"}
		r.Header["Accept"] = []string{"application/json"}
		r.Header["Authorization"] = []string{"Bearer sk-0123456789"}
		r.Header["X-Request-Id"] = []string{"req_0123456789abcdef"}
		return r
	}
	bw := bufio.NewWriterSize(io.Discard, 32<<10)
	for _, bc := range []struct {
		name  string
		write func(*http.Request) error
	}{
		{"lean", func(r *http.Request) error { return writeRequest(bw, r) }},
		{"std", func(r *http.Request) error { return r.Write(bw) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				r := req()
				b.StartTimer()
				if err := bc.write(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// FuzzWriteRequest checks that whatever header, method and target a
// request has, writeRequest writes what Request.Write writes (read back),
// or fails as it does.
func FuzzWriteRequest(f *testing.F) {
	f.Add("POST", "/v1/chat/completions", "Authorization", "Bearer x", "{}")
	f.Add("GET", "/v1/models?x=1", "X-A", " padded ", "")
	f.Add("DELETE", "/v1/responses/r", "X\tB", "a\r\nb", "")
	f.Fuzz(func(t *testing.T, method, target, key, value, body string) {
		build := func() *http.Request {
			var rd io.Reader
			if body != "" {
				rd = strings.NewReader(body)
			}
			r, err := http.NewRequest(method, "http://127.0.0.1:8080"+target, rd)
			if err != nil {
				return nil
			}
			r.Header[key] = []string{value}
			return r
		}
		r := build()
		if r == nil {
			return
		}
		var lean, std bytes.Buffer
		bw := bufio.NewWriter(&lean)
		lerr := writeRequest(bw, r)
		bw.Flush()
		serr := build().Write(&std)
		if (lerr == nil) != (serr == nil) {
			t.Fatalf("writeRequest: %v; Request.Write: %v", lerr, serr)
		}
		if lerr != nil || lean.Len() != std.Len() {
			if lerr == nil {
				t.Fatalf("%d bytes, Request.Write %d:\n%q\n%q", lean.Len(), std.Len(), lean.String(), std.String())
			}
			return
		}
		l, lrerr := http.ReadRequest(bufio.NewReader(bytes.NewReader(lean.Bytes())))
		s, srerr := http.ReadRequest(bufio.NewReader(bytes.NewReader(std.Bytes())))
		if (lrerr == nil) != (srerr == nil) {
			t.Fatalf("read back: %v; Request.Write's: %v", lrerr, srerr)
		}
		if lrerr == nil && (l.Method != s.Method || l.RequestURI != s.RequestURI || l.Host != s.Host || !reflect.DeepEqual(l.Header, s.Header)) {
			t.Fatalf("reads back as %+v\nRequest.Write's as %+v", l, s)
		}
	})
}
