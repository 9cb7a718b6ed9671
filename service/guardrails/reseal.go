package guardrails

import (
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/tollgate-dev/tollgate/service/secrets"
)

// SealedValues returns the sealed webhook fields of a stored spec: for
// each, the sealed bytes and the context they are sealed under. The
// master-key rotation counts and re-seals them.
func SealedValues(spec []byte, policyID string) ([]SealedValue, error) {
	s, err := ParseSpec(spec)
	if err != nil {
		return nil, err
	}
	var out []SealedValue
	for _, g := range s.Guardrails {
		if g.Kind != KindWebhook {
			continue
		}
		for _, field := range SealedFields {
			v := WebhookField(g.Config, field)
			if !IsSealed(v) {
				continue
			}
			b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(v, SealedPrefix))
			if err != nil {
				return nil, fmt.Errorf("guardrail %q: %s: %w", g.Name, field, secrets.ErrOpen)
			}
			out = append(out, SealedValue{Guardrail: g.Name, Field: field, Context: FieldContext(policyID, g.Name, field), Sealed: b})
		}
	}
	return out, nil
}

// SealedValue is a sealed field of a webhook guardrail.
type SealedValue struct {
	Guardrail, Field, Context string
	Sealed                    []byte
}

// ResealSpec returns a stored spec with every sealed webhook field
// re-sealed by reseal, and how many changed.
func ResealSpec(spec []byte, policyID string, reseal func(sealed []byte, context string) ([]byte, bool, error)) ([]byte, int, error) {
	s, err := ParseSpec(spec)
	if err != nil {
		return nil, 0, err
	}
	n := 0
	for i := range s.Guardrails {
		g := &s.Guardrails[i]
		if g.Kind != KindWebhook {
			continue
		}
		for _, field := range SealedFields {
			v := WebhookField(g.Config, field)
			if !IsSealed(v) {
				continue
			}
			b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(v, SealedPrefix))
			if err != nil {
				return nil, 0, fmt.Errorf("guardrail %q: %s: %w", g.Name, field, secrets.ErrOpen)
			}
			out, changed, err := reseal(b, FieldContext(policyID, g.Name, field))
			if err != nil {
				return nil, 0, fmt.Errorf("guardrail %q: %s: %w", g.Name, field, err)
			}
			if !changed {
				continue
			}
			if g.Config, err = SetWebhookField(g.Config, field, SealedPrefix+base64.StdEncoding.EncodeToString(out)); err != nil {
				return nil, 0, err
			}
			n++
		}
	}
	if n == 0 {
		return spec, 0, nil
	}
	b, err := s.Marshal()
	return b, n, err
}
