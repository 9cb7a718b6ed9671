package anthropic

import (
	"net/http"
	"slices"
	"strings"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	schema "github.com/tollgate-dev/tollgate/internal/apischema/anthropic"
	"github.com/tollgate-dev/tollgate/providers"
)

// Same-dialect passthrough.
//
// A request whose Source is of the Anthropic dialect is sent as the client
// wrote it, with "model" set to the upstream model when it differs and
// "metadata.user_id" set to the end user (X-Tollgate-End-User) when the
// body names none, and byte for byte otherwise: documents, citations, server tools,
// cache_control, container and MCP settings reach the upstream whatever
// the canonical model makes of them. The answer comes back as the
// upstream sent it (ChatResponse.Raw, Chunk.Raw).
//
// Headers: the client's anthropic-version is sent (else the
// anthropic_version setting, else DefaultVersion); the client's
// anthropic-beta features are sent together with the beta setting's;
// Idempotency-Key passes. Credentials are always the provider's.

// patch returns the client's body with the upstream model and the end
// user set. The client's body is never modified.
func (p *Provider) patch(req *providers.ChatRequest) ([]byte, error) {
	body := req.Source.Body
	var err error
	if gjson.GetBytes(body, "model").String() != req.Model {
		if body, err = sjson.SetBytes(body, "model", req.Model); err != nil {
			return nil, p.invalid("set model: %v", err)
		}
	}
	if req.User != "" && !gjson.GetBytes(body, "metadata.user_id").Exists() {
		if body, err = sjson.SetBytes(body, "metadata.user_id", req.User); err != nil {
			return nil, p.invalid("set metadata.user_id: %v", err)
		}
	}
	return body, nil
}

// requestHeader returns the client's allow-listed headers for this
// request: its anthropic-version, its anthropic-beta merged with the
// provider's, its Idempotency-Key.
func (p *Provider) requestHeader(src *providers.Source) http.Header {
	in := src.Headers(Dialect)
	if len(in) == 0 {
		return nil
	}
	out := make(http.Header, 3)
	if v := strings.TrimSpace(in.Get(schema.HeaderVersion)); v != "" {
		out.Set(schema.HeaderVersion, v)
	}
	if vs := in.Values(schema.HeaderBeta); len(vs) > 0 {
		betas := slices.Clone(p.betas)
		for _, v := range vs {
			betas = splitBetas(betas, v)
		}
		if len(betas) > 0 {
			out.Set(schema.HeaderBeta, strings.Join(betas, ","))
		}
	}
	if v := in.Get(schema.HeaderIdempotencyKey); v != "" {
		out.Set(schema.HeaderIdempotencyKey, v)
	}
	return out
}

// splitBetas appends the comma-separated features of v to dst, without
// duplicates.
func splitBetas(dst []string, v string) []string {
	for b := range strings.SplitSeq(v, ",") {
		if b = strings.TrimSpace(b); b != "" && !slices.Contains(dst, b) {
			dst = append(dst, b)
		}
	}
	return dst
}
