package geminiapi

import (
	"net/http"

	schema "github.com/tollgate-dev/tollgate/internal/apischema/gemini"
	"github.com/tollgate-dev/tollgate/service/gateway"
	"github.com/tollgate-dev/tollgate/service/registry"
)

// Methods a listed model supports.
var (
	generateMethods = []string{methodGenerate, methodStream, methodCountTokens}
	embedMethods    = []string{methodEmbed, methodBatchEmbed}
)

func modelOf(m *registry.Model) schema.Model {
	out := schema.Model{Name: "models/" + m.Name, DisplayName: m.Name, Version: "tollgate",
		InputTokenLimit: m.ContextWindow, OutputTokenLimit: m.MaxOutputTokens, SupportedGenerationMethods: generateMethods}
	if m.Embedding {
		out.SupportedGenerationMethods = embedMethods
	}
	return out
}

// listModels serves GET /v1beta/models: the models the key may use, on
// one page.
func (h *Handler) listModels(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		h.methodNotAllowed(w, r, http.MethodGet)
		return
	}
	ms, err := h.models(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := &schema.ModelList{Models: make([]schema.Model, len(ms))}
	for i, m := range ms {
		out.Models[i] = modelOf(m)
	}
	h.writeJSON(w, r, out)
}

// getModel serves GET /v1beta/models/{model}.
func (h *Handler) getModel(w http.ResponseWriter, r *http.Request, name string) {
	ms, err := h.models(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	name = resourceName(name)
	for _, m := range ms {
		if m.Name == name {
			h.writeJSON(w, r, modelOf(m))
			return
		}
	}
	h.fail(w, r, invalidModel(name))
}

// models returns the models the request's key may use.
func (h *Handler) models(r *http.Request) ([]*registry.Model, error) {
	call, err := h.newCall(r)
	if err != nil {
		return nil, err
	}
	return h.engine.ListModels(r.Context(), call)
}

// invalidModel is the error for a model the key cannot see.
func invalidModel(name string) error {
	return &modelError{name: name}
}

type modelError struct{ name string }

func (e *modelError) Error() string { return "model " + e.name + " is not found" }

func (e *modelError) Unwrap() error { return gateway.ErrModelNotFound }
