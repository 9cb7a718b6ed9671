package store

import (
	"context"
	"encoding/json"
	"time"
)

// StoredResponse is a response of the Responses API (/v1/responses) kept
// for conversation state: previous_response_id, GET /v1/responses/{id}
// and its input items. It belongs to the team of the key that created it;
// no other team sees it.
type StoredResponse struct {
	// ID is the response id ("resp_...").
	ID     string
	TeamID string
	KeyID  string
	// PreviousID is the previous_response_id it continued, "" if none.
	PreviousID string
	// Model is the model name the caller asked for.
	Model     string
	CreatedAt time.Time
	// Input is the JSON array of the input items the model saw: the
	// conversation of PreviousID (its input and output), then this
	// request's input.
	Input json.RawMessage
	// Response is the response object as JSON.
	Response json.RawMessage
}

// Responses stores the Responses API's responses. It is not on the
// request path of requests without previous_response_id (writes are made
// after the answer); reads happen only for a previous_response_id and the
// GET and DELETE endpoints.
type Responses interface {
	// PutResponse stores r; ErrConflict if the id exists.
	PutResponse(ctx context.Context, r *StoredResponse) error
	// GetResponse returns the response of team teamID, ErrNotFound if
	// there is none (also when another team's response has that id).
	GetResponse(ctx context.Context, teamID, id string) (*StoredResponse, error)
	// DeleteResponse deletes team teamID's response; ErrNotFound if none.
	DeleteResponse(ctx context.Context, teamID, id string) error
	// PruneResponses deletes up to limit responses created before cutoff
	// and returns how many it deleted.
	PruneResponses(ctx context.Context, cutoff time.Time, limit int) (int, error)
}
