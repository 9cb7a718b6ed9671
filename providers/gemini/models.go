package gemini

import (
	"context"
	"errors"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/gemini"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Paging of models.list.
const (
	modelsPageSize = 1000
	maxModelPages  = 20
)

// ListModels returns the ids of the models the key can use, in the
// upstream's order and without the "models/" prefix. It follows
// nextPageToken for up to 20 pages.
func (p *Provider) ListModels(ctx context.Context) ([]string, error) {
	var ids []string
	token := ""
	for range maxModelPages {
		q := url.Values{"pageSize": {strconv.Itoa(modelsPageSize)}}
		if token != "" {
			q.Set("pageToken", token)
		}
		target := p.baseURL + "/" + p.apiVersion + "/models?" + q.Encode()
		resp, err := p.send(ctx, http.MethodGet, target, nil, contentTypeJSON)
		if err != nil {
			return nil, err
		}
		b, err := p.up.ReadBody(ctx, resp)
		if err != nil {
			return nil, err
		}
		var w schema.ModelList
		if err := unmarshal(b, &w); err != nil {
			return nil, p.up.BadResponse(resp.StatusCode, "model list", err)
		}
		for _, m := range w.Models {
			ids = append(ids, strings.TrimPrefix(m.Name, "models/"))
		}
		if w.NextPageToken == "" {
			return ids, nil
		}
		token = w.NextPageToken
	}
	return nil, p.up.BadResponse(http.StatusOK, "model list", errors.New("more than 20 pages"))
}
