package guardrails

import (
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/tollgate-dev/tollgate/service/secrets"
)

// SealedValue is a sealed field of a webhook guardrail.
type SealedValue struct {
	Guardrail, Field, Context string
	Sealed                    []byte
}

// eachSealed calls fn for every sealed field of the webhook guardrails of
// s, with the sealed bytes and the context they are sealed under, in
// order; fn may change g.Config.
func eachSealed(s *Spec, policyID string, fn func(g *Guardrail, field, context string, sealed []byte) error) error {
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
				return fmt.Errorf("guardrail %q: %s: %w", g.Name, field, secrets.ErrOpen)
			}
			if err := fn(g, field, FieldContext(policyID, g.Name, field), b); err != nil {
				return err
			}
		}
	}
	return nil
}

// SealedValues returns the sealed webhook fields of a stored spec: for
// each, the sealed bytes and the context they are sealed under. The
// master-key rotation counts and re-seals them.
func SealedValues(spec []byte, policyID string) ([]SealedValue, error) {
	s, err := ParseSpec(spec)
	if err != nil {
		return nil, err
	}
	var out []SealedValue
	err = eachSealed(&s, policyID, func(g *Guardrail, field, context string, sealed []byte) error {
		out = append(out, SealedValue{Guardrail: g.Name, Field: field, Context: context, Sealed: sealed})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ResealSpec returns a stored spec with every sealed webhook field
// re-sealed by reseal, and how many changed.
func ResealSpec(spec []byte, policyID string, reseal func(sealed []byte, context string) ([]byte, bool, error)) ([]byte, int, error) {
	s, err := ParseSpec(spec)
	if err != nil {
		return nil, 0, err
	}
	n := 0
	err = eachSealed(&s, policyID, func(g *Guardrail, field, context string, sealed []byte) error {
		out, changed, err := reseal(sealed, context)
		if err != nil {
			return fmt.Errorf("guardrail %q: %s: %w", g.Name, field, err)
		}
		if !changed {
			return nil
		}
		if g.Config, err = SetWebhookField(g.Config, field, SealedPrefix+base64.StdEncoding.EncodeToString(out)); err != nil {
			return err
		}
		n++
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	if n == 0 {
		return spec, 0, nil
	}
	b, err := s.Marshal()
	return b, n, err
}
