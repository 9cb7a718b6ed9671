package openaiapi

import (
	"fmt"
	"net/http"

	schema "github.com/tollgate-dev/tollgate/internal/apischema/openai"
	"github.com/tollgate-dev/tollgate/service/gateway"
	"github.com/tollgate-dev/tollgate/service/registry"
)

func toModel(m *registry.Model) schema.Model {
	var created int64
	if !m.CreatedAt.IsZero() {
		created = m.CreatedAt.Unix()
	}
	return schema.Model{ID: m.Name, Object: "model", Created: created, OwnedBy: m.ProviderID}
}

// listModels answers the models the caller's key may use.
func (h *Handler) listModels(w http.ResponseWriter, r *http.Request) {
	ms, err := h.engine.ListModels(r.Context(), h.call(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := schema.ModelList{Object: "list", Data: make([]schema.Model, len(ms))}
	for i, m := range ms {
		out.Data[i] = toModel(m)
	}
	h.writeJSON(w, r, &out)
}

// getModel answers one model, 404 when the key may not use it or it does
// not exist (the two are indistinguishable to the caller, as with OpenAI).
func (h *Handler) getModel(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("model")
	ms, err := h.engine.ListModels(r.Context(), h.call(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for _, m := range ms {
		if m.Name == name {
			out := toModel(m)
			h.writeJSON(w, r, &out)
			return
		}
	}
	h.fail(w, r, fmt.Errorf("%w: %q", gateway.ErrModelNotFound, name))
}
