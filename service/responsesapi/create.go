package responsesapi

import (
	"context"
	"net/http"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/openai"
	"github.com/tollgate-dev/tollgate/internal/readall"
	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/edge"
	"github.com/tollgate-dev/tollgate/service/gateway"
	"github.com/tollgate-dev/tollgate/service/store"
)

// turn is one POST /v1/responses being served.
type turn struct {
	req     *schema.ResponsesRequest
	call    *gateway.Call
	id      string
	ids     ids
	stored  bool
	teamID  string
	keyID   string
	history []schema.InputItem
	chat    *providers.ChatRequest
}

func (h *Handler) create(w http.ResponseWriter, r *http.Request) {
	t, err := h.prepare(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if t.req.Stream {
		h.stream(w, r, t)
		return
	}
	ctx := r.Context()
	res, err := h.engine.Chat(ctx, t.call, t.chat)
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
		// Passed through: the upstream's response as it sent it (but for
		// the client's previous_response_id), stored under its id.
		raw = withPrevious(raw, "", t.req.PreviousResponseID)
		var up schema.Response
		if err := apischema.UnmarshalLenient(raw, &up); err == nil && up.ID != "" {
			t.id = up.ID
			h.save(ctx, t, raw)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(raw)
		return
	}
	out := skeleton(t.req, t.id, t.call.Start.Unix(), t.stored)
	var msg providers.Message
	var reason providers.FinishReason
	if len(res.Response.Choices) > 0 {
		msg, reason = res.Response.Choices[0].Message, res.Response.Choices[0].FinishReason
	}
	out.Output = outputItems(&msg, t.ids)
	finish(out, reason, res.Response.Usage)
	if b, err := apischema.Marshal(out); err == nil {
		h.save(ctx, t, b)
	}
	h.writeJSON(w, r, out)
}

// prepare decodes the request, expands previous_response_id and builds
// the canonical request.
func (h *Handler) prepare(r *http.Request) (*turn, error) {
	b, err := readall.Read(r.Body, r.ContentLength, 0)
	if err != nil {
		return nil, err
	}
	req, err := decodeRequest(b)
	if err != nil {
		return nil, err
	}
	t := &turn{req: req, call: h.call(r)}
	if t.call.Cache, err = edge.CacheDirectives(r.Header); err != nil {
		return nil, err
	}
	if t.call.EndUser == "" {
		t.call.EndUser = req.User
	}
	t.call.Metadata = req.Metadata
	t.id = responseID(t.call.RequestID)
	t.ids = newIDs(t.id)
	t.stored = req.Store == nil || *req.Store
	if h.store == nil {
		if req.PreviousResponseID != "" || (req.Store != nil && *req.Store) {
			return nil, errNoStore
		}
		t.stored = false
	}
	if t.stored || req.PreviousResponseID != "" {
		// The team scopes stored responses. A caller the engine refuses
		// is refused (and recorded) by the engine below.
		teamID, keyID, aerr := h.team(r.Context(), t.call)
		if aerr == nil {
			t.teamID, t.keyID = teamID, keyID
			if req.PreviousResponseID != "" {
				if t.history, err = h.history(r.Context(), teamID, req.PreviousResponseID); err != nil {
					return nil, err
				}
			}
		}
	}
	if t.stored && !h.cacheStored {
		// A stored conversation's answers stay out of the shared cache.
		t.call.Cache.NoStore = true
	}
	if t.chat, err = canonical(req, t.history); err != nil {
		return nil, err
	}
	if t.chat.Source, err = t.source(b, r.Header); err != nil {
		return nil, err
	}
	return t, nil
}

// history returns the conversation a previous response continues: its
// input items and its output.
func (h *Handler) history(ctx context.Context, teamID, id string) ([]schema.InputItem, error) {
	sr, err := h.store.GetResponse(ctx, teamID, id)
	if err != nil {
		if isNotFound(err) {
			return nil, notFound("previous_response_id", id)
		}
		return nil, err
	}
	var items []schema.InputItem
	if err := apischema.UnmarshalLenient(sr.Input, &items); err != nil {
		return nil, err
	}
	var prev schema.Response
	if err := apischema.UnmarshalLenient(sr.Response, &prev); err != nil {
		return nil, err
	}
	return append(items, asInput(prev.Output)...), nil
}

// inputItems returns the items the model saw for t: the history, then
// t's own input, each with an id.
func (t *turn) inputItems() []schema.InputItem {
	items := append([]schema.InputItem(nil), t.history...)
	var own []schema.InputItem
	if t.req.Input.Text != nil {
		s := *t.req.Input.Text
		own = []schema.InputItem{{Type: schema.ItemMessage, Role: "user",
			Content: schema.ResponsesContent{Parts: []schema.ResponsesContentPart{schema.InputText(s)}}}}
	} else {
		own = append(own, t.req.Input.Items...)
	}
	for i := range own {
		it := own[i]
		if it.Type == "" {
			it.Type = schema.ItemMessage
		}
		if it.ID == "" {
			it.ID = t.ids.input(i)
			if it.Type == schema.ItemMessage {
				it.ID = "msg_" + it.ID
			}
		}
		if it.Type == schema.ItemMessage && it.Content.Text != nil {
			part := schema.InputText(*it.Content.Text)
			if it.Role == "assistant" {
				part = schema.OutputText(*it.Content.Text)
			}
			it.Content = schema.ResponsesContent{Parts: []schema.ResponsesContentPart{part}}
		}
		if it.Status == "" && it.Type == schema.ItemMessage {
			it.Status = schema.StatusCompleted
		}
		items = append(items, it)
	}
	return items
}

// save stores a finished response of a stored turn: resp is the
// response object's JSON. A failure is logged: the caller was served (and
// charged); only the conversation cannot continue from this response.
func (h *Handler) save(ctx context.Context, t *turn, resp []byte) {
	if !t.stored || t.teamID == "" {
		return
	}
	input, err := apischema.Marshal(t.inputItems())
	if err == nil {
		err = h.store.PutResponse(context.WithoutCancel(ctx), &store.StoredResponse{ID: t.id, TeamID: t.teamID,
			KeyID: t.keyID, PreviousID: t.req.PreviousResponseID, Model: t.req.Model, CreatedAt: t.call.Start,
			Input: input, Response: resp})
	}
	if err != nil {
		h.log.ErrorContext(ctx, "responses: could not store a response", "response_id", t.id, "err", err)
	}
}
