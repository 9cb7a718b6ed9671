package guardrails

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/tollgate-dev/tollgate/providers"
)

// AttachKind names what a policy is attached to.
type AttachKind string

// The attachment kinds, in the order their policies apply to a request's
// input (see [Registry.Resolve]).
const (
	AttachTeam    AttachKind = "team"
	AttachService AttachKind = "service"
	AttachKey     AttachKind = "key"
	AttachRoute   AttachKind = "route"
)

// attachOrder is the input order of the attachment kinds.
var attachOrder = []AttachKind{AttachTeam, AttachService, AttachKey, AttachRoute}

// Attachment says which requests a policy applies to: those of a team, of a
// service, of a virtual key, or those addressed to a route or model alias.
type Attachment struct {
	Kind AttachKind
	// ID is the team, service or key id, or the route or model name.
	ID string
}

// Kind names a guardrail's detector.
type Kind string

// The guardrail kinds.
const (
	// KindPII finds personal data: e-mail addresses, phone numbers, card
	// numbers (Luhn-checked), IBANs (mod-97), US SSNs and IP addresses.
	KindPII Kind = "pii"
	// KindSecrets finds credentials: cloud and API keys, tokens, JWTs and
	// PEM private keys.
	KindSecrets Kind = "secrets"
	// KindInjection scores prompt-injection signals against a threshold.
	KindInjection Kind = "injection"
	// KindDenyList matches words and regular expressions.
	KindDenyList Kind = "denylist"
	// KindSize bounds the prompt's size in bytes and estimated tokens.
	KindSize Kind = "size"
	// KindTopics restricts topics and languages by keyword lists.
	KindTopics Kind = "topics"
	// KindJSONSchema validates structured output against a JSON schema.
	KindJSONSchema Kind = "json_schema"
	// KindWebhook asks an external HTTP service (see the package doc).
	KindWebhook Kind = "webhook"
	// KindModeration asks a moderation classifier.
	KindModeration Kind = "moderation"
)

// Stage says which side of the exchange a guardrail checks.
type Stage string

// The stages.
const (
	StageInput  Stage = "input"
	StageOutput Stage = "output"
	StageBoth   Stage = "both"
)

func (s Stage) has(x Stage) bool { return s == x || s == StageBoth }

// Mode says what a guardrail does with a match.
type Mode string

// The modes.
const (
	// ModeValidate reports matches and, with OnMatch block, stops the request.
	ModeValidate Mode = "validate"
	// ModeMutate rewrites the matched text (placeholders, replacements).
	ModeMutate Mode = "mutate"
)

// Action is what a guardrail did, as recorded in a [Verdict]. ActionFlag
// and ActionBlock are also the values of [Guardrail.OnMatch].
type Action string

// The actions.
const (
	ActionFlag   Action = "flag"
	ActionBlock  Action = "block"
	ActionMutate Action = "mutate"
	// ActionError records a guardrail that failed; with fail-closed the
	// request is blocked as well.
	ActionError Action = "error"
)

// Policy is a named, attached, ordered list of guardrails.
type Policy struct {
	ID         string
	Attachment Attachment
	Guardrails []Guardrail
}

// Spec is the stored definition of a policy's guardrails (the JSON kept
// opaque by the store).
type Spec struct {
	Guardrails []Guardrail `json:"guardrails"`
}

// Guardrail is one check of a policy.
type Guardrail struct {
	// Name identifies the guardrail in verdicts; unique within its policy.
	Name string `json:"name"`
	Kind Kind   `json:"kind"`
	// Stage defaults to input (output for json_schema).
	Stage Stage `json:"stage,omitempty"`
	// Mode defaults to validate.
	Mode Mode `json:"mode,omitempty"`
	// OnMatch is flag or block for validate mode; it defaults to block.
	OnMatch Action `json:"on_match,omitempty"`
	// FailOpen lets the request through when the guardrail fails (an
	// external service times out); the default is fail-closed.
	FailOpen bool `json:"fail_open,omitempty"`
	// Scope lists the roles whose message text is checked at the input
	// stage: system, user, assistant, tool (tool results). Empty means all.
	// The output stage always checks the generated text.
	Scope []providers.Role `json:"scope,omitempty"`
	// Config is the kind's configuration (see the package doc).
	Config json.RawMessage `json:"config,omitempty"`
}

// ParseSpec decodes a stored spec. Unknown fields are rejected so that a
// typo cannot silently disable a check.
func ParseSpec(b []byte) (Spec, error) {
	var s Spec
	if err := strictUnmarshal(b, &s); err != nil {
		return Spec{}, fmt.Errorf("%w: spec: %w", ErrInvalidPolicy, err)
	}
	return s, nil
}

// Marshal encodes the spec as stored.
func (s Spec) Marshal() ([]byte, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("guardrails: encode spec: %w", err)
	}
	return b, nil
}

// normalize fills defaults and checks the fields common to every kind.
func (g Guardrail) normalize() (Guardrail, error) {
	if g.Name == "" {
		return g, fmt.Errorf("%w: guardrail name is required", ErrInvalidPolicy)
	}
	if g.Stage == "" {
		g.Stage = StageInput
		if g.Kind == KindJSONSchema {
			g.Stage = StageOutput
		}
	}
	if g.Mode == "" {
		g.Mode = ModeValidate
	}
	if g.OnMatch == "" {
		g.OnMatch = ActionBlock
	}
	switch g.Stage {
	case StageInput, StageOutput, StageBoth:
	default:
		return g, fmt.Errorf("%w: guardrail %q: unknown stage %q", ErrInvalidPolicy, g.Name, g.Stage)
	}
	switch g.Mode {
	case ModeValidate, ModeMutate:
	default:
		return g, fmt.Errorf("%w: guardrail %q: unknown mode %q", ErrInvalidPolicy, g.Name, g.Mode)
	}
	if g.OnMatch != ActionFlag && g.OnMatch != ActionBlock {
		return g, fmt.Errorf("%w: guardrail %q: on_match must be flag or block", ErrInvalidPolicy, g.Name)
	}
	for _, r := range g.Scope {
		if !slices.Contains([]providers.Role{providers.RoleSystem, providers.RoleUser, providers.RoleAssistant, providers.RoleTool}, r) {
			return g, fmt.Errorf("%w: guardrail %q: unknown scope role %q", ErrInvalidPolicy, g.Name, r)
		}
	}
	return g, nil
}

// inScope reports whether messages of role r are checked.
func (g *Guardrail) inScope(r providers.Role) bool {
	return len(g.Scope) == 0 || slices.Contains(g.Scope, r)
}

// Duration is a positive duration written as a Go duration string
// ("2s", "500ms") in a guardrail's config.
type Duration time.Duration

// MarshalJSON writes the duration as a string ("2s").
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string like \"2s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	if v <= 0 {
		return fmt.Errorf("duration must be positive")
	}
	*d = Duration(v)
	return nil
}

func (d Duration) or(def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return time.Duration(d)
}
