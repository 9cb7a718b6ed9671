package upstream_test

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/providers/internal/upstream"
)

func TestRedact(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, secret, in, want string
	}{
		{"no secret", "", "sk-1 here", "sk-1 here"},
		{"absent", "sk-1", "nothing", "nothing"},
		{"every occurrence", "sk-1", "sk-1 and sk-1", "[redacted] and [redacted]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := upstream.Redact(tt.secret, tt.in); got != tt.want {
				t.Errorf("Redact = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRedactErr(t *testing.T) {
	t.Parallel()
	plain := errors.New("refused")
	if got := upstream.RedactErr("sk-1", plain); got != plain {
		t.Errorf("an error without the secret was replaced: %v", got)
	}
	ue := &url.Error{Op: "Post", URL: "https://h/?key=sk-1", Err: plain}
	got := upstream.RedactErr("sk-1", ue)
	if strings.Contains(got.Error(), "sk-1") || !errors.Is(got, plain) {
		t.Errorf("url error = %v, want redacted and still wrapping", got)
	}
	got = upstream.RedactErr("sk-1", errors.New("proxy echoed sk-1"))
	if got.Error() != "proxy echoed [redacted]" {
		t.Errorf("text error = %v", got)
	}
}

func TestStatusMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		body   string
		max    int
		want   string
	}{
		{"empty body", 502, "", 512, "upstream returned 502 Bad Gateway"},
		{"html collapsed", 502, "<html>\n  <b>Bad</b>\tgateway</html>\n", 512, "upstream returned 502 Bad Gateway: <html> <b>Bad</b> gateway</html>"},
		{"unknown status", 599, "x", 512, "upstream returned 599: x"},
		{"cut at a rune", 500, strings.Repeat("é", 10), 5, "upstream returned 500 Internal Server Error: éé…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := upstream.StatusMessage(tt.status, []byte(tt.body), tt.max); got != tt.want {
				t.Errorf("StatusMessage = %q, want %q", got, tt.want)
			}
		})
	}
}

// body is a response body that counts Close calls.
type body struct {
	io.Reader
	closes int
}

func (b *body) Close() error { b.closes++; return nil }

func TestReadBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		limit   int64
		wantErr error
	}{
		{"within the limit", "hello", 5, nil},
		{"over the limit", "hello!", 5, upstream.ErrBodyTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := &body{Reader: strings.NewReader(tt.in)}
			got, err := upstream.ReadBody(&http.Response{Body: b, ContentLength: -1}, tt.limit)
			if !errors.Is(err, tt.wantErr) || (err == nil && string(got) != tt.in) || b.closes != 1 {
				t.Errorf("ReadBody = %q, %v (closes %d)", got, err, b.closes)
			}
		})
	}
}

func TestReadErrorBody(t *testing.T) {
	t.Parallel()
	b := &body{Reader: strings.NewReader("0123456789")}
	got, err := upstream.ReadErrorBody(&http.Response{Body: b}, 4)
	if err != nil || string(got) != "0123" || b.closes != 1 {
		t.Errorf("ReadErrorBody = %q, %v (closes %d)", got, err, b.closes)
	}
}

func TestStreamState(t *testing.T) {
	t.Parallel()
	var s upstream.StreamState
	b := &body{Reader: strings.NewReader("rest")}
	s.SetDone()
	for range 2 {
		if err := s.Release(b); err != nil {
			t.Fatal(err)
		}
	}
	if !s.Closed() || b.closes != 1 || b.Reader.(*strings.Reader).Len() != 0 {
		t.Errorf("closed %v, closes %d, left %d", s.Closed(), b.closes, b.Reader.(*strings.Reader).Len())
	}
}
