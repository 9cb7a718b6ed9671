package openaiapi

import (
	"errors"
	"net/http"
	"strings"

	"github.com/tollgate-dev/tollgate/service/edge"
	"github.com/tollgate-dev/tollgate/service/gateway"
)

// OpenAI error types of the surface's own answers (unknown URL, method).
const (
	typeInvalidRequest = "invalid_request_error"
	typeServer         = "server_error"
)

// apiError is an error as the OpenAI API reports it: an HTTP status, the
// {"error":{...}} body and headers to set.
type apiError struct {
	Status  int
	Message string
	Type    string
	Param   string
	Code    string
	// Header holds response headers to add: rate-limit headers,
	// retry-after, x-should-retry.
	Header http.Header
}

func (e *apiError) body() edge.OpenAIBody {
	return edge.HTTPError{Type: e.Type, Code: e.Code, Param: e.Param, Message: e.Message}.OpenAIBody()
}

// toAPIError maps any error of the request path to the OpenAI error the
// caller sees: edge.Describe classifies it like every surface does and
// edge.OpenAI renders it (see there for statuses, types, codes and
// headers). The surface adds only what is its own: its decode errors
// (*badParam, already in OpenAI's parameter names) and OpenAI's names for
// the canonical model's parameters.
func toAPIError(requestID string, err error) *apiError {
	p := edge.Describe(err, requestID)
	var bp *badParam
	var inv *gateway.InvalidRequestError
	switch {
	case errors.As(err, &bp):
		p = edge.Problem{Kind: edge.KindInvalidArgument, Param: bp.param, Message: bp.Error(), Err: err}
	case errors.As(err, &inv):
		p.Param = openAIParam(inv.Param)
	}
	e := edge.OpenAI(p)
	return &apiError{Status: e.Status, Message: e.Message, Type: e.Type, Param: e.Param, Code: e.Code, Header: e.Header}
}

// openAIParam renames a canonical parameter path (package gateway's
// validation) to the request field OpenAI's wire format uses.
func openAIParam(p string) string {
	switch {
	case strings.HasPrefix(p, "inputs"):
		return "input" + p[len("inputs"):]
	case strings.HasPrefix(p, "tools["):
		if i := strings.Index(p, "]."); i > 0 {
			return p[:i+2] + "function." + p[i+2:]
		}
	case strings.HasPrefix(p, "messages[") && strings.Contains(p, ".tool_calls["):
		for _, f := range []string{".name", ".arguments"} {
			if strings.HasSuffix(p, f) {
				return strings.TrimSuffix(p, f) + ".function" + f
			}
		}
	}
	return p
}
