package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/semcache"
	"github.com/tollgate-dev/tollgate/service/guardrails"
	"github.com/tollgate-dev/tollgate/service/registry"
	"github.com/tollgate-dev/tollgate/service/routing"
	"github.com/tollgate-dev/tollgate/service/store"
)

// sliceStream is a providers.Stream replaying chunks, then ending with
// end (io.EOF when nil).
type sliceStream struct {
	chunks []*providers.Chunk
	end    error
	recvs  int
	closed int
}

var _ providers.Stream = (*sliceStream)(nil)

func (s *sliceStream) Recv() (*providers.Chunk, error) {
	s.recvs++
	if len(s.chunks) == 0 {
		if s.end != nil {
			return nil, s.end
		}
		return nil, io.EOF
	}
	c := s.chunks[0]
	s.chunks = s.chunks[1:]
	return c, nil
}
func (s *sliceStream) Header() http.Header { return http.Header{"X-Test": {"1"}} }
func (s *sliceStream) Close() error        { s.closed++; return nil }

// textChunks is an answer streamed in parts, then a usage chunk.
func textChunks(parts ...string) []*providers.Chunk {
	out := make([]*providers.Chunk, 0, len(parts)+1)
	for i, p := range parts {
		d := providers.ChoiceDelta{Text: p}
		if i == 0 {
			d.Role = providers.RoleAssistant
		}
		if i == len(parts)-1 {
			d.FinishReason = providers.FinishStop
		}
		out = append(out, &providers.Chunk{Model: "up-1", Choices: []providers.ChoiceDelta{d}})
	}
	return append(out, &providers.Chunk{Usage: &providers.Usage{InputTokens: 3, OutputTokens: 9}})
}

// readAll drains a stage and returns its text, whether a usage chunk came
// last, and the error that ended it (nil for io.EOF).
func readAll(t *testing.T, s chunkStream) (string, bool, error) {
	t.Helper()
	var text strings.Builder
	var sawUsage bool
	for {
		c, err := s.Recv(context.Background())
		if errors.Is(err, io.EOF) {
			return text.String(), sawUsage, nil
		}
		if err != nil {
			return text.String(), sawUsage, err
		}
		if sawUsage {
			t.Fatal("a chunk came after the usage chunk")
		}
		sawUsage = c.Usage != nil
		for _, d := range c.Choices {
			text.WriteString(d.Text)
		}
	}
}

func TestPeekedStage(t *testing.T) {
	t.Parallel()
	first := &providers.Chunk{Choices: []providers.ChoiceDelta{{Text: "first "}}}
	tests := []struct {
		name     string
		p        func(up *sliceStream) *peeked
		want     string
		upRecvs  int // calls of the upstream's Recv
		canceled bool
	}{
		{name: "first chunk, then the rest", p: func(up *sliceStream) *peeked { return &peeked{up: up, first: first} },
			want: "first rest", upRecvs: 2},
		{name: "ended before a first chunk: the upstream is not read again", p: func(up *sliceStream) *peeked { return &peeked{up: up, eof: true} },
			want: "", upRecvs: 0},
		{name: "replay without a peeked chunk", p: func(up *sliceStream) *peeked { return &peeked{up: up} }, want: "rest", upRecvs: 2},
		{name: "close ends the attempt", p: func(up *sliceStream) *peeked { return &peeked{up: up, first: first} },
			want: "first rest", upRecvs: 2, canceled: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			up := &sliceStream{chunks: []*providers.Chunk{{Choices: []providers.ChoiceDelta{{Text: "rest"}}}}}
			p := tt.p(up)
			var canceled bool
			if tt.canceled {
				p.cancel = func() { canceled = true }
			}
			got, _, err := readAll(t, p)
			if err != nil || got != tt.want || up.recvs != tt.upRecvs {
				t.Fatalf("read %q, %v with %d upstream reads; want %q with %d", got, err, up.recvs, tt.want, tt.upRecvs)
			}
			if err := p.Close(); err != nil || up.closed != 1 || canceled != tt.canceled {
				t.Errorf("Close: %v, upstream closed %d times, cancel called %v", err, up.closed, canceled)
			}
		})
	}
}

