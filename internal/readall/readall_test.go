package readall

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestRead(t *testing.T) {
	body := strings.Repeat("0123456789", 1000) // 10,000 bytes
	boom := errors.New("boom")
	tests := []struct {
		name        string
		r           io.Reader
		size, limit int64
		want        string
		wantErr     error
	}{
		{"declared", strings.NewReader(body), int64(len(body)), 0, body, nil},
		{"declared, one byte at a time", iotest.OneByteReader(strings.NewReader(body)), int64(len(body)), 0, body, nil},
		{"unknown", strings.NewReader(body), -1, 0, body, nil},
		{"declared too short", strings.NewReader(body), 10, 0, body, nil},
		{"declared too long", strings.NewReader(body), 1 << 40, 0, body, nil},
		{"empty", strings.NewReader(""), 0, 0, "", nil},
		{"at the limit", strings.NewReader(body), -1, int64(len(body)), body, nil},
		{"over the limit", strings.NewReader(body), -1, int64(len(body)) - 1, "", ErrTooLarge},
		{"over the limit, declared", strings.NewReader(body), int64(len(body)), 100, "", ErrTooLarge},
		{"data then EOF in one read", iotest.DataErrReader(strings.NewReader(body)), int64(len(body)), 0, body, nil},
		{"failed read", io.MultiReader(strings.NewReader("abc"), iotest.ErrReader(boom)), 10, 0, "abc", boom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Read(tt.r, tt.size, tt.limit)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if string(got) != tt.want {
				t.Fatalf("read %d bytes, want %d", len(got), len(tt.want))
			}
		})
	}
}

// TestReadLimitReadsAtMostOneByteMore checks that a body over the limit is
// not read further than it takes to know.
func TestReadLimitReadsAtMostOneByteMore(t *testing.T) {
	r := &countingReader{r: strings.NewReader(strings.Repeat("x", 1<<16))}
	if _, err := Read(r, -1, 100); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	if r.n != 101 {
		t.Fatalf("read %d bytes, want 101", r.n)
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// TestReadDeclaredIsOneAllocation checks the point of the package: a body
// of its declared length costs one allocation.
func TestReadDeclaredIsOneAllocation(t *testing.T) {
	body := []byte(strings.Repeat("x", 600))
	r := bytes.NewReader(body)
	allocs := testing.AllocsPerRun(100, func() {
		r.Reset(body)
		if _, err := Read(r, int64(len(body)), 1<<20); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 1 {
		t.Fatalf("%v allocations per read, want 1", allocs)
	}
}
