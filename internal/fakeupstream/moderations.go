package fakeupstream

import (
	"strings"

	schema "github.com/tollgate-dev/tollgate/internal/apischema/openai"
)

// moderationWords are the words the fake's moderation flags, by category.
var moderationWords = map[string][]string{
	"violence":   {"kill", "attack"},
	"harassment": {"idiot"},
}

// moderations answers POST /v1/moderations as OpenAI's omni-moderation
// models do, in every category: an input containing one of
// moderationWords is flagged in that category (score 0.9), everything
// else scores 0.001. A multi-modal input is one input; images are never
// flagged.
func (x *exchange) moderations() {
	var req schema.ModerationRequest
	if !x.decode(&req, "") {
		return
	}
	if req.Input.IsZero() {
		x.badRequest("input", "you must provide an input parameter")
		return
	}
	inputs := req.Input.Texts
	types := []string{"text"}
	if req.Input.Parts != nil {
		var b strings.Builder
		for _, p := range req.Input.Parts {
			switch p.Type {
			case "text":
				b.WriteString(p.Text)
			case "image_url":
				types = append(types, "image")
			default:
				x.badRequest("input", "unknown input part type %q", p.Type)
				return
			}
		}
		inputs = []string{b.String()}
	}
	model := req.Model
	if model == "" {
		model = "omni-moderation-latest"
	}
	out := schema.Moderation{ID: x.o.nextID("modr-fake"), Model: model, Results: make([]schema.ModerationResult, len(inputs))}
	for i, in := range inputs {
		r := schema.ModerationResult{Categories: map[string]bool{}, CategoryScores: map[string]float64{}, CategoryAppliedInputTypes: map[string][]string{}}
		lower := strings.ToLower(in)
		for _, c := range schema.ModerationCategories {
			hit := false
			for _, w := range moderationWords[c] {
				hit = hit || strings.Contains(lower, w)
			}
			r.Categories[c], r.CategoryScores[c], r.CategoryAppliedInputTypes[c] = hit, 0.001, types
			if hit {
				r.Flagged, r.CategoryScores[c] = true, 0.9
			}
		}
		out.Results[i] = r
	}
	x.respond(&out)
}