func TestGuardStage(t *testing.T) {
	t.Parallel()
	const key = "sk-proj-Zq8rT2vX9wLk4mNp7sBc3dFg6hJy1uQe"
	tests := []struct {
		name      string
		mode      guardrails.Mode
		chunks    []*providers.Chunk
		noUsage   bool
		wantText  string
		wantBlock bool
		wantLog   string
	}{
		{name: "clean text passes whole, usage last", mode: guardrails.ModeMutate,
			chunks: textChunks("hello ", "there, ", "friend"), wantText: "hello there, friend"},
		{name: "split key is redacted", mode: guardrails.ModeMutate,
			chunks: textChunks("key: "+key[:10], key[10:25], key[25:]+" ok"), wantText: "key: [API_KEY_1] ok", wantLog: "out/secrets:mutate"},
		{name: "held-back text is released at the end without a usage chunk", mode: guardrails.ModeMutate, noUsage: true,
			chunks: textChunks("no usage ", "reported"), wantText: "no usage reported"},
		{name: "split key blocks before any of it is sent", mode: guardrails.ModeValidate,
			chunks: textChunks("key: "+key[:10], key[10:25], key[25:]+" ok"), wantBlock: true, wantLog: "out/secrets:block"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			eng := guardrails.New()
			cp, err := eng.Compile(guardrails.Policy{ID: "out", Guardrails: []guardrails.Guardrail{{
				Name: "secrets", Kind: guardrails.KindSecrets, Stage: guardrails.StageOutput, Mode: tt.mode}}})
			if err != nil {
				t.Fatal(err)
			}
			chunks := tt.chunks
			if tt.noUsage {
				chunks = chunks[:len(chunks)-1]
			}
			run := &guardRun{eng: eng, set: guardrails.NewSet(cp), state: guardrails.NewState()}
			up := &sliceStream{chunks: chunks}
			g := &guard{below: &peeked{up: up}, f: eng.NewOutputFilter(run.set, run.state), run: run}
			text, sawUsage, err := readAll(t, g)
			if tt.wantBlock != errors.Is(err, guardrails.ErrBlocked) {
				t.Fatalf("err = %v, want a block: %v", err, tt.wantBlock)
			}
			if strings.Contains(text, key[:12]) {
				t.Fatalf("the key got through: %q", text)
			}
			if !tt.wantBlock && (text != tt.wantText || sawUsage == tt.noUsage) {
				t.Errorf("text = %q (usage seen %v), want %q", text, sawUsage, tt.wantText)
			}
			if got := GuardrailSummary(run.verdicts()); got != tt.wantLog {
				t.Errorf("verdicts = %q, want %q", got, tt.wantLog)
			}
			if err := g.Close(); err != nil || up.closed != 1 {
				t.Errorf("Close: %v, upstream closed %d times", err, up.closed)
			}
		})
	}
}

