package responsesapi

import (
	"bytes"
	"fmt"
	"net/http"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/openai"
	"github.com/tollgate-dev/tollgate/providers"
)

// Passthrough to OpenAI providers that serve /v1/responses (provider
// setting responses_api: true): the request's Source carries the client's
// body, which such a provider sends as it is (model and end user
// patched); every other provider translates the canonical request.
//
// Conversation state stays the gateway's: a previous_response_id is
// expanded here, before any provider sees the request, into the stored
// conversation's items (the upstream does not know the gateway's ids),
// and previous_response_id is removed from the body sent upstream. A
// passed-through answer keeps the upstream's response id; the gateway
// stores it under that id, so the client continues with it as with any
// other.

// wire is the Source's view of a Responses body for adapters of other
// dialects: built-in tools are content only an OpenAI upstream serving
// the Responses API can take. A guardrail rewrite is not applied to the
// body (Rewrite fails), so rewritten requests are translated.
type wire struct{ unmapped []providers.Field }

func (w *wire) Unmapped() []providers.Field { return w.unmapped }

func (w *wire) Rewrite(*providers.ChatRequest) ([]byte, error) { return nil, providers.ErrRewriteShape }

// source returns the Source of t: the body to pass through, with the
// conversation expanded.
func (t *turn) source(body []byte, h http.Header) (*providers.Source, error) {
	w := &wire{}
	for i, tool := range t.req.Tools {
		if tool.Type != "function" {
			b, err := apischema.Marshal(&t.req.Tools[i])
			if err != nil {
				return nil, err
			}
			w.unmapped = append(w.unmapped, providers.Field{Name: fmt.Sprintf("tools[%d]", i), Value: b, Content: true})
		}
	}
	if t.req.PreviousResponseID != "" {
		var err error
		if body, err = expand(body, t.history); err != nil {
			return nil, err
		}
	}
	return &providers.Source{Dialect: providers.DialectOpenAIResponses, Body: body,
		Header: apischema.PassHeaders(h, schema.RequestHeaders), Wire: w}, nil
}

// expand returns body without previous_response_id and with history
// before its input items (a string input becomes a user message).
func expand(body []byte, history []schema.InputItem) ([]byte, error) {
	var items bytes.Buffer
	items.WriteByte('[')
	for i := range history {
		b, err := apischema.Marshal(&history[i])
		if err != nil {
			return nil, err
		}
		if i > 0 {
			items.WriteByte(',')
		}
		items.Write(b)
	}
	in := gjson.GetBytes(body, "input")
	own := func(raw string) {
		if items.Len() > 1 {
			items.WriteByte(',')
		}
		items.WriteString(raw)
	}
	switch {
	case in.Type == gjson.String:
		b, err := apischema.Marshal(&schema.InputItem{Role: "user", Content: schema.ResponsesContent{Text: &in.Str}})
		if err != nil {
			return nil, err
		}
		own(string(b))
	case in.IsArray():
		in.ForEach(func(_, v gjson.Result) bool {
			own(v.Raw)
			return true
		})
	}
	items.WriteByte(']')
	body, err := sjson.DeleteBytes(body, "previous_response_id")
	if err != nil {
		return nil, err
	}
	return sjson.SetRawBytes(body, "input", items.Bytes())
}

// withPrevious returns a passed-through response object (at path, "" for
// the whole body) with the client's previous_response_id, which the
// upstream never saw: the one change the gateway makes to the answer.
func withPrevious(b []byte, path, prev string) []byte {
	if prev == "" {
		return b
	}
	if path != "" {
		path += "."
	}
	if out, err := sjson.SetBytes(b, path+"previous_response_id", prev); err == nil {
		return out
	}
	return b
}

// rawEvent is a passed-through SSE event.
type rawEvent struct {
	typ  string
	seq  int64
	data []byte
	// resp is the response object of the events that carry one.
	resp []byte
}

// eventOf reads a raw SSE event.
func eventOf(raw []byte) rawEvent {
	var ev rawEvent
	for line := range bytes.SplitSeq(raw, []byte("\n")) {
		if d, ok := bytes.CutPrefix(line, []byte("data:")); ok {
			ev.data = append(ev.data, bytes.TrimPrefix(d, []byte(" "))...)
		}
	}
	r := gjson.GetManyBytes(ev.data, "type", "sequence_number", "response")
	ev.typ, ev.seq = r[0].String(), r[1].Int()
	if r[2].IsObject() {
		ev.resp = []byte(r[2].Raw)
	}
	return ev
}

// frame renders an event's data as an SSE event.
func frame(typ string, data []byte) []byte {
	b := make([]byte, 0, len(typ)+len(data)+16)
	b = append(b, "event: "...)
	b = append(b, typ...)
	b = append(b, "\ndata: "...)
	b = append(b, data...)
	return append(b, "\n\n"...)
}
