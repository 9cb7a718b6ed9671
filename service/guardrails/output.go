package guardrails

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/tollgate-dev/tollgate/providers"
)

// OutputFilter runs the output stage of one request: [OutputFilter.CheckOutput]
// for a unary response, or [OutputFilter.Filter] on each chunk of a stream
// and [OutputFilter.Close] at its end. It is not safe for concurrent use.
//
// Streams: the span guardrails (pii, secrets, denylist) run on a sliding
// window. The filter holds back the last W bytes of each choice's text
// (WithStreamWindow) plus any match or likely start of a secret that
// reaches the end of what has arrived, so a match split across chunks is
// caught before any of it is sent: block ends the stream with a
// *BlockedError, mutate sends the placeholder instead. The cost is latency:
// the client sees each character only once W more have arrived (or the
// choice finished); with W=64 about 16 tokens. Whole-text guardrails
// (injection, size, topics, json_schema, webhook, moderation) need the
// whole answer: they run when a choice finishes, before its finishing
// delta is released; they can block the end of the stream but cannot
// recall text already sent, so a webhook's mutate is recorded as a flag.
type OutputFilter struct {
	e       *Engine
	st      *State
	rails   []*rail
	local   []*rail
	whole   []*rail
	acc     []*Verdict
	choices map[int]*choiceBuf
	blocked *BlockedError
}

// choiceBuf is the stream state of one choice.
type choiceBuf struct {
	// pending is checked text not yet released.
	pending string
	// full is all the checked text so far, for whole-text guardrails.
	full strings.Builder
	done bool
}

// NewOutputFilter returns the output filter of one request; st is the
// Result.State of its input stage (nil when the input stage did not run).
func (e *Engine) NewOutputFilter(set *Set, st *State) *OutputFilter {
	if st == nil {
		st = NewState()
	}
	f := &OutputFilter{e: e, st: st, choices: map[int]*choiceBuf{}}
	if set != nil {
		f.rails = set.output
	}
	for _, r := range f.rails {
		if r.spans != nil {
			f.local = append(f.local, r)
		} else {
			f.whole = append(f.whole, r)
		}
	}
	f.acc = make([]*Verdict, len(f.rails))
	return f
}

// OutputResult is the outcome of CheckOutput.
type OutputResult struct {
	// Response is the response to return: the caller's own when nothing
	// changed, else a rewritten copy.
	Response *providers.ChatResponse
	// Verdicts lists what the guardrails did.
	Verdicts []Verdict
	// Blocked is the verdict that blocked the response, nil if none.
	Blocked *Verdict
}

// CheckOutput runs the output stage on a unary response. Reversible
// placeholders of the input are restored. When a guardrail blocks it
// returns the result and a *BlockedError.
func (f *OutputFilter) CheckOutput(ctx context.Context, resp *providers.ChatResponse) (*OutputResult, error) {
	out := &OutputResult{Response: resp}
	var copied bool
	for i := range resp.Choices {
		m := &resp.Choices[i].Message
		text := m.Text()
		if text == "" {
			continue
		}
		got, err := f.push(ctx, f.buf(resp.Choices[i].Index), text, true)
		out.Verdicts = f.Verdicts()
		if err != nil {
			if b, ok := err.(*BlockedError); ok {
				out.Blocked = f.blockedVerdict(b)
				return out, b
			}
			return out, err
		}
		if got == text {
			continue
		}
		if !copied {
			cp := *resp
			cp.Choices = append([]providers.Choice(nil), resp.Choices...)
			out.Response, copied = &cp, true
		}
		// The text parts are replaced by one part with the checked text.
		var parts []providers.Part
		added := false
		for _, p := range m.Content {
			if p.Type != providers.PartText {
				parts = append(parts, p)
			} else if !added {
				parts = append(parts, providers.TextPart(got))
				added = true
			}
		}
		out.Response.Choices[i].Message.Content = parts
	}
	out.Verdicts = f.Verdicts()
	return out, nil
}

