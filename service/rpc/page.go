package rpc

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/tollgate-dev/tollgate/service/store"
)

// Page sizes of every List call (AIP-158): 0 means defaultPageSize, more
// than maxPageSize means maxPageSize.
const (
	defaultPageSize = 100
	maxPageSize     = 1000
)

// pageSize validates a request's page_size.
func pageSize(n int32) (int, error) {
	switch {
	case n < 0:
		return 0, badParam("page_size", "must not be negative")
	case n == 0:
		return defaultPageSize, nil
	case n > maxPageSize:
		return maxPageSize, nil
	}
	return int(n), nil
}

// listRequest is a List call's request: every one has page_size and
// page_token fields.
type listRequest interface {
	proto.Message
	GetPageSize() int32
	GetPageToken() string
}

// Page tokens are opaque to clients: base64url of a version byte, the
// store's cursor and a checksum binding the cursor to the call and its
// filters. The checksum is a truncated SHA-256 over the request message's
// full name, its fields other than page_size and page_token (deterministic
// wire encoding), any extra binding (such as the team a virtual key is
// confined to) and the cursor. A token replayed with other filters, cut,
// altered or made up fails the check and the call fails with
// INVALID_ARGUMENT. Tokens are not secret and grant nothing: every call
// applies its own filters and authorisation again; the checksum keeps a
// client from silently paging one listing with another's position.
const (
	pageTokenVersion = 1
	pageTokenSumLen  = 12
)

var errBadPageToken = badParam("page_token", "is not a next_page_token of this listing with these filters")

// readPage returns the page a List request asks for. bind holds values
// that filter the listing but are not in the request.
func readPage(req listRequest, bind ...string) (store.Page, error) {
	size, err := pageSize(req.GetPageSize())
	if err != nil {
		return store.Page{}, err
	}
	p := store.Page{Size: size}
	if tok := req.GetPageToken(); tok != "" {
		if p.After, err = decodePageToken(req, tok, bind); err != nil {
			return store.Page{}, err
		}
	}
	return p, nil
}

// nextPageToken returns the next_page_token for the store's cursor of the
// next page ("" at the end).
func nextPageToken(req listRequest, cursor string, bind ...string) string {
	if cursor == "" {
		return ""
	}
	b := make([]byte, 0, 1+len(cursor)+pageTokenSumLen)
	b = append(b, pageTokenVersion)
	b = append(b, cursor...)
	b = append(b, pageTokenSum(req, cursor, bind)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodePageToken checks a page token against req and returns its cursor.
func decodePageToken(req listRequest, tok string, bind []string) (string, error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(tok)
	// The decoder skips line breaks, so a token is taken only in the one
	// spelling nextPageToken gives it.
	if err != nil || len(b) < 1+1+pageTokenSumLen || b[0] != pageTokenVersion ||
		base64.RawURLEncoding.EncodedLen(len(b)) != len(tok) {
		return "", errBadPageToken
	}
	cursor := string(b[1 : len(b)-pageTokenSumLen])
	if !bytes.Equal(b[len(b)-pageTokenSumLen:], pageTokenSum(req, cursor, bind)) {
		return "", errBadPageToken
	}
	return cursor, nil
}

// pageTokenSum is the checksum of a page token (see pageTokenVersion).
func pageTokenSum(req listRequest, cursor string, bind []string) []byte {
	filter := proto.Clone(req).ProtoReflect()
	clearField(filter, "page_size")
	clearField(filter, "page_token")
	fb, _ := proto.MarshalOptions{Deterministic: true}.Marshal(filter.Interface())
	h := sha256.New()
	for _, part := range append([]string{"tollgate page token", string(filter.Descriptor().FullName()), string(fb), cursor}, bind...) {
		// Length-prefixed, so that no two different inputs hash the same bytes.
		n := len(part)
		h.Write([]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
		h.Write([]byte(part))
	}
	return h.Sum(nil)[:pageTokenSumLen]
}

func clearField(m protoreflect.Message, name protoreflect.Name) {
	if f := m.Descriptor().Fields().ByName(name); f != nil {
		m.Clear(f)
	}
}
