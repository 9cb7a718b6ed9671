package azuretest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/providers/azure/azuretest"
)

func TestAzureShape(t *testing.T) {
	t.Parallel()
	const body = `{"messages":[{"role":"user","content":"hi"}]}`
	tests := []struct {
		name, path, apiKey, authz string
		status                    int
		code                      string
		model                     string
	}{
		{name: "ok, model taken from deployment", path: "/openai/deployments/dep-a/chat/completions?api-version=2024-10-21", apiKey: "k",
			status: 200, model: "dep-a"},
		{name: "bearer token", path: "/openai/deployments/dep-a/chat/completions?api-version=2024-10-21", authz: "Bearer tok", status: 200, model: "dep-a"},
		{name: "no api-version", path: "/openai/deployments/dep-a/chat/completions", apiKey: "k", status: 404, code: "404"},
		{name: "unsupported api-version", path: "/openai/deployments/dep-a/chat/completions?api-version=2022-12-01", apiKey: "k", status: 400, code: "BadRequest"},
		{name: "openai path", path: "/v1/chat/completions?api-version=2024-10-21", apiKey: "k", status: 404, code: "404"},
		{name: "unknown operation", path: "/openai/deployments/dep-a/completions?api-version=2024-10-21", apiKey: "k", status: 404, code: "404"},
		{name: "missing key", path: "/openai/deployments/dep-a/chat/completions?api-version=2024-10-21", status: 401, code: "401"},
		{name: "bearer with api key value", path: "/openai/deployments/dep-a/chat/completions?api-version=2024-10-21", authz: "Bearer k", status: 401, code: "401"},
		{name: "unknown deployment", path: "/openai/deployments/dep-z/chat/completions?api-version=2024-10-21", apiKey: "k", status: 404, code: "DeploymentNotFound"},
	}
	fake, endpoint := azuretest.Start(t, azuretest.WithAPIKey("k"), azuretest.WithBearerToken("tok"),
		azuretest.WithDeployments("dep-a"), azuretest.WithAPIVersions("2024-10-21"))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequest(http.MethodPost, endpoint+tt.path, strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.apiKey != "" {
				req.Header.Set("api-key", tt.apiKey)
			}
			if tt.authz != "" {
				req.Header.Set("Authorization", tt.authz)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d (%s), want %d", resp.StatusCode, b, tt.status)
			}
			var out struct {
				Model string `json:"model"`
				Error *struct {
					Code string `json:"code"`
				} `json:"error"`
			}
			if err := json.Unmarshal(b, &out); err != nil {
				t.Fatalf("body %s: %v", b, err)
			}
			if tt.code != "" && (out.Error == nil || out.Error.Code != tt.code) {
				t.Errorf("error body = %s, want code %q", b, tt.code)
			}
			if tt.model != "" && out.Model != tt.model {
				t.Errorf("model = %q, want %q", out.Model, tt.model)
			}
		})
	}
	t.Cleanup(func() {
		if n := len(fake.Requests()); n != len(tests) {
			t.Errorf("recorded %d requests, want %d", n, len(tests))
		}
		for _, r := range fake.Upstream().Requests() {
			if r.Header.Get("api-key") != "" || r.Header.Get("Authorization") != "" {
				t.Errorf("credentials forwarded to the upstream fake: %v", r.Header)
			}
		}
	})
}
