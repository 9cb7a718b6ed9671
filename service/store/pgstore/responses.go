package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/tollgate-dev/tollgate/service/store"
)

var _ store.Responses = (*Store)(nil)

// PutResponse implements store.Responses.
func (s *Store) PutResponse(ctx context.Context, r *store.StoredResponse) error {
	_, err := s.pool.Exec(ctx, `
		INSERT INTO stored_responses (id, team_id, key_id, previous_id, model, created_at, input, response)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		r.ID, r.TeamID, r.KeyID, r.PreviousID, r.Model, r.CreatedAt, string(r.Input), string(r.Response))
	if err != nil {
		return mapErr(fmt.Sprintf("put response %q", r.ID), err, nil)
	}
	return nil
}

// GetResponse implements store.Responses.
func (s *Store) GetResponse(ctx context.Context, teamID, id string) (*store.StoredResponse, error) {
	r := &store.StoredResponse{ID: id, TeamID: teamID}
	var input, resp string
	err := s.pool.QueryRow(ctx, `
		SELECT key_id, previous_id, model, created_at, input::text, response::text
		FROM stored_responses WHERE id = $1 AND team_id = $2`, id, teamID,
	).Scan(&r.KeyID, &r.PreviousID, &r.Model, &r.CreatedAt, &input, &resp)
	if err != nil {
		return nil, mapErr(fmt.Sprintf("get response %q", id), err, nil)
	}
	r.CreatedAt = r.CreatedAt.UTC()
	r.Input, r.Response = []byte(input), []byte(resp)
	return r, nil
}

// DeleteResponse implements store.Responses.
func (s *Store) DeleteResponse(ctx context.Context, teamID, id string) error {
	tag, err := s.pool.Exec(ctx, "DELETE FROM stored_responses WHERE id = $1 AND team_id = $2", id, teamID)
	if err != nil {
		return fmt.Errorf("delete response %q: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("delete response %q: %w", id, store.ErrNotFound)
	}
	return nil
}

// PruneResponses implements store.Responses.
func (s *Store) PruneResponses(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	tag, err := s.pool.Exec(ctx, `
		DELETE FROM stored_responses WHERE id IN (
			SELECT id FROM stored_responses WHERE created_at < $1 ORDER BY created_at LIMIT $2)`, cutoff, limit)
	if err != nil {
		return 0, fmt.Errorf("prune responses: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
