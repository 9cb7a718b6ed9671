package openai

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// A passed-through stream carries every event's bytes, as sent, on the
// chunks ("[DONE]" is the surface's to write), with the canonical reading
// alongside.
func TestStreamRaw(t *testing.T) {
	t.Parallel()
	body := readFixture(t, "stream_tool_calls.sse")
	s, _ := newTestStream(newTestProvider(t, nil), bytes.NewReader(body))
	s.raw = true
	s.sse.KeepRaw(true)
	var raw []byte
	var usage bool
	for {
		c, err := s.Recv() // Raw is valid until the next Recv
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Raw) == 0 {
			t.Errorf("chunk without bytes: %+v", c)
		}
		raw = append(raw, c.Raw...)
		usage = usage || c.Usage != nil
	}
	rest, ok := bytes.CutPrefix(body, raw)
	if !ok || strings.TrimSpace(string(rest)) != "data: [DONE]" {
		t.Errorf("raw bytes are not the upstream's:\n%s\nwant\n%s", raw, body)
	}
	if !usage {
		t.Error("canonical reading lost the usage")
	}
}
