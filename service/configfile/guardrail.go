package configfile

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/tollgate-dev/tollgate/service/guardrails"
)

// KindConfig returns the guardrail's kind and its configuration as the
// JSON object the API's config field carries.
func (g *Guardrail) KindConfig() (string, map[string]any, error) {
	var kind string
	var cfg any
	for _, c := range []struct {
		kind string
		set  bool
		v    any
	}{
		{"pii", g.PII != nil, g.PII}, {"secrets", g.Secrets != nil, g.Secrets}, {"injection", g.Injection != nil, g.Injection},
		{"denylist", g.DenyList != nil, g.DenyList}, {"size", g.Size != nil, g.Size}, {"topics", g.Topics != nil, g.Topics},
		{"json_schema", g.JSONSchema != nil, g.JSONSchema}, {"moderation", g.Moderation != nil, g.Moderation},
	} {
		if !c.set {
			continue
		}
		if kind != "" {
			return "", nil, fmt.Errorf("sets both %s and %s; a guardrail has one kind", kind, c.kind)
		}
		kind, cfg = c.kind, c.v
	}
	if kind == "" {
		return "", nil, errors.New("needs one kind: pii, secrets, injection, denylist, size, topics, json_schema or moderation")
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		return "", nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return "", nil, err
	}
	return kind, m, nil
}

// SetKindConfig sets the kind block of g from the API's kind and config
// object, decoding it strictly into the kind's typed config.
func (g *Guardrail) SetKindConfig(kind string, config map[string]any) error {
	b, err := json.Marshal(config)
	if err != nil {
		return err
	}
	var dst any
	switch kind {
	case "pii":
		g.PII = &guardrails.PIIConfig{}
		dst = g.PII
	case "secrets":
		g.Secrets = &guardrails.SecretsConfig{}
		dst = g.Secrets
	case "injection":
		g.Injection = &guardrails.InjectionConfig{}
		dst = g.Injection
	case "denylist":
		g.DenyList = &guardrails.DenyListConfig{}
		dst = g.DenyList
	case "size":
		g.Size = &guardrails.SizeConfig{}
		dst = g.Size
	case "topics":
		g.Topics = &guardrails.TopicsConfig{}
		dst = g.Topics
	case "json_schema":
		g.JSONSchema = &guardrails.JSONSchemaConfig{}
		dst = g.JSONSchema
	case "moderation":
		g.Moderation = &guardrails.ModerationConfig{}
		dst = g.Moderation
	default:
		return fmt.Errorf("guardrail kind %q cannot be declared in a configuration file", kind)
	}
	dec := json.NewDecoder(bytesReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(dst)
}
