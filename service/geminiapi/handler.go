package geminiapi

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/gemini"
	"github.com/tollgate-dev/tollgate/internal/readall"
	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/edge"
	"github.com/tollgate-dev/tollgate/service/gateway"
)

// Prefix is the path prefix of the surface.
const Prefix = "/v1beta/"

// The methods on a model resource.
const (
	methodGenerate    = "generateContent"
	methodStream      = "streamGenerateContent"
	methodCountTokens = "countTokens"
	methodEmbed       = "embedContent"
	methodBatchEmbed  = "batchEmbedContents"
)

// Handler serves the Gemini API. It holds no per-request state and is safe
// for concurrent use.
type Handler struct {
	engine *gateway.Engine
	log    *slog.Logger
	now    func() time.Time
}

// Option configures a Handler.
type Option func(*Handler)

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) Option { return func(h *Handler) { h.now = now } }

// New returns a Handler over engine; log receives internal errors.
func New(engine *gateway.Engine, log *slog.Logger, opts ...Option) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Handler{engine: engine, log: log, now: time.Now}
	for _, o := range opts {
		o(h)
	}
	return h
}

// Mount registers the surface on mux: /v1beta/models, /v1beta/models/{model}
// and its methods, and a /v1beta/ fallback answering 404 in Gemini's shape.
func (h *Handler) Mount(mux *http.ServeMux) {
	mux.HandleFunc("/v1beta/models", h.listModels)
	mux.HandleFunc("/v1beta/models/{name...}", h.model)
	mux.HandleFunc(Prefix, func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, r, &notFoundError{what: "URL " + r.URL.Path})
	})
}

// notFoundError is a path the surface does not serve.
type notFoundError struct{ what string }

func (e *notFoundError) Error() string { return e.what + " was not found" }

// model dispatches models/{model} (GET) and models/{model}:{method} (POST).
func (h *Handler) model(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	model, method, hasMethod := cut(name)
	if !hasMethod {
		if r.Method != http.MethodGet {
			h.methodNotAllowed(w, r, http.MethodGet)
			return
		}
		h.getModel(w, r, name)
		return
	}
	if r.Method != http.MethodPost {
		h.methodNotAllowed(w, r, http.MethodPost)
		return
	}
	if model == "" {
		h.fail(w, r, invalid("model", "the URL names no model"))
		return
	}
	switch method {
	case methodGenerate:
		h.generate(w, r, model, false)
	case methodStream:
		h.generate(w, r, model, true)
	case methodCountTokens:
		h.countTokens(w, r, model)
	case methodEmbed:
		h.embed(w, r, model, false)
	case methodBatchEmbed:
		h.embed(w, r, model, true)
	default:
		h.fail(w, r, &notFoundError{what: "method " + strconv.Quote(method)})
	}
}

// cut splits "gemini-2.5-flash:generateContent" at its last colon.
func cut(name string) (model, method string, ok bool) {
	i := strings.LastIndexByte(name, ':')
	if i < 0 {
		return name, "", false
	}
	return name[:i], name[i+1:], true
}

// resourceName strips the "models/" of a model resource name.
func resourceName(s string) string { return strings.TrimPrefix(s, "models/") }

func (h *Handler) methodNotAllowed(w http.ResponseWriter, r *http.Request, allow string) {
	w.Header().Set("Allow", allow)
	h.writeProblem(w, r, edge.Problem{Kind: edge.KindInvalidArgument,
		Message: "method " + r.Method + " is not allowed on " + r.URL.Path + "; use " + allow}, http.StatusMethodNotAllowed)
}

// Credential returns the virtual key of a Gemini request: the
// x-goog-api-key header, the key query parameter, or a bearer token.
func Credential(r *http.Request) string {
	if k := strings.TrimSpace(r.Header.Get("X-Goog-Api-Key")); k != "" {
		return k
	}
	if k := r.URL.Query().Get("key"); k != "" {
		return k
	}
	return edge.BearerToken(r.Header)
}

// newCall builds the engine call from the request.
func (h *Handler) newCall(r *http.Request) (*gateway.Call, error) {
	call := &gateway.Call{RequestID: gateway.RequestIDFrom(r.Context()), Surface: gateway.SurfaceGemini,
		Credential: Credential(r), Start: h.now()}
	edge.Attribution(call, r.Header)
	var err error
	call.Cache, err = edge.CacheDirectives(r.Header)
	return call, err
}

// readBody reads the whole body; the server's MaxBytesReader bounds it.
func readBody(r *http.Request) ([]byte, error) {
	b, err := readall.Read(r.Body, r.ContentLength, 0)
	if err != nil {
		return nil, fmt.Errorf("read request body: %w", err)
	}
	if len(b) == 0 {
		return nil, invalid("", "the request body is empty; send a JSON object")
	}
	return b, nil
}

// begin reads a method's call and body.
func (h *Handler) begin(r *http.Request) (*gateway.Call, []byte, error) {
	call, err := h.newCall(r)
	if err != nil {
		return nil, nil, err
	}
	body, err := readBody(r)
	return call, body, err
}

