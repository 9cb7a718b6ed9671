package openaiapi

import (
	"fmt"
	"net/http"

	"github.com/tollgate-dev/tollgate/service/gateway"
	"github.com/tollgate-dev/tollgate/service/registry"
)

// modelOut is the model object.
type modelOut struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

type modelList struct {
	Object string     `json:"object"`
	Data   []modelOut `json:"data"`
}

func toModel(m *registry.Model) modelOut {
	var created int64
	if !m.CreatedAt.IsZero() {
		created = m.CreatedAt.Unix()
	}
	return modelOut{ID: m.Name, Object: "model", Created: created, OwnedBy: m.ProviderID}
}

// listModels answers the models the caller's key may use.
func (h *Handler) listModels(w http.ResponseWriter, r *http.Request) {
	ms, err := h.engine.ListModels(r.Context(), h.call(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := modelList{Object: "list", Data: make([]modelOut, len(ms))}
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
