package openai

import (
	"net/http"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	schema "github.com/tollgate-dev/tollgate/internal/apischema/openai"
	"github.com/tollgate-dev/tollgate/providers"
)

// Same-dialect passthrough.
//
// A request whose Source is of the OpenAI dialect is sent as the client
// wrote it, with only these changes, each made only when needed:
//
//   - "model" is set to the upstream model;
//   - a stream gets "stream_options": {"include_usage": true} (unless the
//     stream_usage setting is false), so the gateway can account for it;
//     the surface holds back the final usage chunk from clients that did
//     not ask for it;
//   - with the max_tokens_field setting "max_tokens", a
//     "max_completion_tokens" is renamed "max_tokens";
//   - "user" is set to the end user (X-Tollgate-End-User) when the body
//     names none (neither "user" nor "safety_identifier").
//
// Everything else, byte for byte, reaches the upstream; its answer comes
// back as it was sent (ChatResponse.Raw, Chunk.Raw).

// patchChat returns the client's body with the changes above. The
// client's body is never modified: a change makes a copy.
func (p *Provider) patchChat(req *providers.ChatRequest, stream bool) ([]byte, error) {
	body := req.Source.Body
	var err error
	if gjson.GetBytes(body, "model").String() != req.Model {
		if body, err = sjson.SetBytes(body, "model", req.Model); err != nil {
			return nil, p.invalid("set model: %v", err)
		}
	}
	if stream && p.streamOptions && !gjson.GetBytes(body, "stream_options.include_usage").Bool() {
		if body, err = sjson.SetBytes(body, "stream_options.include_usage", true); err != nil {
			return nil, p.invalid("set stream_options: %v", err)
		}
	}
	if req.User != "" && !gjson.GetBytes(body, "user").Exists() && !gjson.GetBytes(body, "safety_identifier").Exists() {
		if body, err = sjson.SetBytes(body, "user", req.User); err != nil {
			return nil, p.invalid("set user: %v", err)
		}
	}
	if p.legacyMaxTokens {
		if v := gjson.GetBytes(body, "max_completion_tokens"); v.Exists() && !gjson.GetBytes(body, "max_tokens").Exists() {
			if body, err = sjson.SetRawBytes(body, "max_tokens", []byte(v.Raw)); err == nil {
				body, err = sjson.DeleteBytes(body, "max_completion_tokens")
			}
			if err != nil {
				return nil, p.invalid("rename max_completion_tokens: %v", err)
			}
		}
	}
	return body, nil
}

// requestHeader returns the client's headers to pass on: OpenAI-Beta and
// Idempotency-Key, and OpenAI-Organization and OpenAI-Project when the
// client_organization setting allows clients to choose them.
func (p *Provider) requestHeader(src *providers.Source) http.Header {
	in := src.Headers(Dialect)
	if len(in) == 0 {
		return nil
	}
	out := make(http.Header, len(in))
	for _, name := range schema.RequestHeaders {
		k := http.CanonicalHeaderKey(name)
		vs := in[k]
		if len(vs) == 0 {
			continue
		}
		if (name == schema.HeaderOrganization || name == schema.HeaderProject) && !p.clientOrganization {
			continue
		}
		out[k] = vs
	}
	return out
}
