package rpc

import (
	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/service/guardrails"
	"github.com/tollgate-dev/tollgate/service/store"
)

// guardrailVerdictsToProto converts verdicts for ChatResponse.
func guardrailVerdictsToProto(vs []guardrails.Verdict) []*tollgatev1.GuardrailVerdict {
	if len(vs) == 0 {
		return nil
	}
	out := make([]*tollgatev1.GuardrailVerdict, len(vs))
	for i, v := range vs {
		out[i] = &tollgatev1.GuardrailVerdict{Policy: v.Policy, Guardrail: v.Guardrail, Kind: string(v.Kind),
			Stage: stageToProto(v.Stage), Action: string(v.Action), Categories: v.Categories, Count: int32(v.Count)}
	}
	return out
}

// stageToProto converts a guardrail stage ("input", "output").
func stageToProto(s guardrails.Stage) tollgatev1.GuardrailStage {
	for k, v := range guardrailStages {
		if v == s && v != "" {
			return k
		}
	}
	return tollgatev1.GuardrailStage_GUARDRAIL_STAGE_UNSPECIFIED
}

// recordVerdictsToProto converts a request record's verdicts.
func recordVerdictsToProto(vs []store.GuardrailVerdict) []*tollgatev1.GuardrailVerdict {
	if len(vs) == 0 {
		return nil
	}
	out := make([]*tollgatev1.GuardrailVerdict, len(vs))
	for i, v := range vs {
		out[i] = &tollgatev1.GuardrailVerdict{Policy: v.Policy, Guardrail: v.Guardrail, Kind: v.Kind,
			Stage: stageToProto(guardrails.Stage(v.Stage)), Action: v.Action, Categories: v.Categories, Count: int32(v.Count)}
	}
	return out
}
