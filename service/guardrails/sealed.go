package guardrails

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/tollgate-dev/tollgate/service/secrets"
)

// SealedPrefix starts a webhook field stored sealed in a policy's spec:
// "sealed:v1:" and the standard base64 of the [secrets.Sealer] output.
const SealedPrefix = "sealed:v1:"

// SealedFields are the fields of a webhook guardrail's config stored
// sealed: its signing secret and its URL (which often carries a token of
// the receiver in its path or query).
var SealedFields = []string{"secret", "url"}

// URLHintField is the config field that keeps a sealed URL's "scheme://host",
// safe to show; it is not part of the webhook's configuration proper.
const URLHintField = "url_hint"

// ErrNoSealer means a policy holds a sealed secret but the registry has
// no sealer to open it with (see [WithSealer]).
var ErrNoSealer = errors.New("guardrails: sealed webhook secret but no sealer")

// SecretContext is the context a webhook secret is sealed under: it binds
// the ciphertext to its policy and guardrail, so a sealed value copied to
// another guardrail does not open.
func SecretContext(policyID, guardrail string) string {
	return "guardrail-policy:" + policyID + "/" + guardrail
}

// FieldContext is the context a sealed webhook field is sealed under:
// SecretContext for "secret", with "#" and the field's name for others, so
// that sealed values cannot be swapped between fields either.
func FieldContext(policyID, guardrail, field string) string {
	if field == "secret" {
		return SecretContext(policyID, guardrail)
	}
	return SecretContext(policyID, guardrail) + "#" + field
}

// IsSealed reports whether a stored webhook field is in sealed form.
func IsSealed(v string) bool { return strings.HasPrefix(v, SealedPrefix) }

// SealSecret returns the stored form of a webhook secret of guardrail name
// in policy policyID.
func SealSecret(s *secrets.Sealer, policyID, name, secret string) (string, error) {
	return SealField(s, policyID, name, "secret", secret)
}

// SealField returns the stored form of the sealed webhook field field of
// guardrail name in policy policyID.
func SealField(s *secrets.Sealer, policyID, name, field, value string) (string, error) {
	if s == nil {
		return "", ErrNoSealer
	}
	b, err := s.Seal([]byte(value), FieldContext(policyID, name, field))
	if err != nil {
		return "", err
	}
	return SealedPrefix + base64.StdEncoding.EncodeToString(b), nil
}

// OpenField returns the plaintext of a stored webhook field; a value not
// in sealed form (stored before sealing existed) is returned as is.
func OpenField(s *secrets.Sealer, policyID, name, field, stored string) (string, error) {
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
	pt, err := s.Open(b, FieldContext(policyID, name, field))
	if err != nil {
		return "", err
	}
	return string(pt), nil
}

// SetWebhookSecret returns a copy of a webhook guardrail's config with its
// "secret" field replaced by secret; other fields are kept verbatim.
func SetWebhookSecret(config json.RawMessage, secret string) (json.RawMessage, error) {
	return SetWebhookField(config, "secret", secret)
}

// SetWebhookField returns a copy of a webhook guardrail's config with its
// field replaced by value (removed when value is ""); other fields are
// kept verbatim.
func SetWebhookField(config json.RawMessage, field, value string) (json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(config, &m); err != nil {
		return nil, fmt.Errorf("%w: webhook config: %w", ErrInvalidPolicy, err)
	}
	if value == "" {
		delete(m, field)
		return json.Marshal(m)
	}
	v, err := json.Marshal(value)
	if err != nil {
		return nil, err
	}
	m[field] = v
	return json.Marshal(m)
}

// WebhookSecret returns the "secret" field of a webhook guardrail's
// config as stored (sealed or not); "" when absent.
func WebhookSecret(config json.RawMessage) string { return WebhookField(config, "secret") }

// WebhookField returns a string field of a webhook guardrail's config as
// stored (sealed or not); "" when absent or not a string.
func WebhookField(config json.RawMessage, field string) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(config, &m) != nil {
		return ""
	}
	var v string
	if json.Unmarshal(m[field], &v) != nil {
		return ""
	}
	return v
}

// URLHint returns the "scheme://host" of a URL, safe to show; "" when it
// does not parse.
func URLHint(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Hostname()
}

// SealWebhookFields seals every field of SealedFields of a webhook
// guardrail's config that is not sealed yet, and records the URL's hint.
// keep lists fields whose stored (sealed) value the caller kept from a
// previous version: those must already be sealed and stay as they are.
func SealWebhookFields(s *secrets.Sealer, policyID string, g *Guardrail, keep map[string]bool) error {
	if g.Kind != KindWebhook {
		return nil
	}
	for _, field := range SealedFields {
		v := WebhookField(g.Config, field)
		if v == "" || (IsSealed(v) && keep[field]) {
			continue
		}
		if field == "url" {
			cfg, err := SetWebhookField(g.Config, URLHintField, URLHint(v))
			if err != nil {
				return err
			}
			g.Config = cfg
		}
		sealed, err := SealField(s, policyID, g.Name, field, v)
		if err != nil {
			return fmt.Errorf("seal webhook %s of %q: %w", field, g.Name, err)
		}
		cfg, err := SetWebhookField(g.Config, field, sealed)
		if err != nil {
			return err
		}
		g.Config = cfg
	}
	return nil
}

// NeedsSealing reports whether a stored policy spec holds a webhook field
// in plain text (stored before the field was sealed).
func NeedsSealing(spec Spec) bool {
	for _, g := range spec.Guardrails {
		if g.Kind != KindWebhook {
			continue
		}
		for _, field := range SealedFields {
			if v := WebhookField(g.Config, field); v != "" && !IsSealed(v) {
				return true
			}
		}
	}
	return false
}

// openSecrets opens the sealed webhook fields of p in place and drops the
// URL hint; the guardrails slice and the configs it changes are copies,
// so the caller's spec is never modified.
func openSecrets(s *secrets.Sealer, p *Policy) error {
	var gs []Guardrail
	for i, g := range p.Guardrails {
		if g.Kind != KindWebhook {
			continue
		}
		cfg := g.Config
		changed := false
		for _, field := range SealedFields {
			stored := WebhookField(cfg, field)
			if !IsSealed(stored) {
				continue
			}
			pt, err := OpenField(s, p.ID, g.Name, field, stored)
			if err != nil {
				return fmt.Errorf("guardrail %q: %s: %w", g.Name, field, err)
			}
			if cfg, err = SetWebhookField(cfg, field, pt); err != nil {
				return err
			}
			changed = true
		}
		if WebhookField(cfg, URLHintField) != "" {
			var err error
			if cfg, err = SetWebhookField(cfg, URLHintField, ""); err != nil {
				return err
			}
			changed = true
		}
		if !changed {
			continue
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
