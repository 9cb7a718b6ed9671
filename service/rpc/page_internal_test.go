package rpc

import (
	"errors"
	"testing"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/service/gateway"
)

func TestPageTokens(t *testing.T) {
	t.Parallel()
	req := &tollgatev1.ListKeysRequest{TeamId: "search", PageSize: 10}
	tok := nextPageToken(req, "cursor:1", "bound")
	if tok == "" || tok == "cursor:1" {
		t.Fatalf("token %q", tok)
	}
	// The page size may change from page to page.
	p, err := readPage(&tollgatev1.ListKeysRequest{TeamId: "search", PageSize: 3, PageToken: tok}, "bound")
	if err != nil || p.After != "cursor:1" || p.Size != 3 {
		t.Fatalf("readPage = %+v, %v", p, err)
	}
	bad := []struct {
		name string
		req  listRequest
		bind []string
	}{
		{"other filter", &tollgatev1.ListKeysRequest{TeamId: "ads", PageToken: tok}, []string{"bound"}},
		{"other flag", &tollgatev1.ListKeysRequest{TeamId: "search", IncludeRevoked: true, PageToken: tok}, []string{"bound"}},
		{"other binding", &tollgatev1.ListKeysRequest{TeamId: "search", PageToken: tok}, []string{"other"}},
		{"no binding", &tollgatev1.ListKeysRequest{TeamId: "search", PageToken: tok}, nil},
		{"other listing", &tollgatev1.ListTeamsRequest{PageToken: tok}, []string{"bound"}},
		{"garbage", &tollgatev1.ListKeysRequest{TeamId: "search", PageToken: "garbage!"}, []string{"bound"}},
		{"base64 garbage", &tollgatev1.ListKeysRequest{TeamId: "search", PageToken: "Z2FyYmFnZS1nYXJiYWdlLWdhcmJhZ2U"}, []string{"bound"}},
		{"line break", &tollgatev1.ListKeysRequest{TeamId: "search", PageToken: tok[:5] + "\n" + tok[5:]}, []string{"bound"}},
		{"cut", &tollgatev1.ListKeysRequest{TeamId: "search", PageToken: tok[:len(tok)-1]}, []string{"bound"}},
		{"negative size", &tollgatev1.ListKeysRequest{TeamId: "search", PageSize: -1}, []string{"bound"}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := readPage(tt.req, tt.bind...)
			var inv *gateway.InvalidRequestError
			if !errors.As(err, &inv) {
				t.Fatalf("readPage: %v, want an invalid request", err)
			}
		})
	}
	if nextPageToken(req, "") != "" {
		t.Error("no cursor gave a token")
	}
	for in, want := range map[int32]int{0: defaultPageSize, 1: 1, maxPageSize: maxPageSize, maxPageSize + 1: maxPageSize} {
		if got, err := pageSize(in); err != nil || got != want {
			t.Errorf("pageSize(%d) = %d, %v; want %d", in, got, err, want)
		}
	}
}

func FuzzPageToken(f *testing.F) {
	req := &tollgatev1.ListTeamsRequest{}
	f.Add(nextPageToken(req, "t1"))
	f.Add("garbage")
	f.Fuzz(func(t *testing.T, tok string) {
		p, err := readPage(&tollgatev1.ListTeamsRequest{PageToken: tok})
		if err == nil && tok != "" && nextPageToken(req, p.After) != tok {
			t.Fatalf("token %q accepted with cursor %q, which encodes differently", tok, p.After)
		}
	})
}
