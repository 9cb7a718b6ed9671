package anthropic

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
)

// modelsPageSize is the page size asked of GET /v1/models (the API's
// maximum).
const modelsPageSize = "1000"

// maxModelPages bounds the pages ListModels follows.
const maxModelPages = 100

// ListModels returns the ids of the models the credential can use, in the
// upstream's order (newest first), following has_more/last_id pagination.
func (p *Provider) ListModels(ctx context.Context) ([]string, error) {
	var ids []string
	after := ""
	for range maxModelPages {
		q := url.Values{"limit": {modelsPageSize}}
		if after != "" {
			q.Set("after_id", after)
		}
		resp, err := p.send(ctx, http.MethodGet, pathModels+"?"+q.Encode(), nil, "application/json")
		if err != nil {
			return nil, err
		}
		b, err := p.up.ReadBody(ctx, resp)
		if err != nil {
			return nil, err
		}
		var w modelList
		if err := json.Unmarshal(b, &w); err != nil {
			return nil, p.up.BadResponse(resp.StatusCode, "model list", err)
		}
		for _, m := range w.Data {
			ids = append(ids, m.ID)
		}
		if !w.HasMore || w.LastID == "" || w.LastID == after {
			return ids, nil
		}
		after = w.LastID
	}
	return nil, p.up.BadResponse(http.StatusOK, "model list", errors.New("too many pages"))
}
