package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/registry"
	"github.com/tollgate-dev/tollgate/service/registry/registrytest"
	"github.com/tollgate-dev/tollgate/service/routing"
	"github.com/tollgate-dev/tollgate/service/store"
)

// The engine tests run the pipeline over an in-memory registry
// (registrytest), hand-written fake providers and a recorder that keeps
// the records in memory. Time-dependent tests run inside a
// testing/synctest bubble: timeouts, backoffs and cooldowns pass
// instantly and deterministically.

// behavior is what a fakeProvider does with one call. The zero value
// answers "echo: <last user text>" (streamed in words, with a usage
// chunk).
type behavior struct {
	// err fails the call at once (Chat, or ChatStream before the stream).
	err error
	// hang blocks the call until its context ends.
	hang bool
	// delay answers after this long (fake time in a bubble).
	delay time.Duration
	// Streams only: stall sends nothing after the stream opened until its
	// context ends; firstErr fails the first Recv; after sending after
	// chunks, midErr fails the stream (or midHang blocks it until it is
	// closed or its context ends).
	stall    bool
	firstErr error
	after    int
	midErr   error
	midHang  bool
	noUsage  bool
	finish   providers.FinishReason // default stop
	text     string                 // default "echo: <last user text>"
	usage    *providers.Usage       // default {10, 5}
	emptyEOF bool                   // the stream ends before any chunk
}

// fakeCall is one call a fakeProvider received.
type fakeCall struct {
	req    providers.ChatRequest
	stream bool
	at     time.Time
}

// fakeProvider is a scripted providers.Provider: call n gets script[n],
// calls beyond the script get the zero behavior (a normal answer).
type fakeProvider struct {
	id   string
	caps providers.Capabilities

	mu       sync.Mutex
	script   []behavior
	always   *behavior // when set, every call beyond the script gets it
	calls    []fakeCall
	open     atomic.Int32 // streams opened and not closed
	canceled atomic.Int32 // calls or streams whose context ended under them
}

var _ providers.Provider = (*fakeProvider)(nil)

func newFakeProvider(id string) *fakeProvider {
	return &fakeProvider{id: id, caps: providers.Capabilities{Dialect: "openai", Tools: true, Images: true, StreamUsage: true}}
}

// then appends behaviors to the script.
func (p *fakeProvider) then(bs ...behavior) *fakeProvider {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.script = append(p.script, bs...)
	return p
}

// setAlways makes every call beyond the script behave as b (nil: normal).
func (p *fakeProvider) setAlways(b *behavior) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.always = b
}

func (p *fakeProvider) next(req *providers.ChatRequest, stream bool) behavior {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, fakeCall{req: *req, stream: stream, at: time.Now()})
	if len(p.script) > 0 {
		b := p.script[0]
		p.script = p.script[1:]
		return b
	}
	if p.always != nil {
		return *p.always
	}
	return behavior{}
}

// received returns the calls so far.
func (p *fakeProvider) received() []fakeCall {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.calls)
}

func (p *fakeProvider) ID() string                           { return p.id }
func (p *fakeProvider) Capabilities() providers.Capabilities { return p.caps }

// wait applies b's hang and delay; it returns the context's error when
// the context ends first.
func (p *fakeProvider) wait(ctx context.Context, b behavior) error {
	switch {
	case b.hang:
		<-ctx.Done()
	case b.delay > 0:
		t := time.NewTimer(b.delay)
		defer t.Stop()
		select {
		case <-t.C:
			return nil
		case <-ctx.Done():
		}
	default:
		return nil
	}
	p.canceled.Add(1)
	return ctx.Err()
}

func reply(req *providers.ChatRequest, b behavior) (string, providers.Usage) {
	text := b.text
	if text == "" {
		var last string
		for i := range req.Messages {
			if req.Messages[i].Role == providers.RoleUser {
				last = req.Messages[i].Text()
			}
		}
		text = "echo: " + last
	}
	u := providers.Usage{InputTokens: 10, OutputTokens: 5}
	if b.usage != nil {
		u = *b.usage
	}
	return text, u
}

