package openaiapi

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/openai"
	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/edge"
	"github.com/tollgate-dev/tollgate/service/gateway"
)

// The moderations API (/v1/moderations).
//
// A request naming a moderation model of the catalog (or naming none when
// the catalog has omni-moderation-latest) is routed to it; to an
// OpenAI-dialect upstream its body passes through (images included) and
// the answer comes back as it was sent. Otherwise the gateway's own
// classifiers answer (model "tollgate-guardrails", see gateway.Moderate):
// every OpenAI category appears, those they cannot judge as false with
// score 0, and the categories they judge ("tollgate/pii",
// "tollgate/secrets", "tollgate/prompt-injection", and the moderation
// classifier's when the gateway has one) with their verdicts. Images
// cannot be judged by them and are refused.

// decodeModeration decodes a moderations body.
func decodeModeration(body []byte) (*providers.ModerationRequest, error) {
	w := new(schema.ModerationRequest)
	if err := apischema.Unmarshal(body, w); err != nil {
		return nil, jsonError(err)
	}
	req := &providers.ModerationRequest{Model: w.Model}
	switch {
	case w.Input.Parts != nil:
		var b strings.Builder
		for i, p := range w.Input.Parts {
			switch p.Type {
			case "text":
				b.WriteString(p.Text)
			case "image_url":
			default:
				return nil, bad("input["+strconv.Itoa(i)+"].type", "must be text or image_url, not %q", p.Type)
			}
		}
		req.Inputs = []string{b.String()}
	default:
		req.Inputs = w.Input.Texts
	}
	if len(req.Inputs) == 0 {
		return nil, bad("input", "you must provide an input: a string, an array of strings or an array of parts")
	}
	req.Source = &providers.Source{Dialect: Dialect, Body: body, Wire: &moderationWire{in: w}}
	return req, nil
}

// moderationWire is a decoded moderations body (providers.Wire).
type moderationWire struct {
	in       *schema.ModerationRequest
	once     sync.Once
	unmapped []providers.Field
}

// Unmapped implements providers.Wire: image parts, which only upstream
// moderation models judge, and unknown members.
func (x *moderationWire) Unmapped() []providers.Field {
	x.once.Do(func() {
		for i, p := range x.in.Input.Parts {
			if p.Type == "image_url" {
				if b, err := apischema.Marshal(&p); err == nil {
					x.unmapped = append(x.unmapped, providers.Field{Name: "input[" + strconv.Itoa(i) + "]", Value: b, Content: true})
				}
			}
		}
		for _, m := range apischema.Unknowns(x.in) {
			x.unmapped = append(x.unmapped, providers.Field{Name: m.Path, Value: m.Value})
		}
	})
	return x.unmapped
}

// Rewrite implements providers.Wire: the body with the inputs of req (a
// user message per input).
func (x *moderationWire) Rewrite(req *providers.ChatRequest) ([]byte, error) {
	var slots []providers.TextSlot
	if x.in.Input.Parts != nil {
		if len(req.Messages) != 1 {
			return nil, providers.ErrRewriteShape
		}
		n := 0
		for i := range x.in.Input.Parts {
			if x.in.Input.Parts[i].Type == "text" {
				n++
			}
		}
		if n != 1 {
			return nil, providers.ErrRewriteShape // several text parts became one input
		}
		for i := range x.in.Input.Parts {
			if x.in.Input.Parts[i].Type == "text" {
				slots = append(slots, providers.TextSlot{Msg: 0, Part: 0, Text: &x.in.Input.Parts[i].Text})
			}
		}
	} else {
		for i := range x.in.Input.Texts {
			slots = append(slots, providers.TextSlot{Msg: i, Part: 0, Text: &x.in.Input.Texts[i]})
		}
	}
	if err := providers.WriteTexts(req, slots); err != nil {
		return nil, err
	}
	return apischema.Marshal(x.in)
}

func (h *Handler) moderations(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	req, err := decodeModeration(body)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	call := h.call(r)
	call.Surface = gateway.SurfaceModerations
	res, err := h.engine.Moderate(r.Context(), call, req)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	hd := w.Header()
	edge.SetServedHeaders(hd, res.Provider, res.Model, res.Route, res.Attempts)
	edge.SetGuardrailHeader(hd, res.Guardrails)
	if raw := res.Response.Raw; raw != nil {
		h.writeBody(w, raw)
		return
	}
	out := &schema.Moderation{ID: "modr-" + strings.TrimPrefix(call.RequestID, "req_"), Model: res.Model,
		Results: make([]schema.ModerationResult, len(res.Response.Results))}
	for i, m := range res.Response.Results {
		o := schema.ModerationResult{Flagged: m.Flagged, Categories: map[string]bool{}, CategoryScores: map[string]float64{}}
		for _, c := range schema.ModerationCategories {
			o.Categories[c], o.CategoryScores[c] = false, 0
		}
		for c, v := range m.Categories {
			o.Categories[c] = v
		}
		for c, v := range m.Scores {
			o.CategoryScores[c] = v
		}
		if res.Local {
			// The input types each score applies to: none for the
			// categories the gateway's classifiers cannot judge.
			o.CategoryAppliedInputTypes = make(map[string][]string, len(o.Categories))
			for c := range o.Categories {
				o.CategoryAppliedInputTypes[c] = []string{}
				if slices.Contains(res.Judged, c) {
					o.CategoryAppliedInputTypes[c] = []string{"text"}
				}
			}
		}
		out.Results[i] = o
	}
	h.writeJSON(w, r, out)
}
