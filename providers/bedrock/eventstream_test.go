package bedrock

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/providers/bedrock/bedrocktest"
)

// body returns a ConverseStream body of n text deltas framed by the fake's
// own encoder (written from AWS's description of the format).
func body(n int) []byte {
	var b []byte
	b = append(b, bedrocktest.EventMessage("messageStart", []byte(`{"p":"abc","role":"assistant"}`))...)
	for range n {
		b = append(b, bedrocktest.EventMessage("contentBlockDelta", []byte(`{"contentBlockIndex":0,"delta":{"text":"Hello, world! "},"p":"abcdefghijkl"}`))...)
	}
	b = append(b, bedrocktest.EventMessage("contentBlockStop", []byte(`{"contentBlockIndex":0,"p":"ab"}`))...)
	b = append(b, bedrocktest.EventMessage("messageStop", []byte(`{"p":"abcd","stopReason":"end_turn"}`))...)
	b = append(b, bedrocktest.EventMessage("metadata", []byte(`{"metrics":{"latencyMs":1},"p":"a","usage":{"inputTokens":3,"outputTokens":5,"totalTokens":8}}`))...)
	return b
}

// TestEventReaderReadsTheFakesFraming: the SDK's decoder reads messages
// framed independently, header by header; a flipped bit anywhere is a
// checksum error; a cut body is an unexpected end.
func TestEventReaderReadsTheFakesFraming(t *testing.T) {
	t.Parallel()
	raw := body(2)
	er := NewEventReader(bytes.NewReader(raw))
	var types []string
	for {
		ev, err := er.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if ev.MessageType != "event" {
			t.Fatalf("message type %q", ev.MessageType)
		}
		types = append(types, ev.Type)
	}
	if got := strings.Join(types, ","); got != "messageStart,contentBlockDelta,contentBlockDelta,contentBlockStop,messageStop,metadata" {
		t.Fatalf("events %s", got)
	}
	for _, at := range []int{2, 9, 20, 60, len(raw) - 1} {
		bad := bytes.Clone(raw)
		bad[at] ^= 0x10
		er := NewEventReader(bytes.NewReader(bad))
		var err error
		for err == nil {
			_, err = er.Next()
		}
		if errors.Is(err, io.EOF) {
			t.Errorf("a flipped bit at %d went unnoticed", at)
		}
	}
	er = NewEventReader(bytes.NewReader(raw[:len(raw)-7]))
	var err error
	for err == nil {
		_, err = er.Next()
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		t.Errorf("cut body: %v", err)
	}
}

// TestStreamEndsEarly: a body that ends before messageStop is an error,
// not a complete answer.
func TestStreamEndsEarly(t *testing.T) {
	t.Parallel()
	raw := body(1)
	cut := bedrocktest.EventMessage("messageStart", []byte(`{"role":"assistant"}`))
	for _, b := range [][]byte{cut, raw[:len(raw)-3]} {
		s := &stream{p: &Provider{id: "p"}, body: io.NopCloser(bytes.NewReader(b)), events: NewEventReader(bytes.NewReader(b))}
		var err error
		for err == nil {
			_, err = s.Recv()
		}
		var pe *providers.Error
		if !errors.As(err, &pe) || pe.Kind != providers.KindConnection {
			t.Errorf("early end: %v", err)
		}
	}
}

// FuzzEventReader feeds arbitrary bytes to the reader and the stream: they
// must end in an error or io.EOF, never panic, and never return a payload
// larger than the body.
func FuzzEventReader(f *testing.F) {
	f.Add(body(1))
	f.Add(bedrocktest.ExceptionMessage("throttlingException", []byte(`{"message":"slow down"}`)))
	f.Add(body(3)[:50])
	f.Add([]byte{0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		er := NewEventReader(bytes.NewReader(b))
		for range len(b) + 1 {
			ev, err := er.Next()
			if err != nil {
				break
			}
			if len(ev.Payload) > len(b) {
				t.Fatalf("payload of %d bytes from a body of %d", len(ev.Payload), len(b))
			}
		}
		s := &stream{p: &Provider{id: "p"}, body: io.NopCloser(bytes.NewReader(b)), events: NewEventReader(bytes.NewReader(b))}
		for range len(b) + 2 {
			if _, err := s.Recv(); err != nil {
				return
			}
		}
		t.Fatal("the stream did not end")
	})
}

// BenchmarkEventDecode reports the cost of one content event: framing
// alone (prelude and message CRCs, headers) and the whole Recv (framing,
// JSON payload, chunk).
func BenchmarkEventDecode(b *testing.B) {
	const n = 1000
	raw := body(n)
	events := float64(n + 4)
	b.Run("framing", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		b.ReportAllocs()
		for b.Loop() {
			er := NewEventReader(bytes.NewReader(raw))
			for {
				if _, err := er.Next(); err != nil {
					break
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/events, "ns/event")
	})
	b.Run("recv", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		b.ReportAllocs()
		p := &Provider{id: "p"}
		for b.Loop() {
			s := &stream{p: p, body: io.NopCloser(bytes.NewReader(raw)), events: NewEventReader(bytes.NewReader(raw))}
			for {
				if _, err := s.Recv(); err != nil {
					break
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/events, "ns/event")
	})
}
