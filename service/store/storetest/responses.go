package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/service/store"
)

// asResponses returns s as a store.Responses, failing t if it is not one.
func asResponses(t *testing.T, s store.Store) store.Responses {
	t.Helper()
	rs, ok := s.(store.Responses)
	if !ok {
		t.Fatalf("%T does not implement store.Responses", s)
	}
	return rs
}

func responseTests() []test {
	return []test{
		{"PutGetDeleteByTeam", func(t *testing.T, s store.Store) {
			rs := asResponses(t, s)
			ctx := t.Context()
			created := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
			r := &store.StoredResponse{ID: "resp_1", TeamID: "search", KeyID: "k1", PreviousID: "resp_0", Model: "gpt",
				CreatedAt: created, Input: json.RawMessage(`[{"role":"user","content":"hi"}]`),
				Response: json.RawMessage(`{"id":"resp_1","object":"response","output":[]}`)}
			wantErr(t, "PutResponse", rs.PutResponse(ctx, r), nil)
			wantErr(t, "PutResponse again", rs.PutResponse(ctx, r), store.ErrConflict)
			got, err := rs.GetResponse(ctx, "search", "resp_1")
			wantErr(t, "GetResponse", err, nil)
			if got.KeyID != "k1" || got.PreviousID != "resp_0" || got.Model != "gpt" || !got.CreatedAt.Equal(created) ||
				string(got.Input) != string(r.Input) || string(got.Response) != string(r.Response) {
				t.Fatalf("GetResponse = %+v, want %+v", got, r)
			}
			_, err = rs.GetResponse(ctx, "other", "resp_1")
			wantErr(t, "GetResponse of another team", err, store.ErrNotFound)
			wantErr(t, "DeleteResponse of another team", rs.DeleteResponse(ctx, "other", "resp_1"), store.ErrNotFound)
			wantErr(t, "DeleteResponse", rs.DeleteResponse(ctx, "search", "resp_1"), nil)
			_, err = rs.GetResponse(ctx, "search", "resp_1")
			wantErr(t, "GetResponse after delete", err, store.ErrNotFound)
			wantErr(t, "DeleteResponse twice", rs.DeleteResponse(ctx, "search", "resp_1"), store.ErrNotFound)
		}},
		{"Prune", func(t *testing.T, s store.Store) {
			rs := asResponses(t, s)
			ctx := t.Context()
			base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
			for i, id := range []string{"old1", "old2", "old3", "new"} {
				r := &store.StoredResponse{ID: id, TeamID: "t", KeyID: "k", Model: "m", CreatedAt: base.Add(time.Duration(i) * time.Hour),
					Input: json.RawMessage(`[]`), Response: json.RawMessage(`{}`)}
				if id == "new" {
					r.CreatedAt = base.Add(48 * time.Hour)
				}
				wantErr(t, "PutResponse", rs.PutResponse(ctx, r), nil)
			}
			cutoff := base.Add(24 * time.Hour)
			n, err := rs.PruneResponses(ctx, cutoff, 2)
			wantErr(t, "PruneResponses", err, nil)
			if n != 2 {
				t.Fatalf("PruneResponses(limit 2) = %d, want 2", n)
			}
			if n, err = rs.PruneResponses(ctx, cutoff, 2); err != nil || n != 1 {
				t.Fatalf("PruneResponses again = %d, %v; want 1", n, err)
			}
			for _, id := range []string{"old1", "old2", "old3"} {
				_, err := rs.GetResponse(ctx, "t", id)
				wantErr(t, "GetResponse "+id, err, store.ErrNotFound)
			}
			_, err = rs.GetResponse(ctx, "t", "new")
			wantErr(t, "GetResponse new", err, nil)
		}},
	}
}
