package bedrocktest

import (
	"encoding/binary"
	"hash/crc32"
)

// appendMessage appends one event-stream message, framed as AWS documents
// it ("Event stream encoding"): a 12-byte prelude (total length, headers
// length, both big-endian uint32, and the CRC32 of those 8 bytes), the
// headers, the payload, and the CRC32 of everything before it. Written
// here from the format's description rather than with the SDK's encoder,
// so that the adapter's decoder is checked against an independent
// encoding. Headers are strings (value type 7).
func appendMessage(dst []byte, headers [][2]string, payload []byte) []byte {
	hlen := 0
	for _, h := range headers {
		hlen += 1 + len(h[0]) + 1 + 2 + len(h[1])
	}
	total := 12 + hlen + len(payload) + 4
	start := len(dst)
	dst = binary.BigEndian.AppendUint32(dst, uint32(total))
	dst = binary.BigEndian.AppendUint32(dst, uint32(hlen))
	dst = binary.BigEndian.AppendUint32(dst, crc32.ChecksumIEEE(dst[start:start+8]))
	for _, h := range headers {
		dst = append(dst, byte(len(h[0])))
		dst = append(dst, h[0]...)
		dst = append(dst, 7)
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(h[1])))
		dst = append(dst, h[1]...)
	}
	dst = append(dst, payload...)
	return binary.BigEndian.AppendUint32(dst, crc32.ChecksumIEEE(dst[start:]))
}

// EventMessage returns an event message of type eventType with payload.
func EventMessage(eventType string, payload []byte) []byte {
	return appendMessage(nil, [][2]string{
		{":event-type", eventType}, {":content-type", "application/json"}, {":message-type", "event"},
	}, payload)
}

// ExceptionMessage returns an exception message of type exceptionType
// (e.g. "throttlingException") with payload {"message": ...}.
func ExceptionMessage(exceptionType string, payload []byte) []byte {
	return appendMessage(nil, [][2]string{
		{":exception-type", exceptionType}, {":content-type", "application/json"}, {":message-type", "exception"},
	}, payload)
}
