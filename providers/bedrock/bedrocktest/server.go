// Package bedrocktest is a fake Amazon Bedrock Runtime written from AWS's
// API reference: Converse, ConverseStream (application/vnd.amazon.eventstream
// framing with prelude and message CRCs, encoded here independently of the
// SDK), InvokeModel for Titan and Cohere embeddings, the control plane's
// ListFoundationModels, Bedrock's error shapes with x-amzn-ErrorType, and a
// Signature Version 4 check of every request against the test credentials
// (or a Bedrock API key as a bearer token). Faults can be injected per
// request. It shares its wire types with the adapter
// (internal/apischema/bedrock).
package bedrocktest

//lint:file-ignore ST1005 the fake's errors carry Bedrock's own messages, verbatim (capitals and full stops included)

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/bedrock"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream/fakehttp"
)

// Request is a request as the fake received it.
type Request = fakehttp.Request

const maxBody = 20 << 20

// The test credentials Start configures unless told otherwise.
var (
	TestCredentials = Credentials{AccessKeyID: "AKIDTESTFAKE0000001", SecretAccessKey: "fake/SECRET+access+key/0123456789abcdef"}
	TestRegion      = "us-east-1"
)

// DefaultModels are the model ids the fake serves.
var DefaultModels = []string{
	"anthropic.claude-3-5-sonnet-20241022-v2:0",
	"us.anthropic.claude-sonnet-4-20250514-v1:0",
	"meta.llama3-1-70b-instruct-v1:0",
	"us.meta.llama3-3-70b-instruct-v1:0",
	"amazon.titan-embed-text-v2:0",
	"cohere.embed-english-v3",
}

type settings struct {
	creds      Credentials
	region     string
	apiKey     string
	models     []string
	reply      string
	chunks     int
	chunkDelay time.Duration
	faultFunc  FaultFunc
	now        func() time.Time
	// role is the role STS lets the credentials (or a web identity token)
	// assume; only its temporary credentials are accepted by Bedrock.
	role *Role
}

// Option configures a Server.
type Option func(*settings)

// WithCredentials sets the credentials signatures are checked against.
func WithCredentials(c Credentials) Option { return func(s *settings) { s.creds = c } }

// WithRegion sets the region signatures must be scoped to.
func WithRegion(r string) Option { return func(s *settings) { s.region = r } }

// WithAPIKey also accepts "Authorization: Bearer key" (a Bedrock API key).
func WithAPIKey(key string) Option { return func(s *settings) { s.apiKey = key } }

// WithModels sets the model ids served and listed.
func WithModels(ids ...string) Option { return func(s *settings) { s.models = slices.Clone(ids) } }

// WithReply answers every user message with text instead of the echo.
func WithReply(text string) Option { return func(s *settings) { s.reply = text } }

// WithChunks splits streamed text into n deltas (default 4).
func WithChunks(n int) Option { return func(s *settings) { s.chunks = max(n, 1) } }

// WithChunkDelay waits d between stream messages.
func WithChunkDelay(d time.Duration) Option { return func(s *settings) { s.chunkDelay = d } }

// WithFaultFunc consults f for every request the fault queue does not fail.
func WithFaultFunc(f FaultFunc) Option { return func(s *settings) { s.faultFunc = f } }

// Server is the fake. It is an http.Handler and safe for concurrent use.
type Server struct {
	mu       sync.Mutex
	set      settings
	faults   fakehttp.Queue[Fault]
	requests fakehttp.Recorder
	life     fakehttp.Lifecycle
	seq      atomic.Uint64
	// Refused counts requests refused for their signature.
	refused atomic.Int64
	// temporary holds the credentials STS issued, by access key id.
	temporary map[string]Credentials
	assumed   atomic.Int64
}

// New returns a fake configured by opts.
func New(opts ...Option) *Server {
	s := settings{creds: TestCredentials, region: TestRegion, models: slices.Clone(DefaultModels), chunks: 4, now: time.Now}
	for _, o := range opts {
		o(&s)
	}
	return &Server{set: s}
}

// Start starts a fake on a local test server and returns it with its URL
// (the adapter's base URL). Both are closed when the test ends.
func Start(tb testing.TB, opts ...Option) (*Server, string) {
	tb.Helper()
	f := New(opts...)
	srv := httptest.NewServer(f)
	tb.Cleanup(func() {
		f.Close()
		srv.Close()
	})
	return f, srv.URL
}

// Apply changes settings at runtime.
func (f *Server) Apply(opts ...Option) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, o := range opts {
		o(&f.set)
	}
}