func TestCacheRecStage(t *testing.T) {
	t.Parallel()
	policy := semcache.Policy{Mode: semcache.ModeExact, TTL: time.Hour}
	tests := []struct {
		name       string
		end        error // the stream's end (nil: clean)
		closeEarly bool
		noStore    bool
		wantStored bool
	}{
		{name: "a clean end is stored at the stream's cost", wantStored: true},
		{name: "a failed stream is not stored", end: errors.New("upstream died")},
		{name: "a stream closed before its end is not stored", closeEarly: true},
		{name: "no-store is honoured", noStore: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := semcache.NewMemory()
			req := semcache.Request{Namespace: "team:a", Req: userReq("up-1", "q"), Policy: policy,
				Directives: semcache.Directives{NoStore: tt.noStore}}
			res := c.Lookup(context.Background(), req)
			up := &sliceStream{chunks: textChunks("cached ", "answer"), end: tt.end}
			r := &cacheRec{below: &peeked{up: up}, rec: c.NewRecorder(res), cost: func() int64 { return 777 }, log: slog.New(slog.DiscardHandler)}
			if tt.closeEarly {
				if _, err := r.Recv(context.Background()); err != nil {
					t.Fatal(err)
				}
			} else if _, _, err := readAll(t, r); (err != nil) != (tt.end != nil) {
				t.Fatalf("read: %v", err)
			}
			if err := r.Close(); err != nil || up.closed != 1 {
				t.Fatalf("Close: %v, upstream closed %d times", err, up.closed)
			}
			req.Directives = semcache.Directives{}
			hit := c.Lookup(context.Background(), req)
			if hit.Status.Hit() != tt.wantStored {
				t.Fatalf("later lookup: %s, want a hit: %v", hit.Status, tt.wantStored)
			}
			if tt.wantStored && (hit.Hit.CostNanos != 777 || hit.Hit.Response.Choices[0].Message.Text() != "cached answer") {
				t.Errorf("stored %q at %d nanos, want the answer at 777", hit.Hit.Response.Choices[0].Message.Text(), hit.Hit.CostNanos)
			}
		})
	}
}

func TestMeterStage(t *testing.T) {
	t.Parallel()
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	perToken := func(u providers.Usage) int64 { return 100*u.InputTokens + 1000*u.OutputTokens }
	tests := []struct {
		name     string
		chunks   []*providers.Chunk
		end      error
		readN    int // chunks read before Close; -1 reads to the end
		replay   bool
		wantErr  bool
		status   store.Status
		usage    providers.Usage
		cost     int64
		partial  bool
		wantTTFT bool
	}{
		{name: "reported usage", chunks: textChunks("one ", "two"), readN: -1, status: store.StatusOK,
			usage: providers.Usage{InputTokens: 3, OutputTokens: 9}, cost: 9300, wantTTFT: true},
		{name: "estimated usage without a usage chunk", chunks: textChunks("12345678")[:1], readN: -1, status: store.StatusOK,
			usage: providers.Usage{InputTokens: 42, OutputTokens: 2, Estimated: true}, cost: 6200, wantTTFT: true},
		{name: "death after a chunk is partial", chunks: textChunks("12345678")[:1], end: errors.New("reset"), readN: -1, wantErr: true,
			status: store.StatusInternalError, usage: providers.Usage{InputTokens: 42, OutputTokens: 2, Estimated: true}, cost: 6200,
			partial: true, wantTTFT: true},
		{name: "death before any chunk is not partial", end: &providers.Error{Provider: "p1", Kind: providers.KindConnection}, readN: -1,
			wantErr: true, status: store.StatusUpstreamError, usage: providers.Usage{InputTokens: 42, Estimated: true}, cost: 4200},
		{name: "closed mid-stream is cancelled", chunks: textChunks("1234", "5678"), readN: 1, status: store.StatusCanceled,
			usage: providers.Usage{InputTokens: 42, OutputTokens: 1, Estimated: true}, cost: 5200, partial: true, wantTTFT: true},
		{name: "closed after the end records nothing more", chunks: textChunks("ok"), readN: -1, status: store.StatusOK,
			usage: providers.Usage{InputTokens: 3, OutputTokens: 9}, cost: 9300, wantTTFT: true},
		{name: "a replay uses no upstream tokens and costs nothing", chunks: textChunks("cached"), readN: -1, replay: true,
			status: store.StatusOK, wantTTFT: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			now := start
			rec := &fakeRecorder{}
			e := &Engine{rec: rec, log: slog.New(slog.DiscardHandler), now: func() time.Time { return now }}
			price := perToken
			if tt.replay {
				price = func(providers.Usage) int64 { return 0 }
			}
			m := &meter{below: &peeked{up: &sliceStream{chunks: tt.chunks, end: tt.end}}, e: e, price: price, replay: tt.replay,
				promptEst: 42, rec: record{start: start, Record: store.Record{RequestID: "r1", Stream: true}}}
			now = now.Add(250 * time.Millisecond) // time to the first token
			var err error
			if tt.readN < 0 {
				_, _, err = readAll(t, m)
			} else {
				for range tt.readN {
					if _, err := m.Recv(context.Background()); err != nil {
						t.Fatal(err)
					}
				}
			}
			if (err != nil) != tt.wantErr {
				t.Fatalf("read: %v, want an error: %v", err, tt.wantErr)
			}
			_ = m.Close()
			_ = m.Close()
			got := rec.one(t, "r1")
			u := providers.Usage{InputTokens: got.InputTokens, OutputTokens: got.OutputTokens, Estimated: got.UsageEstimated}
			if got.Status != tt.status || u != tt.usage || got.CostNanos != tt.cost || got.Partial != tt.partial {
				t.Errorf("record %v usage %+v cost %d partial %v; want %v %+v %d %v", got.Status, u, got.CostNanos, got.Partial,
					tt.status, tt.usage, tt.cost, tt.partial)
			}
			if wantTTFT := map[bool]time.Duration{true: 250 * time.Millisecond}[tt.wantTTFT]; got.TTFT != wantTTFT {
				t.Errorf("TTFT %v, want %v", got.TTFT, wantTTFT)
			}
			if m.cost() != tt.cost {
				t.Errorf("cost after the end %d, want %d", m.cost(), tt.cost)
			}
		})
	}
}

