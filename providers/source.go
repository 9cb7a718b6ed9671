package providers

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// The dialects: the wire formats of the drop-in surfaces and upstreams.
const (
	DialectOpenAI    = "openai"
	DialectAnthropic = "anthropic"
	DialectGemini    = "gemini"
	// DialectOpenAICompletions is OpenAI's legacy /v1/completions API:
	// OpenAI-dialect adapters that serve it pass such bodies through;
	// every other adapter translates the canonical (chat) request.
	DialectOpenAICompletions = "openai_completions"
	// DialectOpenAIResponses is OpenAI's Responses API (/v1/responses):
	// passed through only to OpenAI providers that serve it, translated
	// for every other upstream.
	DialectOpenAIResponses = "openai-responses"
)

// Source is a request as the client sent it through a drop-in surface.
//
// Same-dialect passthrough: an adapter of Source's dialect sends Body to
// its upstream with only what the gateway must change patched (the model
// name, authentication, and the adapter's documented fields such as
// OpenAI's stream_options.include_usage), byte for byte otherwise, and
// returns the upstream's answer bytes as they came (ChatResponse.Raw,
// Chunk.Raw) together with the canonical view read from them. The
// canonical request is still what policy (limits, guardrails, cache,
// routing) reads. Adapters of another dialect translate the canonical
// request and must refuse, or drop when allowed, what it lacks (Unmapped).
type Source struct {
	// Dialect is the wire format of Body, e.g. DialectOpenAI.
	Dialect string
	// Body is the JSON body; nil when it cannot be sent as it is (see
	// Rewritten).
	Body []byte
	// Header holds the client's headers of the dialect's allow-list (such
	// as anthropic-beta), for upstreams of the same dialect.
	Header http.Header
	// Wire gives access to the decoded body; nil when the surface offers
	// none.
	Wire Wire
}

// Wire is a surface's decoded request body.
type Wire interface {
	// Unmapped returns the fields the canonical request does not carry,
	// with their values; an upstream of another dialect cannot honour
	// them. The result is computed once and must not be modified.
	Unmapped() []Field
	// Rewrite returns the body with the text parts of req, a rewrite of
	// the canonical request decoded from it that changed only the text of
	// text parts (as guardrails do), and everything else as sent.
	Rewrite(req *ChatRequest) ([]byte, error)
}

// Field is a request field by the name the client gave it ("logprobs",
// "messages[2].content[0].cache_control") and its JSON value.
type Field struct {
	Name  string
	Value []byte
	// Content is true for conversation content (a content block, a tool
	// call) rather than a parameter: it is never dropped.
	Content bool
}

// Passthrough reports whether an adapter of dialect sends s's body as it
// is.
func (s *Source) Passthrough(dialect string) bool {
	return s != nil && s.Dialect == dialect && s.Body != nil
}

// Headers returns the client's allow-listed headers for an upstream of
// dialect, nil for another dialect.
func (s *Source) Headers(dialect string) http.Header {
	if s == nil || s.Dialect != dialect {
		return nil
	}
	return s.Header
}

// Unmapped returns s's unmapped fields (see Wire), nil without a Wire.
func (s *Source) Unmapped() []Field {
	if s == nil || s.Wire == nil {
		return nil
	}
	return s.Wire.Unmapped()
}

// Rewritten returns the Source of req, a rewrite of the request decoded
// from s: the body re-rendered with req's texts, or without a body (so
// that adapters translate req) when the surface cannot re-render it.
func (s *Source) Rewritten(req *ChatRequest) *Source {
	if s == nil {
		return nil
	}
	out := *s
	out.Body = nil
	if s.Wire != nil {
		if b, err := s.Wire.Rewrite(req); err == nil {
			out.Body = b
		}
	}
	return &out
}

// Unsupported is a request field an upstream cannot honour.
type Unsupported struct {
	// Field names it as the client did, e.g. "logprobs" or
	// "messages[1].content[0]".
	Field string
	// Reason says why, for the client.
	Reason string
	// Droppable is true for parameters an operator may allow the gateway
	// to leave out; content (documents, images, messages) never is.
	Droppable bool
}

// Checker is a Provider that can list, before sending, the fields of a
// request it cannot honour. The gateway refuses such a request, or drops
// the fields when the operator allows it (ChatRequest.Drop).
type Checker interface {
	Unsupported(req *ChatRequest) []Unsupported
}

// CheckChat returns what p cannot honour of req; nil when p is no Checker.
func CheckChat(p Provider, req *ChatRequest) []Unsupported {
	if c, ok := p.(Checker); ok {
		return c.Unsupported(req)
	}
	return nil
}

// Refusal returns the error an adapter gives for the first field of us
// that req does not allow it to drop, nil when it may drop them all.
func Refusal(provider string, req *ChatRequest, us []Unsupported) error {
	for _, u := range us {
		if u.Droppable && slices.Contains(req.Drop, u.Field) {
			continue
		}
		return &Error{Provider: provider, Kind: KindInvalidRequest, Param: u.Field,
			Message: fmt.Sprintf("%s is not supported by model %q: %s", u.Field, req.Model, u.Reason)}
	}
	return nil
}

// UnmappedUnsupported turns the Source fields an adapter of dialect
// cannot honour into Unsupported entries: all of them, unless the adapter
// passes the body through. Values that ask for nothing (null, false) are
// skipped. upstream names the API for the reason, e.g. "Anthropic
// Messages".
func UnmappedUnsupported(req *ChatRequest, dialect, upstream string) []Unsupported {
	src := req.Source
	if src == nil || src.Passthrough(dialect) {
		return nil
	}
	var out []Unsupported
	for _, f := range src.Unmapped() {
		if v := strings.TrimSpace(string(f.Value)); v == "null" || v == "false" {
			continue
		}
		out = append(out, Unsupported{Field: f.Name, Droppable: !f.Content,
			Reason: "it has no equivalent in the " + upstream + " API this model is served by"})
	}
	return out
}

// TextSlot locates the wire string canonical text part (Msg, Part) came
// from, so that a Wire's Rewrite can write a rewritten text back into the
// body. Strip is a prefix the canonical text has and the wire string lacks.
type TextSlot struct {
	Msg, Part int
	Text      *string
	Strip     string
}

// ErrRewriteShape says a rewritten request no longer matches the body's
// structure, so the body cannot carry the rewrite.
var ErrRewriteShape = errors.New("the rewritten request does not match the body's structure")

// WriteTexts writes the text parts of req into slots. It fails with
// ErrRewriteShape unless slots locate exactly the text parts of req, so
// that no text the body holds escapes the rewrite.
func WriteTexts(req *ChatRequest, slots []TextSlot) error {
	n := 0
	for i := range req.Messages {
		for _, p := range req.Messages[i].Content {
			if p.Type == PartText {
				n++
			}
		}
	}
	if n != len(slots) {
		return ErrRewriteShape
	}
	seen := make(map[[2]int]bool, len(slots))
	for _, s := range slots {
		k := [2]int{s.Msg, s.Part}
		if s.Msg < 0 || s.Msg >= len(req.Messages) || s.Part < 0 || s.Part >= len(req.Messages[s.Msg].Content) ||
			req.Messages[s.Msg].Content[s.Part].Type != PartText || seen[k] {
			return ErrRewriteShape
		}
		seen[k] = true
	}
	for _, s := range slots {
		*s.Text = strings.TrimPrefix(req.Messages[s.Msg].Content[s.Part].Text, s.Strip)
	}
	return nil
}
