package gateway

import (
	"fmt"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/registry"
)

// Passthrough and dropped parameters.
//
// A request from a drop-in surface carries its body (providers.Source).
// The engine reads the canonical request for every decision; the adapter
// of the serving target sends the client's body when it speaks the
// surface's dialect (same-dialect passthrough) and translates the
// canonical request otherwise. Two things connect the two here:
//
//   - When input guardrails rewrote the request, the Source is
//     re-rendered with the rewritten texts (providers.Source.Rewritten),
//     so no upstream receives what a guardrail removed.
//   - Before each attempt the target's adapter lists what it cannot
//     honour (providers.Checker). The request is refused with a 400
//     naming the field and the model, unless the route or the key allows
//     dropping parameters: then droppable fields are left out, named in
//     the X-Tollgate-Dropped-Params response header (edge.SetDroppedHeader) and in the request
//     record. Content (documents, images) is never dropped.
//
// Answers of a passed-through request keep the upstream's bytes
// (ChatResponse.Raw, Chunk.Raw) for the surface to relay, unless an
// output guardrail may change the answer; stages read the canonical view
// that the adapter parsed from the same bytes.

// dropsParams reports whether the key or the route allows dropping.
func dropsParams(k *registry.Key, rt *registry.Route) bool {
	return k.DropParams || rt.DropParams
}

// checkUnsupported asks the target's adapter what of up it cannot honour
// and either refuses up, or marks the droppable fields as dropped (on up
// and in the record) when allowed.
func checkUnsupported(rec *record, sv *registry.Serving, up *providers.ChatRequest, allowDrop bool, requested string) error {
	us := providers.CheckChat(sv.Provider, up)
	if len(us) == 0 {
		up.Drop = nil
		return nil
	}
	drop := make([]string, 0, len(us))
	for _, u := range us {
		if !u.Droppable || !allowDrop {
			how := ""
			if u.Droppable {
				how = "; remove it, or ask the gateway operator to allow dropping unsupported parameters on this route or key"
			}
			return invalid(u.Field, fmt.Sprintf("not supported by model %q (served by provider %q): %s%s", requested, sv.ProviderID, u.Reason, how))
		}
		drop = append(drop, u.Field)
	}
	up.Drop = drop
	rec.DroppedParams = drop
	return nil
}

// withoutRaw returns resp without the upstream's bytes, for storing.
func withoutRaw(resp *providers.ChatResponse) *providers.ChatResponse {
	if resp.Raw == nil {
		return resp
	}
	cp := *resp
	cp.Raw = nil
	return &cp
}