// Enqueue appends faults; each following request takes the next one.
func (f *Server) Enqueue(faults ...Fault) { f.faults.Push(faults...) }

// Requests returns copies of the requests received so far.
func (f *Server) Requests() []Request { return f.requests.Requests() }

// LastRequest returns the latest request.
func (f *Server) LastRequest() (Request, bool) { return f.requests.Last() }

// InFlight returns the number of requests being handled.
func (f *Server) InFlight() int { return f.life.InFlight() }

// Cancelled returns the number of requests whose client went away.
func (f *Server) Cancelled() int { return f.life.Cancelled() }

// Refused returns the number of requests refused for their signature.
func (f *Server) Refused() int { return int(f.refused.Load()) }

// Credentials returns the credentials signatures are checked against.
func (f *Server) Credentials() Credentials {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.set.creds
}

// Close releases hanging handlers.
func (f *Server) Close() { f.life.Close() }

// writeError answers with Bedrock's error shape.
func writeError(w http.ResponseWriter, status int, typ, msg string, extra http.Header) {
	for k, v := range extra {
		w.Header()[k] = v
	}
	w.Header().Set("X-Amzn-ErrorType", typ+":http://internal.amazon.com/coral/com.amazon.bedrock/")
	b, _ := apischema.Marshal(&schema.ErrorBody{Message: msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// ServeHTTP implements http.Handler.
func (f *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer f.life.Begin(r)()
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return
	}
	req := fakehttp.NewRequest(r, body)
	f.requests.Record(req)
	f.mu.Lock()
	s := f.set
	f.mu.Unlock()
	id := fmt.Sprintf("fake-%08d-0000-0000-0000-000000000000", f.seq.Add(1))
	w.Header().Set("X-Amzn-RequestId", id)

	if r.Method == http.MethodPost && r.URL.Path == "/" {
		f.serveSTS(w, r, body, &s)
		return
	}
	if s.apiKey == "" || r.Header.Get("Authorization") != "Bearer "+s.apiKey {
		if err := verifySigV4(r, body, f.bedrockCredentials(&s), s.region, "bedrock", s.now()); err != nil {
			f.refused.Add(1)
			se := err.(*sigError)
			writeError(w, http.StatusForbidden, se.typ, se.msg, nil)
			return
		}
	}
	if len(body) > maxBody {
		writeError(w, http.StatusRequestEntityTooLarge, "ValidationException", "Request body too large", nil)
		return
	}
	model, op, ok := route(r)
	if !ok {
		writeError(w, http.StatusNotFound, "UnknownOperationException", "Unknown operation "+r.Method+" "+r.URL.Path, nil)
		return
	}
	if op != "list" && !slices.Contains(s.models, model) {
		writeError(w, http.StatusBadRequest, "ValidationException", "The provided model identifier is invalid.", nil)
		return
	}
	fault, hasFault := f.faults.Next(&req, s.faultFunc)
	if hasFault {
		switch fault.Kind {
		case FaultStatus:
			writeError(w, fault.Status, fault.Type, fault.Message, fault.Header)
			return
		case FaultHang:
			f.life.Sleep(r.Context(), fakehttp.Forever)
			return
		case FaultReset:
			fakehttp.Reset(w)
			return
		case FaultStreamException:
			if op != "converse-stream" {
				writeError(w, fault.Status, strings.ToUpper(fault.Type[:1])+fault.Type[1:], fault.Message, fault.Header)
				return
			}
		}
	}
	x := &exchange{f: f, s: &s, w: w, r: r, body: body, model: model, id: id}
	if hasFault {
		x.fault = &fault
	}
	switch op {
	case "converse", "converse-stream":
		x.converse(op == "converse-stream")
	case "invoke":
		x.invoke()
	case "list":
		x.list()
	}
}

// route returns the model id and operation of a request.
func route(r *http.Request) (model, op string, ok bool) {
	if r.Method == http.MethodGet && r.URL.Path == "/foundation-models" {
		return "", "list", true
	}
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), "/model/")
	if !ok || r.Method != http.MethodPost {
		return "", "", false
	}
	i := strings.LastIndexByte(rest, '/')
	if i < 0 {
		return "", "", false
	}
	m, err := url.PathUnescape(rest[:i])
	if err != nil {
		return "", "", false
	}
	switch op := rest[i+1:]; op {
	case "converse", "converse-stream", "invoke":
		return m, op, true
	}
	return "", "", false
}

type exchange struct {
	f     *Server
	s     *settings
	w     http.ResponseWriter
	r     *http.Request
	body  []byte
	model string
	id    string
	fault *Fault
}