// Filter checks one chunk of a stream and returns the chunk to send: the
// same chunk when nothing is held back or changed, else a copy whose text
// deltas carry the released text (possibly empty). On a delta with a
// finish reason the choice's held-back text is released with it, after the
// whole-text guardrails ran. After a *BlockedError the stream must end.
func (f *OutputFilter) Filter(ctx context.Context, c *providers.Chunk) (*providers.Chunk, error) {
	if f.blocked != nil {
		return nil, f.blocked
	}
	if len(f.rails) == 0 && !f.st.Reversible() {
		return c, nil
	}
	var out *providers.Chunk
	for i := range c.Choices {
		d := &c.Choices[i]
		if d.Text == "" && d.FinishReason == "" {
			continue
		}
		b := f.buf(d.Index)
		got, err := f.push(ctx, b, d.Text, d.FinishReason != "")
		if err != nil {
			return nil, err
		}
		if got == d.Text {
			continue
		}
		if out == nil {
			cp := *c
			cp.Choices = append([]providers.ChoiceDelta(nil), c.Choices...)
			out = &cp
		}
		out.Choices[i].Text = got
	}
	if out == nil {
		return c, nil
	}
	return out, nil
}

// Close ends the stream: it releases what is still held back for choices
// that never finished, after the whole-text guardrails ran, as a chunk of
// text deltas (nil when nothing is left).
func (f *OutputFilter) Close(ctx context.Context) (*providers.Chunk, error) {
	if f.blocked != nil {
		return nil, f.blocked
	}
	var out *providers.Chunk
	for idx, b := range f.choices {
		if b.done {
			continue
		}
		got, err := f.push(ctx, b, "", true)
		if err != nil {
			return nil, err
		}
		if got == "" {
			continue
		}
		if out == nil {
			out = &providers.Chunk{}
		}
		out.Choices = append(out.Choices, providers.ChoiceDelta{Index: idx, Text: got})
	}
	return out, nil
}

// Verdicts returns what the output guardrails did so far, one verdict per
// guardrail that acted, in order.
func (f *OutputFilter) Verdicts() []Verdict {
	var vs []Verdict
	for _, v := range f.acc {
		if v != nil {
			vs = append(vs, *v)
		}
	}
	return vs
}

func (f *OutputFilter) blockedVerdict(b *BlockedError) *Verdict {
	for _, v := range f.acc {
		if v != nil && v.Guardrail == b.Guardrail && v.Policy == b.Policy && (v.Action == ActionBlock || v.Action == ActionError) {
			c := *v
			return &c
		}
	}
	return nil
}

func (f *OutputFilter) buf(idx int) *choiceBuf {
	b := f.choices[idx]
	if b == nil {
		b = &choiceBuf{}
		f.choices[idx] = b
	}
	return b
}

// record adds to the verdict of rail i.
func (f *OutputFilter) record(i int, action Action, count int, cats []string, score float64, errClass string) *Verdict {
	v := f.acc[i]
	if v == nil {
		nv := f.rails[i].verdict(StageOutput)
		v = &nv
		f.acc[i] = v
	}
	// A stronger action wins: block/error over mutate over flag.
	if v.Action == "" || rank(action) > rank(v.Action) {
		v.Action = action
	}
	v.Count += count
	v.Categories = sortedCategories(mergeCategories(v.Categories, cats))
	v.Score = max(v.Score, score)
	if errClass != "" {
		v.Error = errClass
	}
	return v
}

func rank(a Action) int {
	switch a {
	case ActionFlag:
		return 1
	case ActionMutate:
		return 2
	case ActionError:
		return 3
	case ActionBlock:
		return 4
	}
	return 0
}

func (f *OutputFilter) railIndex(r *rail) int {
	for i, x := range f.rails {
		if x == r {
			return i
		}
	}
	return -1
}

func (f *OutputFilter) block(i int, action Action, count int, cats []string, score float64, errClass string) error {
	v := f.record(i, action, count, cats, score, errClass)
	f.blocked = blocked(v)
	return f.blocked
}

