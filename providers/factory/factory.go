// Package factory builds provider adapters from their configuration. It is
// a plain switch over the provider types, so every supported type is
// visible in one place.
package factory

import (
	"fmt"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/providers/anthropic"
	"github.com/tollgate-dev/tollgate/providers/openai"
)

// Provider type names, as stored and as accepted by the admin API.
const (
	TypeOpenAI           = "openai"
	TypeOpenAICompatible = "openai_compatible"
)

// New builds the adapter for cfg.Type.
func New(cfg providers.Config) (providers.Provider, error) {
	switch cfg.Type {
	case TypeOpenAI, TypeOpenAICompatible:
		return openai.New(cfg)
	case "anthropic":
		return anthropic.New(cfg)
	}
	return nil, fmt.Errorf("provider %s: type %q is not supported by this build", cfg.ID, cfg.Type)
}
