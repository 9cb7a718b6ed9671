package providers

import (
	"context"
	"time"
)

type chunkTimeoutKey struct{}

// WithChunkTimeout returns a context asking the adapter of a streamed
// request to end the stream with a KindTimeout error when the upstream
// sends nothing for d once the first bytes of the stream arrived (the
// wait for those is the caller's own timeout). d <= 0 sets no bound.
func WithChunkTimeout(ctx context.Context, d time.Duration) context.Context {
	if d <= 0 {
		return ctx
	}
	return context.WithValue(ctx, chunkTimeoutKey{}, d)
}

// ChunkTimeout returns the bound set by WithChunkTimeout, 0 for none.
func ChunkTimeout(ctx context.Context) time.Duration {
	d, _ := ctx.Value(chunkTimeoutKey{}).(time.Duration)
	return d
}
