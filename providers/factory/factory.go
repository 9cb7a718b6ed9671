// Package factory builds provider adapters from their configuration. It is
// a plain switch over the provider types, so every supported type is
// visible in one place.
package factory

import (
	"fmt"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/providers/anthropic"
	"github.com/tollgate-dev/tollgate/providers/azure"
	"github.com/tollgate-dev/tollgate/providers/gemini"
	"github.com/tollgate-dev/tollgate/providers/openai"
)

// Provider type names, as stored and as accepted by the admin API.
const (
	TypeOpenAI           = "openai"
	TypeOpenAICompatible = "openai_compatible"
	TypeAnthropic        = "anthropic"
	TypeAzureOpenAI      = "azure_openai"
	TypeGemini           = "gemini"
)

// New builds the adapter for cfg.Type.
func New(cfg providers.Config) (providers.Provider, error) {
	switch cfg.Type {
	case TypeOpenAI, TypeOpenAICompatible:
		return openai.New(cfg)
	case TypeAnthropic:
		return anthropic.New(cfg)
	case TypeAzureOpenAI:
		return azure.New(cfg)
	case TypeGemini:
		return gemini.New(cfg)
	}
	return nil, fmt.Errorf("provider %s: type %q is not supported by this build", cfg.ID, cfg.Type)
}
