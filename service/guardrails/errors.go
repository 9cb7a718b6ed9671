package guardrails

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
)

// ErrBlocked is the sentinel of every blocked request or stream:
// errors.Is(err, ErrBlocked) holds for a [*BlockedError].
var ErrBlocked = errors.New("blocked by guardrail")

// ErrInvalidPolicy reports a policy that cannot be compiled: an unknown
// kind, a bad regular expression or schema, a missing field.
var ErrInvalidPolicy = errors.New("invalid guardrail policy")

// BlockedError says which guardrail blocked a request and why. Its message
// names the policy, the guardrail and the categories, never the text that
// matched, so surfaces may show it to the client verbatim.
type BlockedError struct {
	Policy     string
	Guardrail  string
	Kind       Kind
	Stage      Stage
	Categories []string
	// Failed is true when the guardrail did not judge the text but failed
	// (fail-closed): surfaces should answer "unavailable", not "refused".
	Failed bool
}

// Error implements error.
func (e *BlockedError) Error() string {
	var b strings.Builder
	b.WriteString("blocked by guardrail ")
	b.WriteString(e.Policy)
	b.WriteByte('/')
	b.WriteString(e.Guardrail)
	b.WriteString(" (")
	b.WriteString(string(e.Stage))
	if len(e.Categories) > 0 {
		b.WriteString(": ")
		b.WriteString(strings.Join(e.Categories, ", "))
	}
	b.WriteByte(')')
	return b.String()
}

// Is makes errors.Is(err, ErrBlocked) hold.
func (e *BlockedError) Is(target error) bool { return target == ErrBlocked }

func blocked(v *Verdict) *BlockedError {
	return &BlockedError{Policy: v.Policy, Guardrail: v.Guardrail, Kind: v.Kind, Stage: v.Stage, Categories: v.Categories, Failed: v.Action == ActionError}
}

// strictUnmarshal decodes JSON, rejecting unknown fields.
func strictUnmarshal(b []byte, v any) error {
	if len(bytes.TrimSpace(b)) == 0 {
		b = []byte("{}")
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	return d.Decode(v)
}
