package openai

import (
	"context"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/openai"
	"github.com/tollgate-dev/tollgate/providers"
)

// ListModels returns the ids of the models the credential can use, in the
// upstream's order.
func (p *Provider) ListModels(ctx context.Context) ([]string, error) {
	if p.noModels {
		return nil, &providers.Error{Provider: p.id, Kind: providers.KindNotFound,
			Message: "this upstream has no model list (setting list_models is false)"}
	}
	resp, err := p.send(ctx, OpModels, "", nil, "application/json", nil)
	if err != nil {
		return nil, err
	}
	b, err := p.up.ReadBody(ctx, resp)
	if err != nil {
		return nil, err
	}
	var w schema.ModelList
	if err := apischema.UnmarshalLenient(b, &w); err != nil {
		return nil, p.up.BadResponse(resp.StatusCode, "model list", err)
	}
	ids := make([]string, len(w.Data))
	for i, m := range w.Data {
		ids[i] = m.ID
	}
	return ids, nil
}
