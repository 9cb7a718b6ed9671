package server_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// hugeLineUpstream streams an OpenAI chat completion whose event is one
// data line of n bytes without a newline, after `before` ordinary chunks.
// It counts the bytes the gateway accepted.
func hugeLineUpstream(t *testing.T, n int64, before int) (string, *atomic.Int64) {
	t.Helper()
	var sent atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		for range before {
			_, _ = io.WriteString(w, `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"ok "},"finish_reason":null}]}`+"\n\n")
		}
		_, _ = io.WriteString(w, `data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"`)
		chunk := []byte(strings.Repeat("x", 64<<10))
		for left := n; left > 0; left -= int64(len(chunk)) {
			m, err := w.Write(chunk[:min(int64(len(chunk)), left)])
			sent.Add(int64(m))
			if err != nil {
				return // the gateway gave up on the line
			}
		}
	}))
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
	})
	return srv.URL + "/v1", &sent
}

// peakRSS returns a process's peak resident set (VmHWM) in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal(errors.New("no VmHWM"))
	return 0
}

// TestHugeSSELineBoundedMemory sends a 256 MB SSE line (no newline)
// through the real binary: the gateway stops reading it at its event bound
// and answers with an error (an error event once the stream has started),
// and its peak RSS grows by less than 24 MB over what it was before the
// request (17 MB measured; the whole line would be 256 MB) and stays under
// 72 MB (the idle process is 43–50 MB, the OpenTelemetry SDK and
// exporters included).
func TestHugeSSELineBoundedMemory(t *testing.T) {
	t.Parallel()
	gw := startBinary(t)
	url, sent := hugeLineUpstream(t, 256<<20, 2)
	key := gw.Setup(t, url)

	before := peakRSS(t, gw.pid)
	t.Logf("peak RSS before: %d MB", before>>20)
	status, body := post(t, gw.URL, "/v1/chat/completions", key, oaiStream, false)
	if status != http.StatusOK || !strings.Contains(body, `"content":"ok "`) || !strings.Contains(body, "line too long") {
		t.Errorf("stream with a huge line after two chunks: %d %.500s, want the chunks then an error event", status, body)
	}
	if hwm := peakRSS(t, gw.pid); hwm-before >= 24<<20 || hwm >= 72<<20 {
		t.Errorf("peak RSS %d MB (%d MB before), want less than 24 MB more and under 72 MB", hwm>>20, before>>20)
	} else {
		t.Logf("peak RSS %d MB; the upstream got %d MB of the 256 MB line accepted", hwm>>20, sent.Load()>>20)
	}
	if sent.Load() >= 256<<20 {
		t.Errorf("the gateway read the whole line")
	}
}
