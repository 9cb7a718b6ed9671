package openaiapi

import (
	"net/http"

	"github.com/tollgate-dev/tollgate/service/guardrails"
)

// guardrailError maps a guardrail block: a fail-closed guardrail that
// failed is 503 server_error / guardrail_unavailable; a refusal is 400
// invalid_request_error / guardrail_blocked. The message names the policy,
// the guardrail and the categories, never the text.
func guardrailError(be *guardrails.BlockedError) *apiError {
	if be.Failed {
		return &apiError{Status: http.StatusServiceUnavailable, Type: typeServer, Code: "guardrail_unavailable", Message: be.Error()}
	}
	return &apiError{Status: http.StatusBadRequest, Type: typeInvalidRequest, Code: "guardrail_blocked", Message: be.Error()}
}
