package bedrock

import (
	"context"
	"net/http"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/bedrock"
)

// ListModels returns the ids of the region's foundation models that
// answer text on demand, from the control plane's ListFoundationModels
// (GET /foundation-models on bedrock.REGION.amazonaws.com, or the
// control_url setting).
func (p *Provider) ListModels(ctx context.Context) ([]string, error) {
	resp, err := p.up.Send(ctx, http.MethodGet, p.controlURL+"/foundation-models?byOutputModality=TEXT", nil, "application/json")
	if err != nil {
		return nil, err
	}
	b, err := p.up.ReadBody(ctx, resp)
	if err != nil {
		return nil, err
	}
	var w schema.FoundationModelList
	if err := apischema.UnmarshalLenient(b, &w); err != nil {
		return nil, p.up.BadResponse(resp.StatusCode, "model list", err)
	}
	ids := make([]string, 0, len(w.ModelSummaries))
	for _, m := range w.ModelSummaries {
		ids = append(ids, m.ModelID)
	}
	return ids, nil
}
