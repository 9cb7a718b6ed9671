package semcache

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"math"
	"slices"
	"strings"

	"github.com/tollgate-dev/tollgate/providers"
)

// Key identifies a cache entry: the SHA-256 of the namespace and the
// canonical encoding of everything in a request that changes its output.
type Key [sha256.Size]byte

// Keys are the hashes of one request that lookups and writes need.
type Keys struct {
	// Exact is the entry's key: namespace, model, parameters and all
	// messages.
	Exact Key
	// Params covers the output-affecting parameters other than messages:
	// model, tools, tool choice, sampling, limits, format, reasoning and
	// passthrough fields. Semantic hits require it to match exactly.
	Params Key
	// History covers every message before the last one (system prompt and
	// earlier turns). Semantic hits require it to match exactly.
	History Key
}

// Domain-separation labels, so that the three hashes never collide with
// each other or with a later encoding version.
const (
	labelExact   = "tollgate/semcache/v1/exact"
	labelParams  = "tollgate/semcache/v1/params"
	labelHistory = "tollgate/semcache/v1/history"
)

// ComputeKeys returns the keys of req in namespace ns. The encoding is
// deterministic across processes and versions of Go: it never depends on
// map iteration order or pointers, JSON in tool schemas, response schemas,
// tool-call arguments and passthrough fields is canonicalised (so key order,
// whitespace and number spelling do not matter), and floats are hashed by
// value (-0 as 0). User and CacheBreakpoint are left out because they do not
// change the output.
func ComputeKeys(ns string, req *providers.ChatRequest) Keys {
	var ks Keys

	p := newEncoder(labelParams)
	encodeParams(p, req)
	copy(ks.Params[:], p.sum())

	h := newEncoder(labelHistory)
	hist := req.Messages
	if len(hist) > 0 {
		hist = hist[:len(hist)-1]
	}
	encodeMessages(h, hist)
	copy(ks.History[:], h.sum())

	e := newEncoder(labelExact)
	e.str(ns)
	e.bytes(ks.Params[:])
	encodeMessages(e, req.Messages)
	copy(ks.Exact[:], e.sum())
	return ks
}

// encodeParams writes everything but the messages.
func encodeParams(e *encoder, req *providers.ChatRequest) {
	e.str(req.Model)
	e.uvarint(uint64(len(req.Tools)))
	for _, t := range req.Tools {
		e.str(t.Name)
		e.str(t.Description)
		e.json(t.Parameters)
		e.bool(t.Strict)
	}
	e.bool(req.ToolChoice != nil)
	if tc := req.ToolChoice; tc != nil {
		e.str(string(tc.Mode))
		e.str(tc.Name)
	}
	e.optBool(req.ParallelToolCalls)
	e.optFloat(req.Temperature)
	e.optFloat(req.TopP)
	e.optInt(req.TopK)
	e.optInt(req.MaxTokens)
	e.uvarint(uint64(len(req.Stop)))
	for _, s := range req.Stop {
		e.str(s)
	}
	e.bool(req.Seed != nil)
	if req.Seed != nil {
		e.uvarint(uint64(*req.Seed))
	}
	e.bool(req.ResponseFormat != nil)
	if rf := req.ResponseFormat; rf != nil {
		e.str(string(rf.Type))
		e.str(rf.Name)
		e.str(rf.Description)
		e.json(rf.Schema)
		e.bool(rf.Strict)
	}
	e.optFloat(req.PresencePenalty)
	e.optFloat(req.FrequencyPenalty)
	e.optInt(req.N)
	e.bool(req.Reasoning != nil)
	if r := req.Reasoning; r != nil {
		e.str(r.Effort)
		e.uvarint(uint64(r.BudgetTokens))
	}
	// Fields of the client's body that the canonical request lacks reach
	// upstreams of its dialect, so they change the output.
	var fields []providers.Field
	var header []string
	if req.Source != nil {
		e.str(req.Source.Dialect)
		fields = slices.Clone(req.Source.Unmapped())
		slices.SortFunc(fields, func(a, b providers.Field) int { return strings.Compare(a.Name, b.Name) })
		// So do the allow-listed headers (betas, API version), but for the
		// idempotency key, which names the request, not its answer.
		for k, vs := range req.Source.Header {
			if !strings.EqualFold(k, "Idempotency-Key") {
				header = append(header, strings.ToLower(k)+":"+strings.Join(vs, ","))
			}
		}
		slices.Sort(header)
	} else {
		e.str("")
	}
	e.uvarint(uint64(len(fields)))
	for _, f := range fields {
		e.str(f.Name)
		e.json(f.Value)
	}
	e.uvarint(uint64(len(header)))
	for _, h := range header {
		e.str(h)
	}
}

