package openaiapi

import (
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/openai"
	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/edge"
	"github.com/tollgate-dev/tollgate/service/gateway"
)

// The legacy completions API (/v1/completions).
//
// A request runs the chat pipeline with the prompt as a user message (one
// per prompt of a list) and its body as the request's Source of dialect
// providers.DialectOpenAICompletions: OpenAI-dialect providers that serve
// /completions (OpenAI, vLLM and other OpenAI-compatible servers; the
// provider setting completions) receive the body as it was sent and their
// answer is relayed as it came; others receive the canonical chat
// translation, and what only the completions API has (echo, suffix,
// logprobs, best_of, logit_bias, several prompts, token-id prompts) is
// refused with a 400 naming the field (or dropped where the operator
// allows it). Without max_tokens the output is limited to 16 tokens, the
// API's default, on every upstream.

// defaultCompletionTokens is the completions API's default max_tokens.
const defaultCompletionTokens = 16

// completionDecoded is a decoded completions request.
type completionDecoded struct {
	req          providers.ChatRequest
	stream       bool
	includeUsage bool
}

// decodeCompletion decodes a completions body into d.
func decodeCompletion(body []byte, d *completionDecoded) error {
	w := new(schema.CompletionRequest)
	if err := apischema.Unmarshal(body, w); err != nil {
		return jsonError(err)
	}
	if w.Model == "" {
		return bad("model", "you must provide a model parameter")
	}
	if w.Prompt.IsZero() || len(w.Prompt.Texts) == 0 && len(w.Prompt.Tokens) == 0 {
		return bad("prompt", "you must provide a prompt: a string, an array of strings or of token ids")
	}
	r := &d.req
	r.Model, r.User = w.Model, w.User
	r.Temperature, r.TopP, r.N, r.Seed = w.Temperature, w.TopP, w.N, w.Seed
	r.PresencePenalty, r.FrequencyPenalty = w.PresencePenalty, w.FrequencyPenalty
	r.MaxTokens = w.MaxTokens
	if r.MaxTokens == nil {
		n := defaultCompletionTokens
		r.MaxTokens = &n
	}
	if w.Stop != nil {
		r.Stop = w.Stop.Values
	}
	promptMessages(r, w)
	d.stream = w.Stream
	if w.StreamOptions != nil && w.StreamOptions.IncludeUsage != nil {
		d.includeUsage = *w.StreamOptions.IncludeUsage
	}
	if w.StreamOptions != nil && !w.Stream {
		return bad("stream_options", "is only allowed when stream is true")
	}
	r.Source = &providers.Source{Dialect: providers.DialectOpenAICompletions, Body: body, Wire: &completionWire{in: w}}
	return nil
}

// promptMessages sets r's messages: a user message per prompt; token-id
// prompts as their ids in text, which only the prompt-token estimate and
// guardrails read (no translation can send them).
func promptMessages(r *providers.ChatRequest, w *schema.CompletionRequest) {
	r.Messages = r.Messages[:0]
	for _, p := range w.Prompt.Texts {
		r.Messages = append(r.Messages, providers.Message{Role: providers.RoleUser, Content: []providers.Part{providers.TextPart(p)}})
	}
	for _, ids := range w.Prompt.Tokens {
		var b strings.Builder
		for i, id := range ids {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(strconv.FormatInt(id, 10))
		}
		r.Messages = append(r.Messages, providers.Message{Role: providers.RoleUser, Content: []providers.Part{providers.TextPart(b.String())}})
	}
}

// completionWire is a decoded completions body (providers.Wire).
type completionWire struct {
	in       *schema.CompletionRequest
	once     sync.Once
	unmapped []providers.Field
}

// Unmapped implements providers.Wire: what the chat translation cannot
// carry.
func (x *completionWire) Unmapped() []providers.Field {
	x.once.Do(func() {
		in := x.in
		add := func(name string, v any, content bool) {
			if b, err := apischema.Marshal(v); err == nil {
				x.unmapped = append(x.unmapped, providers.Field{Name: name, Value: b, Content: content})
			}
		}
		if len(in.Prompt.Tokens) > 0 {
			add("prompt", &in.Prompt, true)
		} else if len(in.Prompt.Texts) > 1 {
			add("prompt", &in.Prompt, true)
		}
		if in.Echo {
			add("echo", true, false)
		}
		if in.Suffix != nil && *in.Suffix != "" {
			add("suffix", *in.Suffix, false)
		}
		if in.Logprobs != nil {
			add("logprobs", *in.Logprobs, false)
		}
		if in.BestOf != nil && *in.BestOf > 1 {
			add("best_of", *in.BestOf, false)
		}
		if len(in.LogitBias) > 0 && !apischema.IsNull(in.LogitBias) {
			x.unmapped = append(x.unmapped, providers.Field{Name: "logit_bias", Value: in.LogitBias})
		}
		for _, m := range apischema.Unknowns(in) {
			x.unmapped = append(x.unmapped, providers.Field{Name: m.Path, Value: m.Value})
		}
	})
	return x.unmapped
}