func (x *exchange) invalid(format string, args ...any) {
	writeError(x.w, http.StatusBadRequest, "ValidationException", fmt.Sprintf(format, args...), nil)
}

func (x *exchange) writeJSON(v any) {
	b, err := apischema.Marshal(v)
	if err != nil {
		http.Error(x.w, err.Error(), http.StatusInternalServerError)
		return
	}
	x.w.Header().Set("Content-Type", "application/json")
	_, _ = x.w.Write(b)
}

func (x *exchange) list() {
	out := schema.FoundationModelList{}
	for _, m := range x.s.models {
		out.ModelSummaries = append(out.ModelSummaries, schema.FoundationModel{ModelID: m, ProviderName: strings.SplitN(m, ".", 2)[0]})
	}
	x.writeJSON(&out)
}

// answer is what the fake replies.
type answer struct {
	text          string
	call          *schema.ToolUse
	stop          string
	input, output int64
	cacheRead     int64
}

func tokens(s string) int64 { return int64(len(s)+3) / 4 }

// validate checks a Converse body as the API reference describes it and
// plans the answer.
func (x *exchange) plan(req *schema.ConverseRequest) (answer, error) {
	var a answer
	if len(req.Messages) == 0 {
		return a, fmt.Errorf("A conversation must start with a user message. Try again with a conversation that starts with a user message.")
	}
	if req.Messages[0].Role != "user" {
		return a, fmt.Errorf("A conversation must start with a user message. Try again with a conversation that starts with a user message.")
	}
	cached := false
	for _, s := range req.System {
		a.input += tokens(s.Text)
		if s.CachePoint != nil {
			cached = true
		}
	}
	calls := map[string]string{}
	var lastText, lastResult string
	for i, m := range req.Messages {
		if m.Role != "user" && m.Role != "assistant" {
			return a, fmt.Errorf("1 validation error detected: Value '%s' at 'messages.%d.member.role' failed to satisfy constraint: Member must satisfy enum value set: [user, assistant]", m.Role, i+1)
		}
		if i > 0 && req.Messages[i-1].Role == m.Role {
			return a, fmt.Errorf("A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.")
		}
		if len(m.Content) == 0 {
			return a, fmt.Errorf("The content field in the Message object at messages.%d is empty. Add a ContentBlock object to the content field and try again.", i)
		}
		lastText, lastResult = "", ""
		for j, b := range m.Content {
			n := 0
			for _, set := range []bool{b.Text != nil, b.Image != nil, b.Document != nil, b.ToolUse != nil, b.ToolResult != nil,
				b.ReasoningContent != nil, b.CachePoint != nil} {
				if set {
					n++
				}
			}
			if n != 1 {
				return a, fmt.Errorf("messages.%d.content.%d: a content block must have exactly one member", i, j)
			}
			switch {
			case b.Text != nil:
				lastText += *b.Text
				a.input += tokens(*b.Text)
			case b.Image != nil:
				if !slices.Contains([]string{"png", "jpeg", "gif", "webp"}, b.Image.Format) || len(b.Image.Source.Bytes) == 0 {
					return a, fmt.Errorf("messages.%d.content.%d.image: invalid format or empty source", i, j)
				}
				a.input += 85
				lastText += " [image]"
			case b.Document != nil:
				if b.Document.Name == "" || len(b.Document.Source.Bytes) == 0 {
					return a, fmt.Errorf("messages.%d.content.%d.document: name and source are required", i, j)
				}
				lastText += " [document: " + b.Document.Name + "]"
				a.input += tokens(string(b.Document.Source.Bytes))
			case b.ToolUse != nil:
				if m.Role != "assistant" {
					return a, fmt.Errorf("messages.%d.content.%d: toolUse is only valid in assistant messages", i, j)
				}
				if req.ToolConfig == nil {
					return a, fmt.Errorf("The toolConfig field must be defined when using toolUse and toolResult content blocks.")
				}
				calls[b.ToolUse.ToolUseID] = b.ToolUse.Name
			case b.ToolResult != nil:
				name, ok := calls[b.ToolResult.ToolUseID]
				if !ok || m.Role != "user" {
					return a, fmt.Errorf("The number of toolResult blocks at messages.%d.content exceeds the number of toolUse blocks of previous turn.", i)
				}
				for _, c := range b.ToolResult.Content {
					if c.Text != nil {
						lastResult = "The tool " + name + " returned: " + *c.Text
					}
				}
			case b.CachePoint != nil:
				cached = true
			}
		}
	}
	last := req.Messages[len(req.Messages)-1]
	if last.Role != "user" {
		return a, fmt.Errorf("A conversation must end with a user message.")
	}
	if ic := req.InferenceConfig; ic != nil {
		if ic.MaxTokens != nil && *ic.MaxTokens < 1 {
			return a, fmt.Errorf("1 validation error detected: Value '%d' at 'inferenceConfig.maxTokens' failed to satisfy constraint: Member must have value greater than or equal to 1", *ic.MaxTokens)
		}
		if ic.Temperature != nil && (*ic.Temperature < 0 || *ic.Temperature > 1) {
			return a, fmt.Errorf("1 validation error detected: Value at 'inferenceConfig.temperature' failed to satisfy constraint: Member must have value less than or equal to 1")
		}
	}
	if cached {
		a.cacheRead = a.input / 2
		a.input -= a.cacheRead
	}
	a.stop = schema.StopEndTurn
	switch {
	case lastResult != "":
		a.text = lastResult
	case req.ToolConfig != nil && len(req.ToolConfig.Tools) > 0:
		if name := chooseTool(req.ToolConfig, lastText); name != "" {
			args, _ := json.Marshal(struct {
				Text string `json:"text"`
			}{lastText})
			h := fnv.New64a()
			_, _ = h.Write([]byte(name + "\x00" + lastText))
			a.call = &schema.ToolUse{ToolUseID: fmt.Sprintf("tooluse_%016x", h.Sum64()), Name: name, Input: args}
			a.stop = schema.StopToolUse
			a.output = tokens(name) + tokens(string(args))
			return a, nil
		}
		a.text = x.replyTo(lastText)
	default:
		a.text = x.replyTo(lastText)
	}
	if ic := req.InferenceConfig; ic != nil && ic.MaxTokens != nil && tokens(a.text) > int64(*ic.MaxTokens) {
		a.text = a.text[:min(len(a.text), *ic.MaxTokens*4)]
		a.stop = schema.StopMaxTokens
	}
	a.output = tokens(a.text)
	return a, nil
}