// push appends text to the choice and returns what may be released. With
// final, everything is released after the whole-text guardrails ran.
func (f *OutputFilter) push(ctx context.Context, b *choiceBuf, text string, final bool) (string, error) {
	if b.done {
		return text, nil
	}
	pending := b.pending + text
	var spans []span
	var sb strings.Builder
	// Phase A: act on every complete match.
	for _, r := range f.local {
		i := f.railIndex(r)
		spans = r.spans.find(pending, spans[:0])
		closed := spans[:0:0]
		for _, s := range spans {
			if final || s.end < len(pending) {
				closed = append(closed, s)
			}
		}
		if len(closed) == 0 || r.g.Mode != ModeMutate && r.g.OnMatch != ActionBlock {
			continue // flags are counted when released, below
		}
		var cats []string
		for _, s := range closed {
			cats = mergeCategories(cats, []string{s.typ.category})
		}
		if r.g.Mode != ModeMutate {
			return "", f.block(i, ActionBlock, len(closed), cats, 0, "")
		}
		f.record(i, ActionMutate, len(closed), cats, 0, "")
		pending = replaceSpans(&sb, pending, closed, f.st, false)
	}
	// Phase B: find where to cut: not inside a match, not after the start
	// of an unfinished one, and W bytes before the end.
	cut := len(pending)
	if !final {
		cut = max(0, len(pending)-f.e.window)
		var all []span
		for _, r := range f.local {
			all = r.spans.find(pending, all)
			if r.spans.tail != nil {
				if i := r.spans.tail(pending); i >= 0 {
					cut = min(cut, i)
				}
			}
		}
		if f.st.Reversible() {
			for _, loc := range placeholderRE.FindAllStringIndex(pending, -1) {
				all = append(all, span{start: loc[0], end: loc[1]})
			}
			if i := placeholderTail(pending); i >= 0 {
				cut = min(cut, i)
			}
		}
		for moved := true; moved; {
			moved = false
			for _, s := range all {
				if s.start < cut && (s.end > cut || s.end == len(pending)) {
					cut, moved = s.start, true
				}
			}
		}
		if cut == 0 && len(pending) > maxHold {
			cut = len(pending) - f.e.window
		}
		for cut > 0 && cut < len(pending) && !utf8.RuneStart(pending[cut]) {
			cut--
		}
	}
	release := pending[:cut]
	// Flags are counted on the released text, so each match once.
	for _, r := range f.local {
		if r.g.Mode == ModeMutate || r.g.OnMatch == ActionBlock || release == "" {
			continue
		}
		spans = r.spans.find(release, spans[:0])
		if len(spans) > 0 {
			var cats []string
			for _, s := range spans {
				cats = mergeCategories(cats, []string{s.typ.category})
			}
			f.record(f.railIndex(r), ActionFlag, len(spans), cats, 0, "")
		}
	}
	b.full.WriteString(release)
	b.pending = pending[cut:]
	if final {
		b.done = true
		if err := f.runWhole(ctx, b.full.String()); err != nil {
			return "", err
		}
	}
	return f.st.Restore(release), nil
}

// runWhole runs the whole-text guardrails on a finished choice.
func (f *OutputFilter) runWhole(ctx context.Context, text string) error {
	if len(f.whole) == 0 || text == "" {
		return nil
	}
	var exts []*rail
	var calls []extCall
	for _, r := range f.whole {
		if r.ext != nil {
			exts = append(exts, r)
			calls = append(calls, extCall{policy: r.policy, guardrail: r.g.Name, stage: StageOutput,
				texts: []WebhookText{{Role: providers.RoleAssistant, Text: text}}})
			continue
		}
		fd := r.judge.judge(judgeInput{texts: []string{text}})
		if fd.count == 0 {
			continue
		}
		if r.g.OnMatch == ActionBlock {
			return f.block(f.railIndex(r), ActionBlock, fd.count, fd.categories, fd.score, "")
		}
		f.record(f.railIndex(r), ActionFlag, fd.count, fd.categories, fd.score, "")
	}
	if len(exts) == 0 {
		return nil
	}
	results, errs := runExternal(ctx, exts, calls)
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("guardrails: output: %w", err)
	}
	var first error
	for i, r := range exts {
		v, ok := externalVerdict(r, StageOutput, results[i], errs[i])
		if !ok {
			continue
		}
		if v.Action == ActionMutate {
			v.Action = ActionFlag // text already sent cannot be rewritten
		}
		ri := f.railIndex(r)
		if first == nil && (v.Action == ActionBlock || v.Action == ActionError && !r.g.FailOpen) {
			first = f.block(ri, v.Action, v.Count, v.Categories, 0, v.Error)
			continue
		}
		f.record(ri, v.Action, v.Count, v.Categories, 0, v.Error)
	}
	return first
}