func (p *fakeProvider) Chat(ctx context.Context, req *providers.ChatRequest) (*providers.ChatResponse, error) {
	b := p.next(req, false)
	if err := p.wait(ctx, b); err != nil {
		return nil, err
	}
	if b.err != nil {
		return nil, b.err
	}
	text, u := reply(req, b)
	fin := b.finish
	if fin == "" {
		fin = providers.FinishStop
	}
	return &providers.ChatResponse{ID: "resp-" + p.id, Model: req.Model, Usage: u, Choices: []providers.Choice{{
		Message: providers.Message{Role: providers.RoleAssistant, Content: []providers.Part{providers.TextPart(text)}}, FinishReason: fin}}}, nil
}

func (p *fakeProvider) ChatStream(ctx context.Context, req *providers.ChatRequest) (providers.Stream, error) {
	b := p.next(req, true)
	if err := p.wait(ctx, b); err != nil {
		return nil, err
	}
	if b.err != nil {
		return nil, b.err
	}
	text, u := reply(req, b)
	var chunks []*providers.Chunk
	if !b.emptyEOF {
		words := strings.SplitAfter(text, " ")
		for i, w := range words {
			d := providers.ChoiceDelta{Text: w}
			if i == 0 {
				d.Role = providers.RoleAssistant
			}
			if i == len(words)-1 && b.midErr == nil && !b.midHang {
				d.FinishReason = cmpOr(b.finish, providers.FinishStop)
			}
			chunks = append(chunks, &providers.Chunk{ID: "resp-" + p.id, Model: req.Model, Choices: []providers.ChoiceDelta{d}})
		}
		if !b.noUsage && b.midErr == nil && !b.midHang {
			chunks = append(chunks, &providers.Chunk{ID: "resp-" + p.id, Model: req.Model, Usage: &u})
		}
	}
	end := error(io.EOF)
	if b.midErr != nil || b.midHang {
		chunks = chunks[:min(b.after, len(chunks))]
		end = b.midErr
	}
	p.open.Add(1)
	return &fakeStream{p: p, done: ctx.Done(), cause: ctx.Err, chunks: chunks, stall: b.stall, firstErr: b.firstErr,
		end: end, hang: b.midHang, closed: make(chan struct{})}, nil
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// fakeStream replays its chunks, then ends as its behavior says. Like a
// real adapter's stream it fails once its request's context ends.
type fakeStream struct {
	p        *fakeProvider
	done     <-chan struct{} // the request context's
	cause    func() error    // the request context's Err
	chunks   []*providers.Chunk
	stall    bool
	firstErr error
	end      error // after the chunks: io.EOF or the failure
	hang     bool
	started  bool
	closed   chan struct{}
	once     sync.Once
}

func (s *fakeStream) Recv() (*providers.Chunk, error) {
	select {
	case <-s.closed:
		return nil, errors.New("fake stream: Recv after Close")
	default:
	}
	if !s.started {
		s.started = true
		if s.stall {
			return nil, s.block()
		}
		if s.firstErr != nil {
			return nil, s.firstErr
		}
	}
	select {
	case <-s.done:
		s.p.canceled.Add(1)
		return nil, s.cause()
	default:
	}
	if len(s.chunks) > 0 {
		c := s.chunks[0]
		s.chunks = s.chunks[1:]
		return c, nil
	}
	if s.hang {
		return nil, s.block()
	}
	return nil, s.end
}

// block waits until the stream is closed or its context ends.
func (s *fakeStream) block() error {
	select {
	case <-s.done:
		s.p.canceled.Add(1)
		return s.cause()
	case <-s.closed:
		return errors.New("fake stream: closed")
	}
}

func (s *fakeStream) Header() http.Header { return http.Header{"X-Fake": {s.p.id}} }

func (s *fakeStream) Close() error {
	s.once.Do(func() {
		close(s.closed)
		s.p.open.Add(-1)
	})
	return nil
}

// upstreamErr is an upstream failure of kind with its HTTP status.
func upstreamErr(provider string, kind providers.ErrorKind, status int) *providers.Error {
	return &providers.Error{Provider: provider, Kind: kind, Status: status, Message: kind.String()}
}

// fakeRecorder keeps the records it receives.
type fakeRecorder struct {
	mu   sync.Mutex
	recs []store.Record
}

var _ Recorder = (*fakeRecorder)(nil)

func (r *fakeRecorder) Record(rec store.Record) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec)
}

