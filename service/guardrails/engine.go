package guardrails

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tollgate-dev/tollgate/providers"
)

// DefaultWindow is the default hold-back of the stream filter, in bytes.
const DefaultWindow = 64

// maxHold bounds what the stream filter holds back for an unfinished
// secret (a PEM block without its END line): past it, text is released.
const maxHold = 16 << 10

// Verdict records what one guardrail did to one request. It names the
// guardrail and counts matches by category; it never holds the text that
// matched.
type Verdict struct {
	Policy    string
	Guardrail string
	Kind      Kind
	// Stage is input or output.
	Stage Stage
	Mode  Mode
	// Action is flag, block, mutate or error.
	Action Action
	// Categories are the sorted distinct categories ("email", "jwt",
	// "ignore_instructions", "off_topic").
	Categories []string
	// Count is the number of matches (texts, for scored and external checks).
	Count int
	// Score is the highest injection score, 0 for other kinds.
	Score float64
	// Error classifies a failed guardrail: "timeout", "unavailable" or
	// "bad response".
	Error string
}

// Result is the outcome of the input stage.
type Result struct {
	// Request is the request to send upstream: the caller's own when
	// nothing was rewritten, else a rewritten copy. The caller's request is
	// never modified.
	Request *providers.ChatRequest
	// Verdicts lists what the guardrails did, in the order they ran.
	Verdicts []Verdict
	// Blocked is the verdict that blocked the request, nil if none.
	Blocked *Verdict
	// State is the request's guardrail state; pass it to NewOutputFilter.
	State *State
}

// Engine compiles and runs guardrail policies. It is safe for concurrent
// use.
type Engine struct {
	client      *http.Client
	classifiers map[string]Classifier
	window      int
	now         func() time.Time
	// anyClassifier accepts any classifier name (for Validate).
	anyClassifier bool
}

// Option adjusts New.
type Option func(*Engine)

// WithHTTPClient sets the client of webhook guardrails; the default is a
// client without a timeout of its own (each guardrail has one).
func WithHTTPClient(c *http.Client) Option { return func(e *Engine) { e.client = c } }

// WithClassifier makes c available to moderation guardrails under name
// ("default" is used when a guardrail names none).
func WithClassifier(name string, c Classifier) Option {
	return func(e *Engine) { e.classifiers[name] = c }
}

// WithStreamWindow sets how many bytes the stream filter holds back
// (default [DefaultWindow]); matches up to that length that span chunks are
// caught before any of their text is sent.
func WithStreamWindow(n int) Option {
	return func(e *Engine) {
		if n > 0 {
			e.window = n
		}
	}
}

// WithClock sets the clock of webhook timestamps.
func WithClock(now func() time.Time) Option { return func(e *Engine) { e.now = now } }

// New returns an engine.
func New(opts ...Option) *Engine {
	e := &Engine{client: &http.Client{}, classifiers: map[string]Classifier{}, window: DefaultWindow, now: time.Now}
	for _, o := range opts {
		o(e)
	}
	return e
}

// judgeInput is what a whole-text detector judges.
type judgeInput struct{ texts []string }

// finding is a whole-text detector's result; count > 0 is a match.
type finding struct {
	categories []string
	count      int
	score      float64
}

type judge interface{ judge(judgeInput) finding }

// extCall is what an external guardrail is asked.
type extCall struct {
	policy, guardrail string
	stage             Stage
	texts             []WebhookText
}

// extResult is an external guardrail's answer; action "" allows.
type extResult struct {
	action      Action
	categories  []string
	replacement []string
}

type external interface {
	check(ctx context.Context, call extCall) (extResult, error)
}

// rail is a compiled guardrail: exactly one of spans, judge and ext is set.
type rail struct {
	policy string
	g      Guardrail
	spans  *spanDetector
	judge  judge
	ext    external
}

// CompiledPolicy is a policy whose patterns, schemas and clients are
// ready to run.
type CompiledPolicy struct {
	Policy Policy
	rails  []*rail
}

// Compile checks and compiles p; errors wrap ErrInvalidPolicy.
func (e *Engine) Compile(p Policy) (*CompiledPolicy, error) {
	cp := &CompiledPolicy{Policy: p}
	seen := map[string]bool{}
	for _, g := range p.Guardrails {
		g, err := g.normalize()
		if err != nil {
			return nil, err
		}
		if seen[g.Name] {
			return nil, fmt.Errorf("%w: guardrail name %q is used twice", ErrInvalidPolicy, g.Name)
		}
		seen[g.Name] = true
		r := &rail{policy: p.ID, g: g}
		mutable := false
		switch g.Kind {
		case KindPII:
			r.spans, err = newPII(g.Config)
			mutable = true
		case KindSecrets:
			r.spans, err = newSecrets(g.Config)
			mutable = true
		case KindDenyList:
			r.spans, err = newDenyList(g.Config)
			mutable = true
		case KindInjection:
			r.judge, err = newInjection(g.Config)
		case KindSize:
			r.judge, err = newSize(g.Config)
		case KindTopics:
			r.judge, err = newTopics(g.Config)
		case KindJSONSchema:
			if g.Stage != StageOutput {
				return nil, fmt.Errorf("%w: guardrail %q: json_schema runs at the output stage only", ErrInvalidPolicy, g.Name)
			}
			r.judge, err = newSchema(g.Config)
		case KindWebhook:
			r.ext, err = newWebhook(g.Config, e.client, e.now)
			mutable = true
		case KindModeration:
			cs := e.classifiers
			if e.anyClassifier {
				cs = nil
			}
			r.ext, err = newModeration(g.Config, cs)
		default:
			return nil, fmt.Errorf("%w: guardrail %q: unknown kind %q", ErrInvalidPolicy, g.Name, g.Kind)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: guardrail %q: %w", ErrInvalidPolicy, g.Name, err)
		}
		if g.Mode == ModeMutate && !mutable {
			return nil, fmt.Errorf("%w: guardrail %q: kind %s cannot mutate", ErrInvalidPolicy, g.Name, g.Kind)
		}
		cp.rails = append(cp.rails, r)
	}
	return cp, nil
}