func (x *exchange) replyTo(text string) string {
	if x.s.reply != "" {
		return x.s.reply
	}
	return "echo: " + text
}

// chooseTool returns the forced tool, the first for "any", or the one
// the text names as "call <name>".
func chooseTool(tc *schema.ToolConfig, text string) string {
	if c := tc.ToolChoice; c != nil {
		switch {
		case c.Tool != nil:
			return c.Tool.Name
		case c.Any != nil && tc.Tools[0].ToolSpec != nil:
			return tc.Tools[0].ToolSpec.Name
		}
	}
	for _, t := range tc.Tools {
		if t.ToolSpec != nil && strings.Contains(text, "call "+t.ToolSpec.Name) {
			return t.ToolSpec.Name
		}
	}
	return ""
}

func (a *answer) usage() *schema.Usage {
	return &schema.Usage{InputTokens: a.input, OutputTokens: a.output, TotalTokens: a.input + a.cacheRead + a.output,
		CacheReadInputTokens: a.cacheRead}
}

func (x *exchange) converse(stream bool) {
	var req schema.ConverseRequest
	if err := apischema.Unmarshal(x.body, &req); err != nil {
		x.invalid("Malformed input request: %v, please reformat your input and try again.", err)
		return
	}
	a, err := x.plan(&req)
	if err != nil {
		x.invalid("%v", err)
		return
	}
	if !stream {
		msg := schema.Message{Role: "assistant"}
		if a.text != "" {
			msg.Content = append(msg.Content, schema.TextBlock(a.text))
		}
		if a.call != nil {
			msg.Content = append(msg.Content, schema.ContentBlock{ToolUse: a.call})
		}
		x.writeJSON(&schema.ConverseResponse{Output: schema.Output{Message: &msg}, StopReason: a.stop, Usage: a.usage(),
			Metrics: &struct {
				LatencyMs int64 `json:"latencyMs"`
			}{LatencyMs: 12}})
		return
	}
	x.stream(&a)
}

