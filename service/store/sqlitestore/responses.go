package sqlitestore

import (
	"context"
	"fmt"
	"time"

	"github.com/tollgate-dev/tollgate/service/store"
)

var _ store.Responses = (*Store)(nil)

// PutResponse implements store.Responses.
func (s *Store) PutResponse(ctx context.Context, r *store.StoredResponse) error {
	entity := fmt.Sprintf("put response %q", r.ID)
	return s.write(ctx, func(t *tx) error {
		_, err := t.ExecContext(ctx, `
			INSERT INTO stored_responses (id, team_id, key_id, previous_id, model, created_at, input, response)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			r.ID, r.TeamID, r.KeyID, r.PreviousID, r.Model, micros(r.CreatedAt), string(r.Input), string(r.Response))
		if err != nil {
			return mapErr(entity, err, nil)
		}
		return nil
	})
}

// GetResponse implements store.Responses.
func (s *Store) GetResponse(ctx context.Context, teamID, id string) (*store.StoredResponse, error) {
	r := &store.StoredResponse{ID: id, TeamID: teamID}
	var created int64
	var input, resp string
	err := s.r.QueryRowContext(ctx, `
		SELECT key_id, previous_id, model, created_at, input, response
		FROM stored_responses WHERE id = ? AND team_id = ?`, id, teamID,
	).Scan(&r.KeyID, &r.PreviousID, &r.Model, &created, &input, &resp)
	if err != nil {
		return nil, mapErr(fmt.Sprintf("get response %q", id), err, nil)
	}
	r.CreatedAt = fromMicros(created)
	r.Input, r.Response = []byte(input), []byte(resp)
	return r, nil
}

// DeleteResponse implements store.Responses.
func (s *Store) DeleteResponse(ctx context.Context, teamID, id string) error {
	entity := fmt.Sprintf("delete response %q", id)
	return s.write(ctx, func(t *tx) error {
		res, err := t.ExecContext(ctx, "DELETE FROM stored_responses WHERE id = ? AND team_id = ?", id, teamID)
		if err != nil {
			return fmt.Errorf("%s: %w", entity, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%s: %w", entity, store.ErrNotFound)
		}
		return nil
	})
}

// PruneResponses implements store.Responses.
func (s *Store) PruneResponses(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	var n int64
	err := s.write(ctx, func(t *tx) error {
		res, err := t.ExecContext(ctx, `
			DELETE FROM stored_responses WHERE id IN (
				SELECT id FROM stored_responses WHERE created_at < ? ORDER BY created_at LIMIT ?)`, micros(cutoff), limit)
		if err != nil {
			return fmt.Errorf("prune responses: %w", err)
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return int(n), err
}