func (h *Handler) generate(w http.ResponseWriter, r *http.Request, model string, stream bool) {
	call, body, err := h.begin(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	_, req, err := decodeGenerate(body, resourceName(model))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if stream {
		h.stream(w, r, call, req, r.URL.Query().Get("alt") == "sse")
		return
	}
	res, err := h.engine.Chat(r.Context(), call, req)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	hd := w.Header()
	edge.SetServedHeaders(hd, res.Provider, res.Model, res.Route, res.Attempts)
	edge.SetCacheHeaders(hd, res.CacheStatus, res.CacheScore)
	edge.SetGuardrailHeader(hd, res.Guardrails)
	edge.SetDroppedHeader(hd, res.Dropped)
	if raw := res.Response.Raw; raw != nil {
		writeBody(w, raw) // passed through: the upstream's answer as it sent it
		return
	}
	h.writeJSON(w, r, encodeResponse(res.Response, req.Model, responseID(call.RequestID)))
}

// stream serves streamGenerateContent: server-sent events with alt=sse,
// otherwise one JSON array whose elements are written as they come.
func (h *Handler) stream(w http.ResponseWriter, r *http.Request, call *gateway.Call, req *providers.ChatRequest, sse bool) {
	s, err := h.engine.ChatStream(r.Context(), call, req)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer func() { _ = s.Close() }()
	hd := w.Header()
	for k, v := range providers.RateLimitHeaders(s.Header()) {
		hd[k] = v
	}
	// Without alt=sse the stream is one JSON array, written as it comes:
	// not to be cached or buffered by proxies either.
	contentType := "application/json"
	if sse {
		contentType = "text/event-stream"
	}
	edge.SetStreamHeaders(hd, contentType, s)
	w.WriteHeader(http.StatusOK)
	out := &eventWriter{w: w, rc: http.NewResponseController(w), sse: sse}
	_ = out.rc.Flush()
	raw := s.Passthrough() // the upstream's events as it sent them
	st := newStreamState(req.Model, responseID(call.RequestID))
	for {
		c, err := s.Recv(r.Context())
		out.hold = false
		if errors.Is(err, io.EOF) {
			if !raw {
				out.event(st.end(s.Usage()))
			}
			out.close()
			return
		}
		if err != nil {
			if r.Context().Err() != nil {
				return // the caller went away; Close cancels the upstream
			}
			p := edge.Describe(err, call.RequestID)
			if p.Kind == edge.KindInternal {
				h.log.ErrorContext(r.Context(), "stream failed", "request_id", call.RequestID, "err", err)
			}
			e, _ := edge.Gemini(p)
			out.event(&schema.GenerateContentResponse{Error: &schema.Status{Code: e.Status, Message: p.Message, Status: e.Type}})
			out.close()
			return
		}
		// Chunks that arrived together go out in one write: the flush
		// waits while the next chunk is already here (the end, an error
		// and the handler's return flush).
		out.hold = s.Ready()
		ok := true
		if raw {
			ok = out.raw(c.Raw)
		} else if ev := st.chunk(c); ev != nil {
			ok = out.event(ev)
		}
		if !ok {
			return
		}
	}
}

// eventWriter writes stream events as SSE or as JSON array elements.
type eventWriter struct {
	w      io.Writer
	rc     *http.ResponseController
	sse    bool
	n      int
	failed bool
	buf    []byte
	// hold leaves what is written in the server's buffer, for a later
	// write (or the end of the handler) to flush.
	hold bool
}

// event encodes and writes one event.
func (o *eventWriter) event(v *schema.GenerateContentResponse) bool {
	b, err := apischema.Marshal(v)
	if err != nil {
		o.failed = true
		return false
	}
	return o.payload(b)
}

// raw writes an upstream event as it was framed, or its payload as an
// array element.
func (o *eventWriter) raw(frame []byte) bool {
	if len(frame) == 0 {
		return true
	}
	if o.sse {
		return o.write(frame)
	}
	p := ssePayload(frame)
	if len(p) == 0 {
		return true
	}
	return o.payload(p)
}

func (o *eventWriter) payload(b []byte) bool {
	o.buf = o.buf[:0]
	switch {
	case o.sse:
		o.buf = append(o.buf, "data: "...)
		o.buf = append(o.buf, b...)
		o.buf = append(o.buf, "\r\n\r\n"...)
	case o.n == 0:
		o.buf = append(o.buf, '[')
		o.buf = append(o.buf, b...)
	default:
		o.buf = append(o.buf, ",\r\n"...)
		o.buf = append(o.buf, b...)
	}
	o.n++
	return o.write(o.buf)
}

// close ends the JSON array.
func (o *eventWriter) close() {
	if o.sse || o.failed {
		return
	}
	if o.n == 0 {
		o.write([]byte("[]"))
		return
	}
	o.write([]byte("]"))
}

func (o *eventWriter) write(b []byte) bool {
	if o.failed {
		return false
	}
	if _, err := o.w.Write(b); err != nil {
		o.failed = true
		return false
	}
	if o.hold {
		return true
	}
	if err := o.rc.Flush(); err != nil {
		o.failed = true
		return false
	}
	return true
}

// ssePayload returns the data of an SSE event frame (its data lines
// joined), nil for a frame without data.
func ssePayload(frame []byte) []byte {
	var out []byte
	for line := range bytes.Lines(frame) {
		line = bytes.TrimRight(line, "\r\n")
		d, ok := bytes.CutPrefix(line, []byte("data:"))
		if !ok {
			continue
		}
		if out != nil {
			out = append(out, '\n')
		}
		out = append(out, bytes.TrimPrefix(d, []byte(" "))...)
	}
	return out
}

func (h *Handler) countTokens(w http.ResponseWriter, r *http.Request, model string) {
	call, body, err := h.begin(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var in schema.CountTokensRequest
	if err := schema.Unmarshal(body, &in); err != nil {
		d := apischema.Describe(err)
		h.fail(w, r, invalid(d.Field, "%s", d.Message))
		return
	}
	gen := in.GenerateContentRequest
	if gen == nil {
		gen = &schema.GenerateContentRequest{Contents: in.Contents}
	} else if len(in.Contents) > 0 {
		h.fail(w, r, invalid("contents", "send contents or generateContentRequest, not both"))
		return
	}
	req, err := toCanonical(gen, resourceName(model), nil)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	n, err := h.engine.CountTokens(r.Context(), call, req)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeJSON(w, r, &schema.CountTokensResponse{TotalTokens: n})
}

// embed serves embedContent and batchEmbedContents. A Gemini upstream
// receives the body as it was sent; for others each content's text parts
// are embedded as one input, and taskType and title, which they cannot
// take, are named in X-Tollgate-Dropped-Params.
func (h *Handler) embed(w http.ResponseWriter, r *http.Request, model string, batch bool) {
	call, body, err := h.begin(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var reqs []schema.EmbedContentRequest
	if batch {
		var in schema.BatchEmbedContentsRequest
		if err = schema.Unmarshal(body, &in); err == nil {
			reqs = in.Requests
		}
	} else {
		var in schema.EmbedContentRequest
		if err = schema.Unmarshal(body, &in); err == nil {
			reqs = []schema.EmbedContentRequest{in}
		}
	}
	if err != nil {
		d := apischema.Describe(err)
		h.fail(w, r, invalid(d.Field, "%s", d.Message))
		return
	}
	name := resourceName(model)
	req := &providers.EmbedRequest{Model: name, Inputs: make([]string, 0, len(reqs))}
	var dropped []string
	for i := range reqs {
		e := &reqs[i]
		q := "content"
		if batch {
			q = "requests[" + strconv.Itoa(i) + "]"
			if m := resourceName(e.Model); m != "" && m != name {
				h.fail(w, r, invalid(q+".model", "is %q, but the URL names %q; one batch embeds with one model", m, name))
				return
			}
			q += ".content"
		}
		var text strings.Builder
		for j, p := range e.Content.Parts {
			if p.Text == "" && !isEmptyPart(&p) {
				h.fail(w, r, invalid(q+".parts["+strconv.Itoa(j)+"]", "embeddings take text parts only"))
				return
			}
			if j > 0 && text.Len() > 0 {
				text.WriteByte('\n')
			}
			text.WriteString(p.Text)
		}
		req.Inputs = append(req.Inputs, text.String())
		if e.OutputDimensionality != nil {
			if req.Dimensions != nil && *req.Dimensions != *e.OutputDimensionality {
				h.fail(w, r, invalid("outputDimensionality", "must be the same for every request of a batch"))
				return
			}
			req.Dimensions = e.OutputDimensionality
		}
		if e.TaskType != "" && !contains(dropped, "taskType") {
			dropped = append(dropped, "taskType")
		}
		if e.Title != "" && !contains(dropped, "title") {
			dropped = append(dropped, "title")
		}
	}
	req.Source = &providers.Source{Dialect: dialect, Body: body}
	res, err := h.engine.Embed(r.Context(), call, req)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	hd := w.Header()
	edge.SetServedHeaders(hd, res.Provider, res.Model, res.Route, res.Attempts)
	if raw := res.Response.Raw; raw != nil {
		writeBody(w, raw) // passed through: taskType and title reached the upstream
		return
	}
	edge.SetDroppedHeader(hd, dropped)
	if !batch {
		h.writeJSON(w, r, &schema.EmbedContentResponse{Embedding: &schema.ContentEmbedding{Values: res.Response.Vectors[0]}})
		return
	}
	out := &schema.BatchEmbedContentsResponse{Embeddings: make([]schema.ContentEmbedding, len(res.Response.Vectors))}
	for i, v := range res.Response.Vectors {
		out.Embeddings[i].Values = v
	}
	h.writeJSON(w, r, out)
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// writeJSON writes v as a 200 JSON answer.
func (h *Handler) writeJSON(w http.ResponseWriter, r *http.Request, v any) {
	b, err := apischema.Marshal(v)
	if err != nil {
		h.fail(w, r, fmt.Errorf("encode answer: %w", err))
		return
	}
	writeBody(w, b)
}

func writeBody(w http.ResponseWriter, b []byte) {
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}
