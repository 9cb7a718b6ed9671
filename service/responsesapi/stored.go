package responsesapi

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/openai"
	"github.com/tollgate-dev/tollgate/service/store"
)

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

// stored authenticates the caller and returns its team's response id.
func (h *Handler) stored(r *http.Request) (*store.StoredResponse, error) {
	if h.store == nil {
		return nil, notFound("", r.PathValue("id"))
	}
	call := h.call(r)
	teamID, _, err := h.team(r.Context(), call)
	if err != nil {
		return nil, err
	}
	id := r.PathValue("id")
	sr, err := h.store.GetResponse(r.Context(), teamID, id)
	if isNotFound(err) {
		return nil, notFound("", id)
	}
	return sr, err
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request) {
	sr, err := h.stored(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(sr.Response)))
	_, _ = w.Write(sr.Response)
}

func (h *Handler) delete(w http.ResponseWriter, r *http.Request) {
	if h.store == nil {
		h.fail(w, r, notFound("", r.PathValue("id")))
		return
	}
	call := h.call(r)
	teamID, _, err := h.team(r.Context(), call)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	id := r.PathValue("id")
	if err := h.store.DeleteResponse(r.Context(), teamID, id); err != nil {
		if isNotFound(err) {
			err = notFound("", id)
		}
		h.fail(w, r, err)
		return
	}
	h.writeJSON(w, r, &schema.DeletedResponse{ID: id, Object: "response.deleted", Deleted: true})
}

// Page sizes of input_items, as OpenAI's.
const (
	defaultItemsLimit = 20
	maxItemsLimit     = 100
)

// inputItems lists a stored response's input items: limit (1–100, 20 by
// default), order ("desc" by default, or "asc") and after (an item id of
// the previous page).
func (h *Handler) inputItems(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := defaultItemsLimit
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxItemsLimit {
			h.fail(w, r, bad("limit", "limit must be an integer from 1 to 100"))
			return
		}
		limit = n
	}
	order := q.Get("order")
	if order == "" {
		order = "desc"
	}
	if order != "asc" && order != "desc" {
		h.fail(w, r, bad("order", "order must be \"asc\" or \"desc\""))
		return
	}
	sr, err := h.stored(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var items []schema.InputItem
	if err := apischema.UnmarshalLenient(sr.Input, &items); err != nil {
		h.fail(w, r, err)
		return
	}
	if order == "desc" {
		slices.Reverse(items)
	}
	if after := q.Get("after"); after != "" {
		i := slices.IndexFunc(items, func(it schema.InputItem) bool { return it.ID == after })
		if i < 0 {
			h.fail(w, r, bad("after", "after must be the id of an item of this response"))
			return
		}
		items = items[i+1:]
	}
	out := &schema.InputItemList{Object: "list", Data: items}
	if len(items) > limit {
		out.Data, out.HasMore = items[:limit], true
	}
	if out.Data == nil {
		out.Data = []schema.InputItem{}
	}
	if n := len(out.Data); n > 0 {
		out.FirstID, out.LastID = out.Data[0].ID, out.Data[n-1].ID
	}
	h.writeJSON(w, r, out)
}

// PruneBatch is how many stored responses Prune deletes per statement.
const PruneBatch = 1000

// Prune deletes the stored responses created more than retention before
// now, in batches, and returns how many it deleted. The server runs it
// every hour; a zero retention keeps responses for ever.
func Prune(ctx context.Context, st store.Responses, now time.Time, retention time.Duration) (int, error) {
	if retention <= 0 {
		return 0, nil
	}
	cutoff := now.Add(-retention)
	total := 0
	for {
		n, err := st.PruneResponses(ctx, cutoff, PruneBatch)
		total += n
		if err != nil || n < PruneBatch {
			return total, err
		}
	}
}
