package geminitest

import (
	schema "github.com/tollgate-dev/tollgate/internal/apischema/gemini"
	"net/http"
	"strconv"

	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
)

// maxBatch is the most requests batchEmbedContents takes.
const maxBatch = 100

// vector embeds one content.
func (x *exchange) vector(r *schema.EmbedContentRequest) ([]float32, string) {
	text := textOf(r.Content.Parts)
	if len(r.Content.Parts) == 0 {
		return nil, "* EmbedContentRequest.content: contents is not specified\n"
	}
	dims := x.s.dims
	if r.OutputDimensionality != nil {
		dims = *r.OutputDimensionality
	}
	if dims < 1 {
		return nil, "* EmbedContentRequest.output_dimensionality: must be positive\n"
	}
	if x.s.embed != nil {
		return x.s.embed(text), ""
	}
	return fakeupstream.HashVector(text, dims), ""
}

func (x *exchange) embed() {
	var req schema.EmbedContentRequest
	if err := decodeStrict(x.body, &req); err != nil {
		x.badRequest("%v", err)
		return
	}
	v, msg := x.vector(&req)
	if msg != "" {
		x.badRequest("%s", msg)
		return
	}
	x.respond(&schema.EmbedContentResponse{Embedding: &schema.ContentEmbedding{Values: v}})
}

func (x *exchange) batchEmbed() {
	var req schema.BatchEmbedContentsRequest
	if err := decodeStrict(x.body, &req); err != nil {
		x.badRequest("%v", err)
		return
	}
	switch {
	case len(req.Requests) == 0:
		x.badRequest("* BatchEmbedContentsRequest.requests: must not be empty\n")
		return
	case len(req.Requests) > maxBatch:
		x.badRequest("* BatchEmbedContentsRequest.requests: at most %d requests can be in one batch\n", maxBatch)
		return
	}
	out := &schema.BatchEmbedContentsResponse{Embeddings: make([]schema.ContentEmbedding, len(req.Requests))}
	want := "models/" + x.rt.model
	for i := range req.Requests {
		r := &req.Requests[i]
		if r.Model != want {
			x.badRequest("Model in request [%d] (%q) does not match the model in the path (%q).", i, r.Model, want)
			return
		}
		v, msg := x.vector(r)
		if msg != "" {
			x.badRequest("%s", msg)
			return
		}
		out.Embeddings[i] = schema.ContentEmbedding{Values: v}
	}
	x.respond(out)
}

func (x *exchange) countTokens() {
	var req schema.CountTokensRequest
	if err := decodeStrict(x.body, &req); err != nil {
		x.badRequest("%v", err)
		return
	}
	var contents []schema.Content
	n := 0
	switch {
	case req.GenerateContentRequest != nil && len(req.Contents) > 0:
		x.badRequest("* CountTokensRequest: contents and generate_content_request cannot both be set.\n")
		return
	case req.GenerateContentRequest != nil:
		g := req.GenerateContentRequest
		if g.Model != "models/"+x.rt.model {
			x.badRequest("* CountTokensRequest.generate_content_request.model: must be %q\n", "models/"+x.rt.model)
			return
		}
		if msg := x.validate(g); msg != "" {
			x.badRequest("%s", msg)
			return
		}
		contents = g.Contents
		if g.SystemInstruction != nil {
			n += 3 + tokens(textOf(g.SystemInstruction.Parts))
		}
	default:
		contents = req.Contents
	}
	for i := range contents {
		n += 3 + contentTokens(&contents[i])
	}
	x.respond(struct {
		TotalTokens int `json:"totalTokens"`
	}{n})
}

// list serves models.list with pageSize (default 50) and pageToken.
func (x *exchange) list() {
	q := x.r.URL.Query()
	size := 50
	if v := q.Get("pageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			x.badRequest("Invalid value at 'page_size' (TYPE_INT32), %q", v)
			return
		}
		size = min(max(n, 1), 1000)
	}
	start := 0
	if tok := q.Get("pageToken"); tok != "" {
		n, err := strconv.Atoi(tok)
		if err != nil || n < 0 || n > len(x.s.models) {
			writeError(x.w, schema.Status{Code: http.StatusBadRequest, Status: "INVALID_ARGUMENT", Message: "Invalid page token."}, nil)
			return
		}
		start = n
	}
	end := min(start+size, len(x.s.models))
	out := schema.ModelList{Models: make([]schema.Model, 0, end-start)}
	for _, name := range x.s.models[start:end] {
		out.Models = append(out.Models, schema.Model{Name: "models/" + name, Version: "001", DisplayName: name,
			InputTokenLimit: 1048576, OutputTokenLimit: 65536, SupportedGenerationMethods: methods(name)})
	}
	if end < len(x.s.models) {
		out.NextPageToken = strconv.Itoa(end)
	}
	x.respond(out)
}