// Validate checks that p compiles, without the engine's dependencies:
// any classifier name is accepted. The admin API calls it before storing.
func Validate(p Policy) error {
	e := New()
	e.anyClassifier = true
	_, err := e.Compile(p)
	return err
}

// Set is the guardrails that apply to one request, in execution order.
// Sets are immutable and may be shared.
type Set struct {
	input, output []*rail
}

// NewSet merges policies given in input order (see [Registry.Resolve]):
// the input stage runs them in that order, the output stage in reverse,
// so that the policy closest to the client sees the output last. Within
// each stage, local checks run first in that order, then the external ones
// concurrently.
func NewSet(ps ...*CompiledPolicy) *Set {
	s := &Set{}
	for _, p := range ps {
		for _, r := range p.rails {
			if r.g.Stage.has(StageInput) {
				s.input = append(s.input, r)
			}
		}
	}
	for _, p := range slices.Backward(ps) {
		for _, r := range p.rails {
			if r.g.Stage.has(StageOutput) {
				s.output = append(s.output, r)
			}
		}
	}
	local := func(r *rail) int {
		if r.ext != nil {
			return 1
		}
		return 0
	}
	cmp := func(a, b *rail) int { return local(a) - local(b) }
	slices.SortStableFunc(s.input, cmp)
	slices.SortStableFunc(s.output, cmp)
	return s
}

// Empty reports whether the set checks nothing.
func (s *Set) Empty() bool { return s == nil || len(s.input)+len(s.output) == 0 }

// HasOutput reports whether the set checks output, so the caller can skip
// the output filter.
func (s *Set) HasOutput() bool { return s != nil && len(s.output) > 0 }

func (r *rail) verdict(stage Stage) Verdict {
	return Verdict{Policy: r.policy, Guardrail: r.g.Name, Kind: r.g.Kind, Stage: stage, Mode: r.g.Mode}
}

// segment locates one checked text of a request.
type segment struct{ msg, part int }

// reqCopy rewrites a request copy-on-write.
type reqCopy struct {
	orig, cur *providers.ChatRequest
	cloned    []bool
}

func (c *reqCopy) set(sg segment, text string) {
	if c.cur == c.orig {
		cp := *c.orig
		cp.Messages = slices.Clone(c.orig.Messages)
		c.cur = &cp
		c.cloned = make([]bool, len(cp.Messages))
	}
	if !c.cloned[sg.msg] {
		c.cur.Messages[sg.msg].Content = slices.Clone(c.cur.Messages[sg.msg].Content)
		c.cloned[sg.msg] = true
	}
	c.cur.Messages[sg.msg].Content[sg.part].Text = text
}

// segments returns the text parts in r's scope.
func segments(req *providers.ChatRequest, r *rail, dst []segment) []segment {
	for i := range req.Messages {
		m := &req.Messages[i]
		if !r.g.inScope(m.Role) {
			continue
		}
		for j := range m.Content {
			if m.Content[j].Type == providers.PartText && m.Content[j].Text != "" {
				dst = append(dst, segment{i, j})
			}
		}
	}
	return dst
}

func textOf(req *providers.ChatRequest, sg segment) string {
	return req.Messages[sg.msg].Content[sg.part].Text
}

