package anthropic

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/anthropic"
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
		resp, err := p.send(ctx, http.MethodGet, pathModels+"?"+q.Encode(), nil, "application/json", nil)
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
		for _, m := range w.Data {
			ids = append(ids, m.ID)
		}
		last := ""
		if w.LastID.V != nil {
			last = *w.LastID.V
		}
		if !w.HasMore || last == "" || last == after {
			return ids, nil
		}
		after = last
	}
	return nil, p.up.BadResponse(http.StatusOK, "model list", errors.New("too many pages"))
}
