package gateway

import (
	"encoding/base32"
	"encoding/binary"
	"math/rand/v2"
	"time"
)

var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// NewRequestID returns a unique, roughly time-ordered request id such as
// "req_06bx1j9pwm3k8d2q4n7r5t0v". It costs one small allocation.
func NewRequestID() string {
	var b [15]byte
	binary.BigEndian.PutUint64(b[:8], uint64(time.Now().UnixMilli())<<16)
	var r [8]byte
	binary.BigEndian.PutUint64(r[:], rand.Uint64())
	copy(b[6:], r[:])
	b[14] ^= byte(rand.Uint32())
	var out [4 + 24]byte
	copy(out[:], "req_")
	idEncoding.Encode(out[4:], b[:])
	return string(out[:])
}
