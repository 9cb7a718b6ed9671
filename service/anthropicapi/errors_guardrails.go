package anthropicapi

import (
	"net/http"

	"github.com/tollgate-dev/tollgate/service/guardrails"
)

// guardrailStatus maps a guardrail block: 400 invalid_request_error for a
// refusal, 503 api_error when a fail-closed guardrail failed. Its message
// (BlockedError.Error) names the guardrail and categories, never the text.
func guardrailStatus(be *guardrails.BlockedError) (int, string) {
	if be.Failed {
		return http.StatusServiceUnavailable, typeAPI
	}
	return http.StatusBadRequest, typeInvalidRequest
}
