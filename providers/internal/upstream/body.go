package upstream

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tollgate-dev/tollgate/internal/readall"
)

// ErrBodyTooLarge is returned by [ReadBody] for a body over its limit.
var ErrBodyTooLarge = errors.New("response body too large")

// ReadBody reads a whole response body of at most limit bytes and closes
// it. A longer body fails with ErrBodyTooLarge; a failed read returns the
// transport error.
func ReadBody(resp *http.Response, limit int64) ([]byte, error) {
	defer resp.Body.Close()
	b, err := readall.Read(resp.Body, resp.ContentLength, limit)
	if errors.Is(err, readall.ErrTooLarge) {
		return nil, ErrBodyTooLarge
	}
	if err != nil {
		return nil, err
	}
	return b, nil
}

// ReadErrorBody reads at most limit bytes of the body of an error response
// and closes it; the rest is discarded with the connection. On a failed
// read it returns what was read with the error: a partial error body is
// still worth showing.
func ReadErrorBody(resp *http.Response, limit int64) ([]byte, error) {
	defer resp.Body.Close()
	return io.ReadAll(io.LimitReader(resp.Body, limit))
}

// OneLine makes a one-line message of an upstream body that is not a JSON
// error object (an HTML page from a proxy, plain text): invalid UTF-8 is
// dropped, runs of white space become one space, and text longer than max
// bytes is cut at a rune boundary and ends with "…".
func OneLine(body []byte, max int) string {
	text := strings.Join(strings.Fields(string(bytes.ToValidUTF8(body, nil))), " ")
	if len(text) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut] + "…"
	}
	return text
}

// StatusMessage makes the message of a non-2xx answer whose body is not a
// JSON error object: "upstream returned 502 Bad Gateway", followed by ": "
// and the body as [OneLine] makes it, if it has any text.
func StatusMessage(status int, body []byte, max int) string {
	prefix := "upstream returned " + strconv.Itoa(status)
	if t := http.StatusText(status); t != "" {
		prefix += " " + t
	}
	if text := OneLine(body, max); text != "" {
		return prefix + ": " + text
	}
	return prefix
}
