package server

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/tollgate-dev/tollgate/service/anthropicapi"
	"github.com/tollgate-dev/tollgate/service/gateway"
	"github.com/tollgate-dev/tollgate/service/geminiapi"
	"github.com/tollgate-dev/tollgate/service/openaiapi"
)

// mountSurfaces mounts the vendor-compatible HTTP APIs on mux. Each surface
// registers its own paths; the OpenAI surface also owns the /v1/ fallback
// (404 in OpenAI's error shape), which more specific paths of other
// surfaces take precedence over.
func mountSurfaces(mux *http.ServeMux, engine *gateway.Engine, log *slog.Logger, now func() time.Time) {
	oai := openaiapi.New(engine, openaiapi.WithLogger(log), openaiapi.WithClock(now))
	oai.Mount(mux)
	ant := anthropicapi.New(engine, log)
	ant.Register(mux)
	geminiapi.New(engine, log, geminiapi.WithClock(now)).Mount(mux)
	// GET /v1/models is shared: Anthropic clients (anthropic-version, or
	// x-api-key without Authorization) get Anthropic's shape.
	byDialect := func(anthropic http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if anthropicapi.IsAnthropic(r) {
				anthropic(w, r)
				return
			}
			oai.ServeHTTP(w, r)
		}
	}
	mux.HandleFunc("GET /v1/models", byDialect(ant.Models))
	mux.HandleFunc("GET /v1/models/{model...}", byDialect(ant.Model))
}
