package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/providers/bedrock/bedrocktest"
	"github.com/tollgate-dev/tollgate/providers/factory"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// TestCLIProviderTypes: every provider type of the table is accepted by
// "providers add --type" under its CLI name, and listed under it; a
// preset with its API key in the environment and a Bedrock provider
// serve chats through the gateway; the preset example of
// docs/providers.md runs as printed.
func TestCLIProviderTypes(t *testing.T) {
	t.Parallel()
	creds := bedrocktest.TestCredentials
	_, bedrockURL := bedrocktest.Start(t)
	groqFake, groqURL := fakeupstream.StartOpenAI(t, fakeupstream.WithAPIKey("gsk-test-key"),
		fakeupstream.WithQuirks(fakeupstream.Quirks{Prefix: "/openai/v1", RejectStreamOptions: true, GroqUsage: true}))
	gw := servertest.Start(t, servertest.Options{})
	c := cli{t: t, env: map[string]string{
		"TOLLGATE_ADDR": gw.Addr, "TOLLGATE_ADMIN_TOKEN": gw.AdminToken,
		"GROQ_API_KEY": "gsk-test-key", "AWS_BEDROCK_KEYS": creds.AccessKeyID + ":" + creds.SecretAccessKey,
	}}

	// The docs' example, as printed (its base URL is the preset's; nothing
	// calls it here), then removed for the one below that reaches the fake.
	c.ok(docCommand(t, "../../docs/providers.md", "tollgate providers add groq ")...)
	if got := c.ok("providers", "get", "groq", "-o", "json"); !strings.Contains(got, `"groq"`) {
		t.Errorf("the docs' preset example made %s", got)
	}
	c.ok("providers", "delete", "groq", "--yes")

	// The whole configuration of a preset: its type and its key.
	groqBase := strings.TrimSuffix(groqURL, "/v1") + "/openai/v1"
	c.ok("providers", "add", "groq", "--type", "groq", "--credential-env", "GROQ_API_KEY", "--base-url", groqBase)
	c.ok("providers", "add", "bedrock", "--type", "bedrock", "--credential-env", "AWS_BEDROCK_KEYS", "--base-url", bedrockURL,
		"--setting", "region="+bedrocktest.TestRegion)
	for _, typ := range factory.Types() {
		name := strings.ReplaceAll(typ, "_", "-")
		switch typ {
		case factory.TypeBedrock, factory.TypeGroq:
			continue
		case factory.TypeVertex, factory.TypeAzureOpenAI, factory.TypeOpenAICompatible:
			continue // need settings or a base URL; covered by their own tests
		}
		c.ok("providers", "create", "p-"+name, "--type", name) // "create" is an alias of "add"
	}
	list := c.ok("providers", "list")
	for _, typ := range factory.Types() {
		switch typ {
		case factory.TypeVertex, factory.TypeAzureOpenAI, factory.TypeOpenAICompatible:
			continue
		}
		if name := strings.ReplaceAll(typ, "_", "-"); !strings.Contains(list, " "+name+" ") {
			t.Errorf("providers list lacks type %s:\n%s", name, list)
		}
	}

	c.ok("models", "add", "llama-groq", "--provider", "groq", "--upstream-model", "llama-3.3-70b-versatile", "--context-window", "128000")
	c.ok("models", "add", "llama-bedrock", "--provider", "bedrock", "--upstream-model", "meta.llama3-1-70b-instruct-v1:0", "--context-window", "128000")
	c.ok("teams", "create", "t1")
	var created struct {
		Secret string `json:"secret"`
	}
	if err := json.Unmarshal([]byte(c.ok("keys", "create", "--team", "t1", "--json")), &created); err != nil {
		t.Fatal(err)
	}
	key := created.Secret
	for _, model := range []string{"llama-groq", "llama-bedrock"} {
		for _, stream := range []string{"false", "true"} {
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, gw.URL+"/v1/chat/completions",
				strings.NewReader(`{"model":"`+model+`","stream":`+stream+`,"max_tokens":20,"messages":[{"role":"user","content":"hi"}]}`))
			req.Header.Set("Authorization", "Bearer "+key)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "hi") {
				t.Errorf("%s stream=%s: %d %s", model, stream, resp.StatusCode, b)
			}
		}
	}
	for _, r := range groqFake.Requests() {
		if strings.Contains(string(r.Body), "stream_options") {
			t.Errorf("the Groq preset sent %s", r.Body)
		}
	}
}

// docCommand returns the arguments of the one-line tollgate command of a
// ```sh block in a Markdown file that starts with prefix.
func docCommand(t *testing.T, file, prefix string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	in := false
	for l := range strings.Lines(string(b)) {
		l = strings.TrimSpace(l)
		switch {
		case l == "```sh":
			in = true
		case strings.HasPrefix(l, "```"):
			in = false
		case in && strings.HasPrefix(l, prefix):
			return strings.Fields(l)[1:]
		}
	}
	t.Fatalf("%s has no sh block line starting %q", file, prefix)
	return nil
}
