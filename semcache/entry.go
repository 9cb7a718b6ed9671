package semcache

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"

	"github.com/tollgate-dev/tollgate/providers"
)

// bodyVersion is the version of the stored body encoding; entries of other
// versions are treated as misses.
const bodyVersion = 1

// Errors of Put and PutStream. The engine may ignore them: they only say
// why a response was not cached.
var (
	// ErrIncomplete reports a stream that did not finish every choice; only
	// complete streams are stored.
	ErrIncomplete = errors.New("semcache: incomplete stream")
	// ErrNotCacheable reports a response that must not be replayed (a
	// choice ended in error or content_filter, or there are no choices).
	ErrNotCacheable = errors.New("semcache: response not cacheable")
	// ErrTooLarge reports an entry over the size limit (see [WithMaxEntryBytes]).
	ErrTooLarge = errors.New("semcache: entry too large")
)

// body is the stored form of an entry.
type body struct {
	V        int                     `json:"v"`
	Response *providers.ChatResponse `json:"response"`
	// Chunks are the original stream, when the entry came from one.
	Chunks []providers.Chunk `json:"chunks,omitempty"`
}

func encodeBody(resp *providers.ChatResponse, chunks []providers.Chunk) ([]byte, error) {
	b, err := json.Marshal(body{V: bodyVersion, Response: resp, Chunks: chunks})
	if err != nil {
		return nil, fmt.Errorf("semcache: encode entry: %w", err)
	}
	return b, nil
}

func decodeBody(b []byte) (*body, error) {
	var d body
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("semcache: decode entry: %w", err)
	}
	if d.V != bodyVersion || d.Response == nil {
		return nil, fmt.Errorf("semcache: entry version %d: %w", d.V, ErrNotCacheable)
	}
	return &d, nil
}

// checkResponse reports whether resp may be stored.
func checkResponse(resp *providers.ChatResponse) error {
	if resp == nil || len(resp.Choices) == 0 {
		return ErrNotCacheable
	}
	for _, c := range resp.Choices {
		switch c.FinishReason {
		case providers.FinishStop, providers.FinishLength, providers.FinishToolCalls:
		case "":
			return ErrIncomplete
		default:
			return fmt.Errorf("finish reason %q: %w", c.FinishReason, ErrNotCacheable)
		}
	}
	return nil
}

// assemble folds a complete stream into the response it stands for.
func assemble(chunks []providers.Chunk) *providers.ChatResponse {
	resp := &providers.ChatResponse{}
	type acc struct {
		choice    providers.Choice
		text      []byte
		reasoning []byte
		signature string
		calls     []providers.ToolCall
	}
	var accs []*acc
	get := func(i int) *acc {
		for len(accs) <= i {
			accs = append(accs, &acc{choice: providers.Choice{Index: len(accs), Message: providers.Message{Role: providers.RoleAssistant}}})
		}
		return accs[i]
	}
	for i := range chunks {
		ch := &chunks[i]
		if resp.ID == "" {
			resp.ID = ch.ID
		}
		if resp.Model == "" {
			resp.Model = ch.Model
		}
		if ch.Usage != nil {
			resp.Usage = *ch.Usage
		}
		for _, d := range ch.Choices {
			if d.Index < 0 || d.Index > 1024 {
				continue
			}
			a := get(d.Index)
			if d.Role != "" {
				a.choice.Message.Role = d.Role
			}
			a.text = append(a.text, d.Text...)
			a.reasoning = append(a.reasoning, d.Reasoning...)
			if d.ReasoningSignature != "" {
				a.signature = d.ReasoningSignature
			}
			for _, tc := range d.ToolCalls {
				if tc.Index < 0 || tc.Index > 1024 {
					continue
				}
				for len(a.calls) <= tc.Index {
					a.calls = append(a.calls, providers.ToolCall{})
				}
				c := &a.calls[tc.Index]
				if tc.ID != "" {
					c.ID = tc.ID
				}
				if tc.Name != "" {
					c.Name = tc.Name
				}
				c.Arguments += tc.Arguments
			}
			if d.FinishReason != "" {
				a.choice.FinishReason = d.FinishReason
			}
		}
	}
	for _, a := range accs {
		m := &a.choice.Message
		if len(a.reasoning) > 0 || a.signature != "" {
			m.Content = append(m.Content, providers.Part{Type: providers.PartReasoning, Text: string(a.reasoning), Signature: a.signature})
		}
		if len(a.text) > 0 {
			m.Content = append(m.Content, providers.TextPart(string(a.text)))
		}
		m.ToolCalls = a.calls
		resp.Choices = append(resp.Choices, a.choice)
	}
	return resp
}