// encodeMessages writes msgs in order.
func encodeMessages(e *encoder, msgs []providers.Message) {
	e.uvarint(uint64(len(msgs)))
	for i := range msgs {
		m := &msgs[i]
		e.str(string(m.Role))
		e.uvarint(uint64(len(m.Content)))
		for _, part := range m.Content {
			e.uvarint(uint64(part.Type))
			e.str(part.Text)
			e.str(part.Signature)
			e.str(part.RedactedData)
			e.bool(part.Image != nil)
			if img := part.Image; img != nil {
				e.digest(img.URL)
				e.str(img.MIMEType)
				e.digest(string(img.Data))
				e.str(img.Detail)
			}
			if f := part.File; f != nil {
				e.str(f.MIMEType)
				e.digest(f.Base64)
				e.digest(f.URL)
				e.str(f.FileID)
				e.str(f.FileDialect)
				e.digest(f.Text)
				e.str(f.Filename)
				e.str(f.Title)
				e.str(f.Context)
				e.bool(f.Citations)
			}
		}
		e.uvarint(uint64(len(m.ToolCalls)))
		for _, tc := range m.ToolCalls {
			e.str(tc.ID)
			e.str(tc.Name)
			e.json([]byte(tc.Arguments))
		}
		e.str(m.ToolCallID)
		e.str(m.Name)
	}
}

// encoder writes an unambiguous binary encoding into a SHA-256: every
// variable-length value is length-prefixed and every optional value has a
// presence byte.
type encoder struct {
	h   hash.Hash
	buf [binary.MaxVarintLen64]byte
}

func newEncoder(label string) *encoder {
	e := &encoder{h: sha256.New()}
	e.str(label)
	return e
}

func (e *encoder) sum() []byte { return e.h.Sum(nil) }

func (e *encoder) uvarint(v uint64) {
	n := binary.PutUvarint(e.buf[:], v)
	e.h.Write(e.buf[:n])
}

func (e *encoder) bytes(b []byte) {
	e.uvarint(uint64(len(b)))
	e.h.Write(b)
}

func (e *encoder) str(s string) {
	e.uvarint(uint64(len(s)))
	e.h.Write([]byte(s))
}

// digest writes the SHA-256 of s, for large values such as image bytes.
func (e *encoder) digest(s string) {
	d := sha256.Sum256([]byte(s))
	e.bool(s != "")
	e.h.Write(d[:])
}

func (e *encoder) bool(b bool) {
	if b {
		e.h.Write([]byte{1})
	} else {
		e.h.Write([]byte{0})
	}
}

func (e *encoder) optBool(b *bool) {
	e.bool(b != nil)
	if b != nil {
		e.bool(*b)
	}
}

func (e *encoder) optFloat(f *float64) {
	e.bool(f != nil)
	if f != nil {
		v := *f
		if v == 0 {
			v = 0 // -0 → +0
		}
		e.uvarint(math.Float64bits(v))
	}
}

func (e *encoder) optInt(i *int) {
	e.bool(i != nil)
	if i != nil {
		e.uvarint(uint64(int64(*i)))
	}
}

// json writes raw canonicalised (tag 1), or verbatim when it is not valid
// JSON (tag 2), or nothing for an empty value (tag 0).
func (e *encoder) json(raw []byte) {
	if len(raw) == 0 {
		e.uvarint(0)
		return
	}
	if c, ok := canonicalJSON(raw); ok {
		e.uvarint(1)
		e.bytes(c)
		return
	}
	e.uvarint(2)
	e.bytes(raw)
}