// Rewrite implements providers.Wire: the body with the prompts of req.
func (x *completionWire) Rewrite(req *providers.ChatRequest) ([]byte, error) {
	if len(x.in.Prompt.Tokens) > 0 {
		return nil, providers.ErrRewriteShape
	}
	slots := make([]providers.TextSlot, len(x.in.Prompt.Texts))
	for i := range x.in.Prompt.Texts {
		slots[i] = providers.TextSlot{Msg: i, Part: 0, Text: &x.in.Prompt.Texts[i]}
	}
	if err := providers.WriteTexts(req, slots); err != nil {
		return nil, err
	}
	return apischema.Marshal(x.in)
}

// legacyID derives the completion id from the gateway's request id.
func legacyID(requestID string) string { return "cmpl-" + strings.TrimPrefix(requestID, "req_") }

func legacyUsage(u providers.Usage) *schema.Usage {
	return &schema.Usage{PromptTokens: u.InputTokens, CompletionTokens: u.OutputTokens, TotalTokens: u.Total()}
}

// legacyFinish renders a canonical finish reason.
func legacyFinish(f providers.FinishReason) string {
	switch f {
	case providers.FinishLength, providers.FinishContentFilter:
		return string(f)
	}
	return schema.FinishStop
}

var nullValue = jsontext.Value("null")

func (h *Handler) completions(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var d completionDecoded
	if err := decodeCompletion(body, &d); err != nil {
		h.fail(w, r, err)
		return
	}
	call := h.call(r)
	call.Surface = gateway.SurfaceCompletions
	if call.Cache, err = edge.CacheDirectives(r.Header); err != nil {
		h.fail(w, r, err)
		return
	}
	if call.EndUser == "" {
		call.EndUser = d.req.User
	}
	if d.stream {
		h.completionStream(w, r, call, &d)
		return
	}
	requested := d.req.Model
	res, err := h.engine.Chat(r.Context(), call, &d.req)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	setResultHeaders(w.Header(), res)
	if raw := res.Response.Raw; raw != nil {
		h.writeBody(w, raw) // passed through: the upstream's answer as it sent it
		return
	}
	resp := res.Response
	created := h.now().Unix()
	if !resp.Created.IsZero() {
		created = resp.Created.Unix()
	}
	out := &schema.Completion{ID: legacyID(call.RequestID), Object: "text_completion", Created: created, Model: requested,
		Choices: make([]schema.CompletionChoice, len(resp.Choices)), Usage: legacyUsage(resp.Usage)}
	for i := range resp.Choices {
		c := &resp.Choices[i]
		f := legacyFinish(c.FinishReason)
		out.Choices[i] = schema.CompletionChoice{Text: c.Message.Text(), Index: c.Index, Logprobs: nullValue, FinishReason: apischema.ValueOf(&f)}
	}
	h.writeJSON(w, r, out)
}

// completionStream streams a completion: the upstream's events when it
// served the completions API, else text_completion events made from the
// canonical chunks.
func (h *Handler) completionStream(w http.ResponseWriter, r *http.Request, call *gateway.Call, d *completionDecoded) {
	ctx := r.Context()
	requested := d.req.Model
	st, err := h.engine.ChatStream(ctx, call, &d.req)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer st.Close()
	sw, stop := h.openStream(w, st)
	defer stop()
	ev := schema.Completion{ID: legacyID(call.RequestID), Object: "text_completion", Created: h.now().Unix(), Model: requested}
	event := func() ([]byte, error) {
		b, err := apischema.Marshal(&ev)
		if err != nil {
			return nil, err
		}
		out := make([]byte, 0, len(b)+8)
		return append(append(append(out, "data: "...), b...), "\n\n"...), nil
	}
	encode := func(c *providers.Chunk) ([]byte, error) {
		ev.Choices = ev.Choices[:0]
		for i := range c.Choices {
			cd := &c.Choices[i]
			ch := schema.CompletionChoice{Text: cd.Text, Index: cd.Index, Logprobs: nullValue, FinishReason: apischema.NullOf[string]()}
			if cd.FinishReason != "" {
				f := legacyFinish(cd.FinishReason)
				ch.FinishReason = apischema.ValueOf(&f)
			}
			if ch.Text != "" || ch.FinishReason.V != nil {
				ev.Choices = append(ev.Choices, ch)
			}
		}
		if len(ev.Choices) == 0 {
			return nil, nil
		}
		return event()
	}
	if h.relay(r, sw, st, call.RequestID, d.includeUsage, encode) {
		h.endStream(r, sw, call.RequestID, d.includeUsage && !st.Passthrough(), func() ([]byte, error) {
			ev.Choices, ev.Usage = []schema.CompletionChoice{}, legacyUsage(st.Usage())
			return event()
		})
	}
}
