package factory_test

import (
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/providers/factory"
)

func TestNew(t *testing.T) {
	t.Parallel()
	tests := []struct {
		typ, baseURL, dialect string
		wantErr               string
	}{
		{factory.TypeOpenAI, "", "openai", ""},
		{factory.TypeOpenAICompatible, "http://127.0.0.1:8000/v1", "openai", ""},
		{factory.TypeAnthropic, "", "anthropic", ""},
		{factory.TypeAzureOpenAI, "https://example-resource.openai.azure.com", "openai", ""},
		{factory.TypeGemini, "", "gemini", ""},
		{factory.TypeBedrock, "", "bedrock", ""},
		{factory.TypeGroq, "", "openai", ""},
		{"cohere", "", "", "not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			t.Parallel()
			p, err := factory.New(providers.Config{ID: "p", Type: tt.typ, BaseURL: tt.baseURL, APIKey: "k"})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.ID() != "p" || p.Capabilities().Dialect != tt.dialect {
				t.Fatalf("id=%s dialect=%s", p.ID(), p.Capabilities().Dialect)
			}
		})
	}
}

// TestTypesAreBuilt checks that the table of types and New's switch agree.
func TestTypesAreBuilt(t *testing.T) {
	t.Parallel()
	for _, typ := range factory.Types() {
		if !factory.Supported(typ) {
			t.Errorf("Supported(%q) = false", typ)
		}
		_, err := factory.New(providers.Config{ID: "p", Type: typ, BaseURL: "https://api.example.test/v1", APIKey: "k",
			Settings: map[string]string{"api_version": "2024-10-21"}})
		if err != nil && strings.Contains(err.Error(), "not supported") {
			t.Errorf("New(%q): %v", typ, err)
		}
	}
	if factory.Supported("cohere") {
		t.Error(`Supported("cohere") = true`)
	}
}