// of returns the records of a request id.
func (r *fakeRecorder) of(id string) []store.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []store.Record
	for _, rec := range r.recs {
		if rec.RequestID == id {
			out = append(out, rec)
		}
	}
	return out
}

// one returns the only record of a request id, failing the test when
// there is not exactly one.
func (r *fakeRecorder) one(t testing.TB, id string) store.Record {
	t.Helper()
	recs := r.of(id)
	if len(recs) != 1 {
		t.Fatalf("request %s has %d records, want exactly 1: %+v", id, len(recs), recs)
	}
	return recs[0]
}

// countingProvider is a fakeProvider that counts tokens upstream.
type countingProvider struct{ *fakeProvider }

var _ providers.TokenCounter = countingProvider{}

func (p countingProvider) CountTokens(ctx context.Context, req *providers.ChatRequest) (int64, error) {
	b := p.next(req, false)
	if b.err != nil {
		return 0, b.err
	}
	return 1234, nil
}

// embedProvider is a fakeProvider that serves embeddings: one vector per
// input, or short one vector when short is set.
type embedProvider struct {
	*fakeProvider
	short atomic.Bool
}

var _ providers.Embedder = (*embedProvider)(nil)

func (p *embedProvider) Embed(ctx context.Context, req *providers.EmbedRequest) (*providers.EmbedResponse, error) {
	b := p.next(&providers.ChatRequest{Model: req.Model, User: req.User}, false)
	if err := p.wait(ctx, b); err != nil {
		return nil, err
	}
	if b.err != nil {
		return nil, b.err
	}
	n := len(req.Inputs)
	if p.short.Load() {
		n--
	}
	resp := &providers.EmbedResponse{Model: req.Model, Usage: providers.Usage{InputTokens: int64(len(req.Inputs))}}
	for range n {
		resp.Vectors = append(resp.Vectors, []float32{1, 0})
	}
	return resp, nil
}

// testSecret is the virtual key every harness accepts.
const testSecret = "tg-engine-test-secret"

// The fake providers every harness has, and their models. m1 is served by
// p1 as upstream model up-1, and so on; p2 counts tokens upstream. Each
// harness also has the embedding model e1 on provider emb (embedder
// "emb", served as up-e), and the model mb of provider "broken", which
// fails to build.
var fakeIDs = []string{"p1", "p2", "p3"}

// price is every model's price: $1 per million input and $2 per million
// output tokens, so the default answer (10 in, 5 out) costs 20,000 nanos.
var price = store.Pricing{InputPerMillion: 1_000_000_000, OutputPerMillion: 2_000_000_000}

const defaultCost = 20_000

// harness is an Engine over fake providers.
type harness struct {
	eng   *Engine
	rec   *fakeRecorder
	reg   *registry.Registry
	provs map[string]*fakeProvider
	emb   *embedProvider
	n     atomic.Int64
}

// newHarness builds an engine with the fake providers p1–p3, models m1–m3
// (each on its provider, context window 100,000), a key of team-a, the
// given routes and engine options.
func newHarness(t testing.TB, routes []*routing.Route, opts ...Option) *harness {
	t.Helper()
	return newHarnessWith(t, routes, nil, opts...)
}

