package upstream

import (
	"errors"
	"io"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tollgate-dev/tollgate/providers"
)

// TestIdleBody: the wait for the first bytes is not bounded by the chunk
// timeout; a gap after them is, and ends in a KindTimeout read error.
func TestIdleBody(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pr, pw := io.Pipe()
		b := newIdleBody(pr, time.Second)
		go func() {
			time.Sleep(5 * time.Second) // longer than the bound: the first bytes are not its business
			_, _ = pw.Write([]byte("data: a\n\n"))
			time.Sleep(500 * time.Millisecond) // within the bound
			_, _ = pw.Write([]byte("data: b\n\n"))
			// then nothing
		}()
		buf := make([]byte, 64)
		for _, want := range []string{"data: a\n\n", "data: b\n\n"} {
			n, err := b.Read(buf)
			if err != nil || string(buf[:n]) != want {
				t.Fatalf("Read = %q, %v; want %q", buf[:n], err, want)
			}
		}
		start := time.Now()
		_, err := b.Read(buf)
		var cte *ChunkTimeoutError
		if !errors.As(err, &cte) || time.Since(start) != time.Second {
			t.Fatalf("Read after a gap = %v after %v, want a chunk timeout after 1s", err, time.Since(start))
		}
		var pe *providers.Error
		if !errors.As(ReadError("p", "", err), &pe) || pe.Kind != providers.KindTimeout {
			t.Fatalf("ReadError = %v, want KindTimeout", ReadError("p", "", err))
		}
		_ = pw.Close()
	})
}