// TestComposeStreamOrder pins the documented stage order.
func TestComposeStreamOrder(t *testing.T) {
	t.Parallel()
	eng := guardrails.New()
	cp, err := eng.Compile(guardrails.Policy{ID: "p", Guardrails: []guardrails.Guardrail{{
		Name: "secrets", Kind: guardrails.KindSecrets, Stage: guardrails.StageOutput, Mode: guardrails.ModeMutate}}})
	if err != nil {
		t.Fatal(err)
	}
	cache := semcache.NewMemory()
	res := cache.Lookup(context.Background(), semcache.Request{Namespace: "n", Req: userReq("m", "q"), Policy: semcache.Policy{Mode: semcache.ModeExact}})
	e := &Engine{cache: cache, log: slog.New(slog.DiscardHandler), now: time.Now}
	tests := []struct {
		name   string
		guard  *guardRun
		cache  *semcache.Result
		replay bool
		want   []string
	}{
		{name: "everything", guard: &guardRun{eng: eng, set: guardrails.NewSet(cp), state: guardrails.NewState()}, cache: res,
			want: []string{"*gateway.meter", "*gateway.cacheRec", "*gateway.guard", "*gateway.peeked"}},
		{name: "no output guardrails", cache: res, want: []string{"*gateway.meter", "*gateway.cacheRec", "*gateway.peeked"}},
		{name: "no cache", want: []string{"*gateway.meter", "*gateway.peeked"}},
		{name: "a replay is never recorded again", cache: res, replay: true, want: []string{"*gateway.meter", "*gateway.peeked"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := &chatPlan{guard: tt.guard, cache: tt.cache, req: userReq("m", "q"), route: &registry.Route{Route: &routing.Route{Name: "m"}}}
			s := e.composeStream(p, &peeked{up: &sliceStream{}}, 1, nil, tt.replay)
			var got []string
			for st := chunkStream(s.top); st != nil; {
				got = append(got, fmt.Sprintf("%T", st))
				switch v := st.(type) {
				case *meter:
					st = v.below
				case *cacheRec:
					st = v.below
				case *guard:
					st = v.below
				default:
					st = nil
				}
			}
			if strings.Join(got, " → ") != strings.Join(tt.want, " → ") {
				t.Errorf("stages %v, want %v", got, tt.want)
			}
		})
	}
}