// newHarnessWith is newHarness with the configuration (and the fake
// providers' capabilities) changed by edit before the registry loads it.
func newHarnessWith(t testing.TB, routes []*routing.Route, edit func(*registrytest.Config, map[string]*fakeProvider), opts ...Option) *harness {
	t.Helper()
	h := &harness{rec: &fakeRecorder{}, provs: map[string]*fakeProvider{}}
	cfg := registrytest.Config{
		Teams: []store.Team{{ID: "team-a"}},
		Keys:  []store.Key{registrytest.Key("key-a", "team-a", testSecret)},
	}
	provs := map[string]providers.Provider{}
	for i, id := range fakeIDs {
		p := newFakeProvider(id)
		h.provs[id] = p
		provs[id] = p
		if id == "p2" {
			provs[id] = countingProvider{p}
		}
		cfg.Providers = append(cfg.Providers, store.Provider{ID: id, Type: "openai"})
		cfg.Models = append(cfg.Models, store.Model{Name: fmt.Sprintf("m%d", i+1), ProviderID: id,
			UpstreamModel: fmt.Sprintf("up-%d", i+1), ContextWindow: 100_000, Pricing: price})
	}
	h.emb = &embedProvider{fakeProvider: newFakeProvider("emb")}
	h.provs["emb"], provs["emb"] = h.emb.fakeProvider, h.emb
	cfg.Providers = append(cfg.Providers, store.Provider{ID: "emb", Type: "openai"}, store.Provider{ID: "broken", Type: "openai"})
	cfg.Models = append(cfg.Models,
		store.Model{Name: "e1", ProviderID: "emb", UpstreamModel: "up-e", Embedding: true, Pricing: price},
		store.Model{Name: "mb", ProviderID: "broken", UpstreamModel: "up-b", Pricing: price})
	for _, rt := range routes {
		cfg.Routes = append(cfg.Routes, registrytest.Route(rt))
	}
	if edit != nil {
		edit(&cfg, h.provs)
	}
	h.reg, _ = registrytest.New(t, cfg, provs)
	if len(h.reg.Routes()) != len(cfg.Routes) {
		t.Fatalf("%d of %d routes loaded: check their validity", len(h.reg.Routes()), len(cfg.Routes))
	}
	h.eng = New(h.reg, h.rec, opts...)
	return h
}

// call returns a new call with the harness's key and a fresh request id.
func (h *harness) call() *Call {
	return &Call{RequestID: fmt.Sprintf("req-%d", h.n.Add(1)), Surface: SurfaceOpenAI, Credential: testSecret}
}

// p returns a fake provider.
func (h *harness) p(id string) *fakeProvider { return h.provs[id] }

// userReq is a one-message chat request for model.
func userReq(model, text string) *providers.ChatRequest {
	return &providers.ChatRequest{Model: model, Messages: []providers.Message{
		{Role: providers.RoleUser, Content: []providers.Part{providers.TextPart(text)}}}}
}

// fallback is a fallback route over the models named (each a target
// resolved by model name), with options applied.
func fallback(name string, models []string, opts ...func(*routing.Route)) *routing.Route {
	rt := &routing.Route{Name: name, Strategy: routing.StrategyFallback}
	for _, m := range models {
		rt.Targets = append(rt.Targets, routing.Target{Model: m})
	}
	for _, o := range opts {
		o(rt)
	}
	return rt
}

// drain reads s to its end and returns the text and the error that
// ended it (nil for io.EOF).
func drain(ctx context.Context, s *Stream) (string, error) {
	var b strings.Builder
	for {
		c, err := s.Recv(ctx)
		if errors.Is(err, io.EOF) {
			return b.String(), nil
		}
		if err != nil {
			return b.String(), err
		}
		for _, d := range c.Choices {
			b.WriteString(d.Text)
		}
	}
}
