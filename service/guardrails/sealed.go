package guardrails

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/tollgate-dev/tollgate/service/secrets"
)

// SealedPrefix starts a webhook secret stored sealed in a policy's spec:
// "sealed:v1:" and the standard base64 of the [secrets.Sealer] output.
const SealedPrefix = "sealed:v1:"

// ErrNoSealer means a policy holds a sealed secret but the registry has
// no sealer to open it with (see [WithSealer]).
var ErrNoSealer = errors.New("guardrails: sealed webhook secret but no sealer")

// SecretContext is the context a webhook secret is sealed under: it binds
// the ciphertext to its policy and guardrail, so a sealed value copied to
// another guardrail does not open.
func SecretContext(policyID, guardrail string) string {
	return "guardrail-policy:" + policyID + "/" + guardrail
}

// IsSealed reports whether a stored webhook secret is in sealed form.
func IsSealed(secret string) bool { return strings.HasPrefix(secret, SealedPrefix) }

// SealSecret returns the stored form of a webhook secret of guardrail name
// in policy policyID.
func SealSecret(s *secrets.Sealer, policyID, name, secret string) (string, error) {
	if s == nil {
		return "", ErrNoSealer
	}
	b, err := s.Seal([]byte(secret), SecretContext(policyID, name))
	if err != nil {
		return "", err
	}
	return SealedPrefix + base64.StdEncoding.EncodeToString(b), nil
}

// openSecret returns the plaintext of a stored webhook secret; a secret
// not in sealed form (stored before sealing existed) is returned as is.
func openSecret(s *secrets.Sealer, policyID, name, stored string) (string, error) {
	if !IsSealed(stored) {
		return stored, nil
	}
	if s == nil {
		return "", ErrNoSealer
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(stored, SealedPrefix))
	if err != nil {
		return "", secrets.ErrOpen
	}
	pt, err := s.Open(b, SecretContext(policyID, name))
	if err != nil {
		return "", err
	}
	return string(pt), nil
}

// SetWebhookSecret returns a copy of a webhook guardrail's config with its
// "secret" field replaced by secret; other fields are kept verbatim.
func SetWebhookSecret(config json.RawMessage, secret string) (json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(config, &m); err != nil {
		return nil, fmt.Errorf("%w: webhook config: %w", ErrInvalidPolicy, err)
	}
	v, err := json.Marshal(secret)
	if err != nil {
		return nil, err
	}
	m["secret"] = v
	return json.Marshal(m)
}

// WebhookSecret returns the "secret" field of a webhook guardrail's
// config as stored (sealed or not); "" when absent.
func WebhookSecret(config json.RawMessage) string {
	var c struct {
		Secret string `json:"secret"`
	}
	if json.Unmarshal(config, &c) != nil {
		return ""
	}
	return c.Secret
}

// openSecrets opens the sealed webhook secrets of p in place; the
// guardrails slice and the configs it changes are copies, so the caller's
// spec is never modified.
func openSecrets(s *secrets.Sealer, p *Policy) error {
	var gs []Guardrail
	for i, g := range p.Guardrails {
		if g.Kind != KindWebhook {
			continue
		}
		stored := WebhookSecret(g.Config)
		if !IsSealed(stored) {
			continue
		}
		pt, err := openSecret(s, p.ID, g.Name, stored)
		if err != nil {
			return fmt.Errorf("guardrail %q: secret: %w", g.Name, err)
		}
		cfg, err := SetWebhookSecret(g.Config, pt)
		if err != nil {
			return err
		}
		if gs == nil {
			gs = append([]Guardrail(nil), p.Guardrails...)
		}
		gs[i].Config = cfg
	}
	if gs != nil {
		p.Guardrails = gs
	}
	return nil
}