// events returns the stream's messages.
func (x *exchange) events(a *answer) [][]byte {
	var out [][]byte
	pad := "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	add := func(typ string, ev schema.StreamEvent) {
		ev.P = pad[:len(out)%len(pad)+1]
		b, _ := apischema.Marshal(&ev)
		out = append(out, EventMessage(typ, b))
	}
	add(schema.EventMessageStart, schema.StreamEvent{Role: "assistant"})
	idx := 0
	if a.text != "" {
		for _, piece := range split(a.text, x.s.chunks) {
			add(schema.EventContentBlockDelta, schema.StreamEvent{ContentBlockIndex: idx, Delta: &schema.BlockDelta{Text: &piece}})
		}
		add(schema.EventContentBlockStop, schema.StreamEvent{ContentBlockIndex: idx})
		idx++
	}
	if a.call != nil {
		add(schema.EventContentBlockStart, schema.StreamEvent{ContentBlockIndex: idx,
			Start: &schema.BlockStart{ToolUse: &schema.ToolUseStart{ToolUseID: a.call.ToolUseID, Name: a.call.Name}}})
		for _, piece := range split(string(a.call.Input), x.s.chunks) {
			add(schema.EventContentBlockDelta, schema.StreamEvent{ContentBlockIndex: idx, Delta: &schema.BlockDelta{ToolUse: &schema.ToolUseDelta{Input: piece}}})
		}
		add(schema.EventContentBlockStop, schema.StreamEvent{ContentBlockIndex: idx})
	}
	add(schema.EventMessageStop, schema.StreamEvent{StopReason: a.stop})
	add(schema.EventMetadata, schema.StreamEvent{Usage: a.usage(), Metrics: &struct {
		LatencyMs int64 `json:"latencyMs"`
	}{LatencyMs: 12}})
	return out
}

func (x *exchange) stream(a *answer) {
	events := x.events(a)
	h := x.w.Header()
	h.Set("Content-Type", schema.ContentTypeEventStream)
	x.w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(x.w)
	_ = rc.Flush()
	limit := len(events)
	if x.fault != nil {
		limit = min(max(x.fault.AfterEvents, 0), len(events))
	}
	for i := range limit {
		if i > 0 && !x.f.life.Sleep(x.r.Context(), x.s.chunkDelay) {
			return
		}
		if !x.write(rc, events[i]) {
			return
		}
	}
	if x.fault == nil {
		return
	}
	switch x.fault.Kind {
	case FaultDieMidStream:
		fakehttp.Reset(x.w)
	case FaultStreamException:
		b, _ := apischema.Marshal(&schema.ErrorBody{Message: x.fault.Message})
		x.write(rc, ExceptionMessage(x.fault.Type, b))
	case FaultBadCRC:
		if limit < len(events) {
			m := slices.Clone(events[limit])
			m[len(m)-1] ^= 0xff
			x.write(rc, m)
		}
	}
}

func (x *exchange) write(rc *http.ResponseController, b []byte) bool {
	if _, err := x.w.Write(b); err != nil {
		return false
	}
	return rc.Flush() == nil
}

// split cuts s into at most n pieces on rune boundaries.
func split(s string, n int) []string {
	if s == "" {
		return nil
	}
	rs := []rune(s)
	n = min(n, len(rs))
	out := make([]string, 0, n)
	for i := range n {
		out = append(out, string(rs[i*len(rs)/n:(i+1)*len(rs)/n]))
	}
	return out
}

func (x *exchange) invoke() {
	switch {
	case strings.Contains(x.model, "amazon.titan-embed"):
		var req schema.TitanEmbedRequest
		if err := apischema.Unmarshal(x.body, &req); err != nil || req.InputText == "" {
			x.invalid("Malformed input request: inputText is required, please reformat your input and try again.")
			return
		}
		dims := 8
		if req.Dimensions != nil {
			if !slices.Contains([]int{256, 512, 1024}, *req.Dimensions) {
				x.invalid("Malformed input request: #/dimensions: %d is not a valid enum value, please reformat your input and try again.", *req.Dimensions)
				return
			}
			dims = *req.Dimensions
		}
		x.writeJSON(&schema.TitanEmbedResponse{Embedding: Vector(req.InputText, dims), InputTextTokenCount: tokens(req.InputText)})
	case strings.Contains(x.model, "cohere.embed"):
		var req schema.CohereEmbedRequest
		if err := apischema.Unmarshal(x.body, &req); err != nil || len(req.Texts) == 0 || len(req.Texts) > 96 || req.InputType == "" {
			x.invalid("Malformed input request: texts (1 to 96) and input_type are required, please reformat your input and try again.")
			return
		}
		out := schema.CohereEmbedResponse{ID: x.id, ResponseType: "embeddings_floats", Texts: req.Texts}
		for _, t := range req.Texts {
			out.Embeddings = append(out.Embeddings, Vector(t, 8))
		}
		x.writeJSON(&out)
	default:
		x.invalid("The model %s does not support InvokeModel in this fake.", x.model)
	}
}

// Vector is the fake's embedding of text: dims values derived from a hash.
func Vector(text string, dims int) []float32 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(text))
	seed := h.Sum64()
	v := make([]float32, dims)
	for i := range v {
		seed = seed*6364136223846793005 + 1442695040888963407
		v[i] = float32(int64(seed>>40)%2000-1000) / 1000
	}
	return v
}
