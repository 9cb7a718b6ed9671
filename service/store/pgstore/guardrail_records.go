package pgstore

import "github.com/tollgate-dev/tollgate/service/store"

// guardrailsValue is the value of request_records.guardrails: never SQL
// NULL, so the column's NOT NULL holds and counting needs no COALESCE.
func guardrailsValue(vs []store.GuardrailVerdict) []store.GuardrailVerdict {
	if vs == nil {
		return []store.GuardrailVerdict{}
	}
	return vs
}

// guardrailsOf maps a stored empty array back to nil, the value of a
// record no guardrail acted on.
func guardrailsOf(vs []store.GuardrailVerdict) []store.GuardrailVerdict {
	if len(vs) == 0 {
		return nil
	}
	return vs
}

// guardrailJoin makes one row per verdict of a record, its group
// "policy/guardrail:action" in column guardrail (DimGuardrail).
const guardrailJoin = " CROSS JOIN LATERAL (SELECT (v->>'policy') || '/' || (v->>'guardrail') || ':' || (v->>'action')" +
	" FROM jsonb_array_elements(guardrails) AS v) AS g(guardrail)"