// CheckInput runs the input stage of set on req. When a guardrail blocks,
// it returns the Result (whose verdicts should still be recorded) and a
// *BlockedError; other errors are the context's.
func (e *Engine) CheckInput(ctx context.Context, set *Set, req *providers.ChatRequest) (*Result, error) {
	res := &Result{Request: req, State: NewState()}
	if set == nil || len(set.input) == 0 {
		return res, nil
	}
	rc := reqCopy{orig: req, cur: req}
	var segs []segment
	var spans []span
	var exts []*rail
	for _, r := range set.input {
		if r.ext != nil {
			exts = append(exts, r)
			continue
		}
		segs = segments(rc.cur, r, segs[:0])
		if len(segs) == 0 {
			continue
		}
		v := r.verdict(StageInput)
		if r.spans != nil {
			var b strings.Builder
			for _, sg := range segs {
				text := textOf(rc.cur, sg)
				spans = r.spans.find(text, spans[:0])
				if len(spans) == 0 {
					continue
				}
				countSpans(&v, spans)
				if r.g.Mode == ModeMutate {
					rc.set(sg, replaceSpans(&b, text, spans, res.State, r.spans.reversible))
				}
			}
			if v.Count == 0 {
				continue
			}
			v.Action = r.g.OnMatch
			if r.g.Mode == ModeMutate {
				v.Action = ActionMutate
			}
		} else {
			texts := make([]string, len(segs))
			for i, sg := range segs {
				texts[i] = textOf(rc.cur, sg)
			}
			f := r.judge.judge(judgeInput{texts: texts})
			if f.count == 0 {
				continue
			}
			v.Action, v.Count, v.Score, v.Categories = r.g.OnMatch, f.count, f.score, sortedCategories(f.categories)
		}
		res.Verdicts = append(res.Verdicts, v)
		if v.Action == ActionBlock {
			res.Request = rc.cur
			res.Blocked = &res.Verdicts[len(res.Verdicts)-1]
			return res, blocked(res.Blocked)
		}
	}
	if len(exts) > 0 {
		calls := make([]extCall, len(exts))
		segsOf := make([][]segment, len(exts))
		for i, r := range exts {
			segsOf[i] = segments(rc.cur, r, nil)
			calls[i] = extCall{policy: r.policy, guardrail: r.g.Name, stage: StageInput, texts: make([]WebhookText, len(segsOf[i]))}
			for j, sg := range segsOf[i] {
				calls[i].texts[j] = WebhookText{Role: rc.cur.Messages[sg.msg].Role, Text: textOf(rc.cur, sg)}
			}
		}
		results, errs := runExternal(ctx, exts, calls)
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("guardrails: input: %w", err)
		}
		for i, r := range exts {
			if len(calls[i].texts) == 0 {
				continue
			}
			v, ok := externalVerdict(r, StageInput, results[i], errs[i])
			if !ok {
				continue
			}
			if v.Action == ActionMutate {
				for j, sg := range segsOf[i] {
					rc.set(sg, results[i].replacement[j])
				}
			}
			res.Verdicts = append(res.Verdicts, v)
			if v.Action == ActionBlock || (v.Action == ActionError && !r.g.FailOpen) {
				if res.Blocked == nil {
					res.Blocked = &res.Verdicts[len(res.Verdicts)-1]
				}
			}
		}
	}
	res.Request = rc.cur
	if res.Blocked != nil {
		return res, blocked(res.Blocked)
	}
	return res, nil
}

// runExternal runs the external checks concurrently.
func runExternal(ctx context.Context, rails []*rail, calls []extCall) ([]extResult, []error) {
	results := make([]extResult, len(rails))
	errs := make([]error, len(rails))
	var wg sync.WaitGroup
	for i, r := range rails {
		if len(calls[i].texts) == 0 {
			continue
		}
		wg.Go(func() { results[i], errs[i] = r.ext.check(ctx, calls[i]) })
	}
	wg.Wait()
	return results, errs
}

// externalVerdict turns an external answer into a verdict; ok is false
// when the guardrail allowed.
func externalVerdict(r *rail, stage Stage, res extResult, err error) (Verdict, bool) {
	v := r.verdict(stage)
	if err != nil {
		v.Action, v.Error = ActionError, errorClass(err)
		v.Categories = []string{"guardrail_error"}
		return v, true
	}
	if res.action == "" {
		return v, false
	}
	v.Action, v.Count, v.Categories = res.action, 1, sortedCategories(res.categories)
	switch {
	case r.g.Kind == KindModeration:
		v.Action = r.g.OnMatch
	case res.action == ActionMutate && r.g.Mode != ModeMutate:
		v.Action = ActionFlag
	}
	return v, true
}

func errorClass(err error) string {
	for _, e := range []error{errTimeout, errUnavailable, errBadResponse} {
		if errors.Is(err, e) {
			return e.Error()
		}
	}
	return errUnavailable.Error()
}

// countSpans adds spans to v's count and categories.
func countSpans(v *Verdict, spans []span) {
	v.Count += len(spans)
	for _, s := range spans {
		if !slices.Contains(v.Categories, s.typ.category) {
			v.Categories = append(v.Categories, s.typ.category)
		}
	}
	slices.Sort(v.Categories)
}

// replaceSpans returns text with each span replaced by its placeholder.
func replaceSpans(b *strings.Builder, text string, spans []span, st *State, reversible bool) string {
	b.Reset()
	last := 0
	for _, s := range spans {
		b.WriteString(text[last:s.start])
		b.WriteString(st.placeholder(s.typ.label, text[s.start:s.end], reversible))
		last = s.end
	}
	b.WriteString(text[last:])
	return b.String()
}

func sortedCategories(c []string) []string {
	if len(c) == 0 {
		return nil
	}
	c = slices.Clone(c)
	slices.Sort(c)
	return slices.Compact(c)
}

func mergeCategories(dst, src []string) []string {
	for _, c := range src {
		if !slices.Contains(dst, c) {
			dst = append(dst, c)
		}
	}
	return dst
}
