package anthropicapi

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/anthropic"
	"github.com/tollgate-dev/tollgate/service/gateway"
	"github.com/tollgate-dev/tollgate/service/registry"
)

// Page size limits of GET /v1/models, as Anthropic's.
const (
	defaultModelPage = 20
	maxModelPage     = 1000
)

func toModelInfo(m *registry.Model) schema.ModelInfo {
	created := m.CreatedAt
	if created.IsZero() {
		created = time.Unix(0, 0)
	}
	return schema.ModelInfo{Type: "model", ID: m.Name, DisplayName: m.Name, CreatedAt: created.UTC().Format(time.RFC3339)}
}

// chatModels returns the chat models the call's key may use, by name.
func (h *Handler) chatModels(ctx context.Context, call *gateway.Call) ([]*registry.Model, error) {
	all, err := h.engine.ListModels(ctx, call)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, m := range all {
		if !m.Embedding {
			out = append(out, m)
		}
	}
	return out, nil
}

// Models serves GET /v1/models in Anthropic's shape: the chat models the
// key may use, paginated with limit (1-1000, default 20), after_id and
// before_id.
func (h *Handler) Models(w http.ResponseWriter, r *http.Request) {
	call := h.newCall(w, r)
	q := r.URL.Query()
	limit := defaultModelPage
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxModelPage {
			writeError(w, r, h.log, call.RequestID, invalid("limit", "must be an integer between 1 and %d", maxModelPage))
			return
		}
		limit = n
	}
	models, err := h.chatModels(r.Context(), call)
	if err != nil {
		writeError(w, r, h.log, call.RequestID, err)
		return
	}
	lo, hi := 0, len(models)
	if after := q.Get("after_id"); after != "" {
		lo = indexAfter(models, after)
	}
	if before := q.Get("before_id"); before != "" {
		hi = indexBefore(models, before)
	}
	if hi < lo {
		hi = lo
	}
	page, more := models[lo:hi], false
	if len(page) > limit {
		more = true
		if q.Get("before_id") != "" && q.Get("after_id") == "" {
			page = page[len(page)-limit:] // the page just before before_id
		} else {
			page = page[:limit]
		}
	}
	out := schema.ModelList{Data: make([]schema.ModelInfo, len(page)), HasMore: more, FirstID: apischema.NullOf[string](), LastID: apischema.NullOf[string]()}
	for i, m := range page {
		out.Data[i] = toModelInfo(m)
	}
	if len(page) > 0 {
		out.FirstID, out.LastID = apischema.ValueOf(&out.Data[0].ID), apischema.ValueOf(&out.Data[len(page)-1].ID)
	}
	writeJSON(w, &out)
}

// indexAfter returns the index of the first model named after id.
func indexAfter(ms []*registry.Model, id string) int {
	for i, m := range ms {
		if m.Name > id {
			return i
		}
	}
	return len(ms)
}

// indexBefore returns the index past the last model named before id.
func indexBefore(ms []*registry.Model, id string) int {
	for i, m := range ms {
		if m.Name >= id {
			return i
		}
	}
	return len(ms)
}

// Model serves GET /v1/models/{model_id}; the id is the rest of the path,
// so names containing slashes work whatever the mux pattern.
func (h *Handler) Model(w http.ResponseWriter, r *http.Request) {
	call := h.newCall(w, r)
	id := strings.TrimPrefix(r.URL.Path, "/v1/models/")
	models, err := h.chatModels(r.Context(), call)
	if err != nil {
		writeError(w, r, h.log, call.RequestID, err)
		return
	}
	for _, m := range models {
		if m.Name == id {
			writeJSON(w, toModelInfo(m))
			return
		}
	}
	writeError(w, r, h.log, call.RequestID, invalidModel(id))
}