// synthesize turns a complete response into the stream a live upstream
// would have sent: per choice a role delta, the reasoning, the text, the
// tool calls (name first, then arguments) and the finish reason, and a last
// chunk with the usage.
func synthesize(resp *providers.ChatResponse) []providers.Chunk {
	var out []providers.Chunk
	add := func(d providers.ChoiceDelta) {
		out = append(out, providers.Chunk{ID: resp.ID, Model: resp.Model, Choices: []providers.ChoiceDelta{d}})
	}
	for _, c := range resp.Choices {
		role := c.Message.Role
		if role == "" {
			role = providers.RoleAssistant
		}
		add(providers.ChoiceDelta{Index: c.Index, Role: role})
		for _, p := range c.Message.Content {
			switch p.Type {
			case providers.PartReasoning:
				add(providers.ChoiceDelta{Index: c.Index, Reasoning: p.Text, ReasoningSignature: p.Signature})
			case providers.PartText:
				for _, piece := range splitText(p.Text) {
					add(providers.ChoiceDelta{Index: c.Index, Text: piece})
				}
			}
		}
		for i, tc := range c.Message.ToolCalls {
			add(providers.ChoiceDelta{Index: c.Index, ToolCalls: []providers.ToolCallDelta{{Index: i, ID: tc.ID, Name: tc.Name}}})
			if tc.Arguments != "" {
				add(providers.ChoiceDelta{Index: c.Index, ToolCalls: []providers.ToolCallDelta{{Index: i, Arguments: tc.Arguments}}})
			}
		}
		add(providers.ChoiceDelta{Index: c.Index, FinishReason: c.FinishReason})
	}
	u := resp.Usage
	out = append(out, providers.Chunk{ID: resp.ID, Model: resp.Model, Usage: &u})
	return out
}

// synthPiece is the approximate size of the text deltas synthesize makes.
const synthPiece = 16

// splitText splits s into pieces of about synthPiece bytes at word
// boundaries, the way upstreams stream tokens.
func splitText(s string) []string {
	var out []string
	for len(s) > synthPiece {
		cut := synthPiece
		for cut < len(s) && s[cut] != ' ' {
			cut++
		}
		out = append(out, s[:cut])
		s = s[cut:]
	}
	if s != "" {
		out = append(out, s)
	}
	return out
}

// copyChunk returns a copy of ch that shares no slices or pointers with it.
func copyChunk(ch *providers.Chunk) providers.Chunk {
	c := *ch
	c.Raw = nil // valid only until the stream's next chunk, and in one dialect
	c.Choices = slices.Clone(ch.Choices)
	for i := range c.Choices {
		c.Choices[i].ToolCalls = slices.Clone(c.Choices[i].ToolCalls)
	}
	if ch.Usage != nil {
		u := *ch.Usage
		c.Usage = &u
	}
	return c
}

// Hit is a cached answer. Its values are the caller's own: the cache keeps
// no reference to them.
type Hit struct {
	// Response is the cached response. A response that was streamed is
	// assembled from its chunks.
	Response *providers.ChatResponse
	// Chunks replay the response as a stream: the original chunks when it
	// was streamed, otherwise synthesised from Response like a live stream.
	Chunks []providers.Chunk
	// CostNanos is what the original request cost, in nano-USD: the amount
	// this hit saves. See [Hit.SavedNanos].
	CostNanos int64
}

// SavedNanos is the cost, in nano-USD, that serving this hit instead of
// calling the upstream saves: the recorded cost of the original request.
func (h *Hit) SavedNanos() int64 { return h.CostNanos }

// Stream returns a [providers.Stream] that replays h.Chunks, so that every
// surface serves a streamed hit through its normal encoder. Its Header
// carries the X-Tollgate-Cache header with the lookup status.
func (h *Hit) Stream(status Status) providers.Stream {
	hdr := make(http.Header)
	hdr.Set(headerStatus, string(status))
	return &replay{chunks: h.Chunks, header: hdr}
}

// replay is the stream of a Hit.
type replay struct {
	mu     sync.Mutex
	chunks []providers.Chunk
	next   int
	closed bool
	header http.Header
}

var _ providers.Stream = (*replay)(nil)

// Recv returns the next chunk, then io.EOF.
func (r *replay) Recv() (*providers.Chunk, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.next >= len(r.chunks) {
		return nil, io.EOF
	}
	c := &r.chunks[r.next]
	r.next++
	return c, nil
}

// Header returns the replay's headers.
func (r *replay) Header() http.Header { return r.header }

// Close ends the replay.
func (r *replay) Close() error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	return nil
}
