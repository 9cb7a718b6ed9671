// Package factory builds provider adapters from their configuration. It is
// a plain switch over the provider types, so every supported type is
// visible in one place.
package factory

import (
	"fmt"
	"slices"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/providers/anthropic"
	"github.com/tollgate-dev/tollgate/providers/azure"
	"github.com/tollgate-dev/tollgate/providers/bedrock"
	"github.com/tollgate-dev/tollgate/providers/gemini"
	"github.com/tollgate-dev/tollgate/providers/openai"
	"github.com/tollgate-dev/tollgate/providers/vertex"
)

// Provider type names, as stored. The admin API names each as the enum
// value PROVIDER_TYPE_<NAME> (upper case) and the CLI as the name with
// '-' for '_' ("azure-openai"); both derive their names from Types.
const (
	TypeOpenAI           = "openai"
	TypeOpenAICompatible = "openai_compatible"
	TypeAnthropic        = "anthropic"
	TypeAzureOpenAI      = "azure_openai"
	TypeGemini           = "gemini"
	TypeBedrock          = "bedrock"
	TypeVertex           = "vertex"
)

// types is the one table of provider types: New supports exactly these.
var types = append([]string{TypeOpenAI, TypeOpenAICompatible, TypeAnthropic, TypeAzureOpenAI, TypeGemini, TypeBedrock, TypeVertex},
	presetOrder...)

// Types returns the supported provider types, in the order the API
// numbers them.
func Types() []string { return slices.Clone(types) }

// Supported reports whether t is a provider type New can build.
func Supported(t string) bool { return slices.Contains(types, t) }

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
	case TypeBedrock:
		return bedrock.New(cfg)
	case TypeVertex:
		return vertex.New(cfg)
	}
	if p, ok := presets[cfg.Type]; ok {
		return newPreset(cfg, p)
	}
	return nil, fmt.Errorf("provider %s: type %q is not supported by this build", cfg.ID, cfg.Type)
}
