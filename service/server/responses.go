package server

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/tollgate-dev/tollgate/service/responsesapi"
)

// ResponsesConfig holds the settings of the Responses API (/v1/responses).
type ResponsesConfig struct {
	// Retention is how long stored responses (store: true) are kept for
	// previous_response_id and GET /v1/responses/{id}; 0 keeps them for ever.
	Retention time.Duration
	// CacheStored lets the response cache store answers of requests with
	// store: true (off by default: stored conversations stay out of it).
	CacheStored bool
}

func defaultResponsesConfig() ResponsesConfig {
	return ResponsesConfig{Retention: 30 * 24 * time.Hour}
}

func (c *ResponsesConfig) registerFlags(e *envFlags) {
	e.duration(&c.Retention, "responses-retention", "TOLLGATE_RESPONSES_RETENTION", "how long stored Responses API responses (store: true) are kept, 0 for ever")
	e.bool(&c.CacheStored, "responses-cache-stored", "TOLLGATE_RESPONSES_CACHE_STORED", "let the response cache store answers of Responses API requests with store: true")
}

func (c *ResponsesConfig) validate() error {
	if c.Retention < 0 {
		return errors.New("-responses-retention must be 0 (keep for ever) or positive")
	}
	return nil
}

// mountResponses mounts the Responses API beside the chat surfaces.
func (s *Server) mountResponses(mux *http.ServeMux) {
	responsesapi.New(s.engine, s.db, responsesapi.WithLogger(s.log), responsesapi.WithClock(s.now),
		responsesapi.WithCacheStored(s.cfg.Responses.CacheStored)).Mount(mux)
}

// pruneResponses deletes stored responses older than the retention, at
// start and then every hour. Any replica may run it.
func (s *Server) pruneResponses(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := responsesapi.Prune(ctx, s.db, s.now(), s.cfg.Responses.Retention); err != nil && ctx.Err() == nil {
			s.log.Warn("pruning stored responses failed", "err", err)
		} else if n > 0 {
			s.log.Info("pruned stored responses", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
