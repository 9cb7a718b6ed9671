package providers

import "context"

// ModerationRequest asks whether inputs violate content policies.
type ModerationRequest struct {
	// Model is the upstream moderation model.
	Model string
	// Inputs are the texts to classify, one result each.
	Inputs []string
	// Source is the request as the client sent it (see ChatRequest); an
	// adapter of its dialect sends its body, images included.
	Source *Source
}

// ModerationResult is the classification of one input.
type ModerationResult struct {
	Flagged bool
	// Categories says, per category, whether the input is in it; Scores
	// gives each category's confidence from 0 to 1.
	Categories map[string]bool
	Scores     map[string]float64
}

// ModerationResponse holds one result per input.
type ModerationResponse struct {
	// Raw is the upstream's body as it sent it, when the request was
	// passed through; nil when it was translated.
	Raw     []byte
	ID      string
	Model   string
	Results []ModerationResult
	// Usage is what the upstream reported, usually nothing.
	Usage Usage
}

// Moderator is a Provider that also serves content moderation.
type Moderator interface {
	// Moderate classifies the inputs of req.
	Moderate(ctx context.Context, req *ModerationRequest) (*ModerationResponse, error)
}
