package app

import (
	"context"
	"flag"
	"fmt"
	"slices"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	tollgate "github.com/tollgate-dev/tollgate/clients/go"
)

// maxPageSize is the largest page the gateway returns.
const maxPageSize = 1000

// pageFlags are the paging flags of every list command. A list command
// follows the pages of its List call until it has --limit results (all
// of them for 0) and prints them as one list; when it stops early it says
// on stderr how to go on (--page-token).
type pageFlags struct {
	limit    int
	pageSize int
	token    string
}

func (p *pageFlags) register(fs *flag.FlagSet, defaultLimit int) {
	what := "all"
	if defaultLimit > 0 {
		what = fmt.Sprint(defaultLimit)
	}
	fs.IntVar(&p.limit, "limit", defaultLimit, "at most this many results; 0 for all (default "+what+")")
	fs.IntVar(&p.pageSize, "page-size", 0, "results per call, at most 1000 (default: the gateway's, 100)")
	fs.StringVar(&p.token, "page-token", "", "start where an earlier list stopped (the token it printed)")
}

// apply checks the flags and sets the first call's page size and token on
// req, a List request.
func (p *pageFlags) apply(req proto.Message) error {
	if p.limit < 0 {
		return usageErrorf("--limit %d: want 0 (all) or more", p.limit)
	}
	if p.pageSize < 0 || p.pageSize > maxPageSize {
		return usageErrorf("--page-size %d: want 1 to %d", p.pageSize, maxPageSize)
	}
	setPage(req, p.nextSize(0), p.token)
	return nil
}

// nextSize is the page size to ask for when have results are in hand.
func (p *pageFlags) nextSize(have int) int {
	size := p.pageSize
	if p.limit > 0 {
		if size == 0 {
			size = maxPageSize
		}
		size = min(size, p.limit-have)
	}
	return size
}

// setPage sets a List request's page_size and page_token fields.
func setPage(req proto.Message, size int, token string) {
	m := req.ProtoReflect()
	fields := m.Descriptor().Fields()
	if size > 0 {
		m.Set(fields.ByName("page_size"), protoreflect.ValueOfInt32(int32(size)))
	} else {
		m.Clear(fields.ByName("page_size"))
	}
	if token != "" {
		m.Set(fields.ByName("page_token"), protoreflect.ValueOfString(token))
	} else {
		m.Clear(fields.ByName("page_token"))
	}
}

// isListRequest reports whether req is a List call's request.
func isListRequest(req proto.Message) bool {
	fields := req.ProtoReflect().Descriptor().Fields()
	return fields.ByName("page_token") != nil && fields.ByName("page_size") != nil
}

// followPages sends a List request page after page and returns one
// response holding the results of every page, at most p.limit of them
// (all for 0), with the next_page_token of the page after them ("" when
// there is none).
func followPages(ctx context.Context, c *tollgate.Client, req proto.Message, p pageFlags) (proto.Message, error) {
	var all protoreflect.Message
	var items, next protoreflect.FieldDescriptor
	for {
		resp, err := execute(ctx, c, req)
		if err != nil {
			return nil, err
		}
		r := resp.ProtoReflect()
		if all == nil {
			all = r.New()
			items, next = pageFields(r.Descriptor())
			if items == nil || next == nil {
				return nil, fmt.Errorf("response %s is not a page", r.Descriptor().FullName())
			}
		}
		dst, src := all.Mutable(items).List(), r.Get(items).List()
		for i := range src.Len() {
			dst.Append(src.Get(i))
		}
		token := r.Get(next).String()
		if token == "" || (p.limit > 0 && dst.Len() >= p.limit) {
			if token != "" {
				all.Set(next, protoreflect.ValueOfString(token))
			}
			return all.Interface(), nil
		}
		req = proto.Clone(req)
		setPage(req, p.nextSize(dst.Len()), token)
	}
}

// pageFields returns the repeated result field and next_page_token of a
// List response.
func pageFields(d protoreflect.MessageDescriptor) (items, next protoreflect.FieldDescriptor) {
	fields := d.Fields()
	for i := range fields.Len() {
		if f := fields.Get(i); f.IsList() && f.Kind() == protoreflect.MessageKind {
			items = f
		}
	}
	return items, fields.ByName("next_page_token")
}

// nextPageToken returns a List response's next_page_token ("" for others).
func nextPageToken(resp proto.Message) string {
	if f := resp.ProtoReflect().Descriptor().Fields().ByName("next_page_token"); f != nil {
		return resp.ProtoReflect().Get(f).String()
	}
	return ""
}

// updateMask returns the mask naming the fields whose flags were given:
// paths maps flag names to field paths.
func updateMask(fs *flag.FlagSet, paths map[string]string) *fieldmaskpb.FieldMask {
	m := &fieldmaskpb.FieldMask{}
	fs.Visit(func(f *flag.Flag) {
		if p, ok := paths[f.Name]; ok && !slices.Contains(m.Paths, p) {
			m.Paths = append(m.Paths, p)
		}
	})
	return m
}
