package gateway

import (
	"testing"

	"github.com/tollgate-dev/tollgate/service/guardrails"
)

func TestGuardrailSummary(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		vs   []guardrails.Verdict
		want string
	}{
		{name: "none"},
		{name: "one", vs: []guardrails.Verdict{{Policy: "p", Guardrail: "pii", Action: guardrails.ActionFlag, Categories: []string{"email"}}}, want: "p/pii:flag"},
		{name: "several, in order", vs: []guardrails.Verdict{
			{Policy: "team", Guardrail: "pii", Action: guardrails.ActionMutate},
			{Policy: "route", Guardrail: "hook", Action: guardrails.ActionError},
		}, want: "team/pii:mutate,route/hook:error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := GuardrailSummary(tt.vs); got != tt.want {
				t.Errorf("GuardrailSummary = %q, want %q", got, tt.want)
			}
		})
	}
}
