package store

// GuardrailVerdict is what one guardrail did to one request, as kept in
// its Record: names, action and categories, never the text that matched.
type GuardrailVerdict struct {
	// Policy and Guardrail name the guardrail.
	Policy    string `json:"policy"`
	Guardrail string `json:"guardrail"`
	// Kind is the guardrail's kind ("pii", "secrets", "injection", ...).
	Kind string `json:"kind"`
	// Stage is "input" or "output".
	Stage string `json:"stage"`
	// Action is "flag", "block", "mutate" or "error".
	Action string `json:"action"`
	// Categories are the sorted distinct categories that matched.
	Categories []string `json:"categories,omitempty"`
	// Count is the number of matches.
	Count int `json:"count,omitempty"`
}
