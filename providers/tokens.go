package providers

import "context"

// TokenCounter is a Provider that can count the input tokens of a request
// with the upstream's own tokenizer, without running the request. The
// gateway uses it for budget checks and context-window routing; providers
// without it are estimated.
type TokenCounter interface {
	// CountTokens returns the number of input tokens req would consume,
	// including system prompt, tool definitions and images.
	CountTokens(ctx context.Context, req *ChatRequest) (int64, error)
}
