package server_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"connectrpc.com/connect"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/providers/anthropic/anthropictest"
	"github.com/tollgate-dev/tollgate/providers/azure/azuretest"
	"github.com/tollgate-dev/tollgate/providers/bedrock/bedrocktest"
	"github.com/tollgate-dev/tollgate/providers/gemini/geminitest"
	"github.com/tollgate-dev/tollgate/providers/vertex/vertextest"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// TestEveryProviderThroughTheServer registers one provider of every type,
// each backed by a fake that speaks that provider's wire format and checks
// its credential, and runs a unary and a streamed chat through the real
// server to each.
func TestEveryProviderThroughTheServer(t *testing.T) {
	t.Parallel()
	const cred = "provider-cred-7d1e"
	gw := servertest.Start(t, servertest.Options{})
	_, openaiURL := fakeupstream.StartOpenAI(t, fakeupstream.WithAPIKey(cred))
	_, anthropicURL := anthropictest.Start(t, anthropictest.WithAPIKey(cred))
	_, geminiURL := geminitest.Start(t, geminitest.WithAPIKey(cred))
	_, azureURL := azuretest.Start(t, azuretest.WithAPIKey(cred))
	_, bedrockURL := bedrocktest.Start(t)
	vertexFake := vertextest.Start(t)
	_, groqURL := fakeupstream.StartOpenAI(t, fakeupstream.WithAPIKey(cred),
		fakeupstream.WithQuirks(fakeupstream.Quirks{Prefix: "/openai/v1", RejectStreamOptions: true, GroqUsage: true}))
	bedrockCred := bedrocktest.TestCredentials.AccessKeyID + ":" + bedrocktest.TestCredentials.SecretAccessKey
	vertexSettings := map[string]string{"project": vertextest.Project, "location": vertextest.Location}
	ctx := context.Background()
	if _, err := gw.Admin.CreateTeam(ctx, connect.NewRequest(&tollgatev1.CreateTeamRequest{Team: &tollgatev1.Team{Id: "t"}})); err != nil {
		t.Fatal(err)
	}
	_, key := gw.CreateKey(t, "t")
	c := (&env{gw: gw}).inference(key)

	tests := []struct {
		typ      tollgatev1.ProviderType
		baseURL  string
		upstream string
		settings map[string]string
		// credential replaces cred for upstreams that take another form.
		credential string
		// id names a second provider of one type.
		id string
	}{
		{tollgatev1.ProviderType_PROVIDER_TYPE_OPENAI, openaiURL, "gpt-4o-mini", nil, "", ""},
		{tollgatev1.ProviderType_PROVIDER_TYPE_OPENAI_COMPATIBLE, openaiURL, "llama-3.1-8b", nil, "", ""},
		{tollgatev1.ProviderType_PROVIDER_TYPE_ANTHROPIC, anthropicURL, "claude-sonnet-4-5", nil, "", ""},
		{tollgatev1.ProviderType_PROVIDER_TYPE_GEMINI, geminiURL, "gemini-2.5-flash", nil, "", ""},
		{tollgatev1.ProviderType_PROVIDER_TYPE_AZURE_OPENAI, azureURL, "gpt-4o-deployment", nil, "", ""},
		{tollgatev1.ProviderType_PROVIDER_TYPE_BEDROCK, bedrockURL, "us.anthropic.claude-sonnet-4-20250514-v1:0",
			map[string]string{"region": bedrocktest.TestRegion}, bedrockCred, ""},
		{tollgatev1.ProviderType_PROVIDER_TYPE_VERTEX, vertexFake.URL, "gemini-2.5-flash", vertexSettings, string(vertexFake.Account.JSON), ""},
		{tollgatev1.ProviderType_PROVIDER_TYPE_VERTEX, vertexFake.URL, "claude-sonnet-4-5-20250929", vertexSettings, string(vertexFake.Account.JSON), "vertex-claude"},
		{tollgatev1.ProviderType_PROVIDER_TYPE_GROQ, strings.TrimSuffix(groqURL, "/v1") + "/openai/v1", "llama-3.3-70b-versatile", nil, "", ""},
	}
	for _, tt := range tests {
		name := strings.ToLower(strings.TrimPrefix(tt.typ.String(), "PROVIDER_TYPE_"))
		if tt.id != "" {
			name = tt.id
		}
		t.Run(name, func(t *testing.T) {
			id := strings.ReplaceAll(name, "_", "-")
			credential := cred
			if tt.credential != "" {
				credential = tt.credential
			}
			if _, err := gw.Admin.CreateProvider(ctx, connect.NewRequest(&tollgatev1.CreateProviderRequest{
				Provider: &tollgatev1.Provider{Id: id, Type: tt.typ, BaseUrl: tt.baseURL, Settings: tt.settings}, Credential: credential,
			})); err != nil {
				t.Fatal(err)
			}
			model := "m-" + id
			if _, err := gw.Admin.CreateModel(ctx, connect.NewRequest(&tollgatev1.CreateModelRequest{Model: &tollgatev1.Model{
				Name: model, ProviderId: id, UpstreamModel: tt.upstream,
			}})); err != nil {
				t.Fatal(err)
			}
			req := &tollgatev1.ChatRequest{Model: model, Messages: []*tollgatev1.Message{
				{Role: tollgatev1.Role_ROLE_SYSTEM, Content: userMsg("be brief").Content}, userMsg("hello " + id)}}
			resp, err := c.Chat(ctx, connect.NewRequest(req))
			if err != nil {
				t.Fatal(err)
			}
			if got := resp.Msg.GetChoices()[0].GetMessage().GetContent()[0].GetText(); got != "echo: hello "+id {
				t.Fatalf("reply = %q", got)
			}
			if resp.Msg.GetProvider() != id || resp.Msg.GetUsage().GetInputTokens() == 0 {
				t.Fatalf("provider=%q usage=%v", resp.Msg.GetProvider(), resp.Msg.GetUsage())
			}
			stream, err := c.ChatStream(ctx, connect.NewRequest(&tollgatev1.ChatStreamRequest{Request: req}))
			if err != nil {
				t.Fatal(err)
			}
			var text strings.Builder
			var last *tollgatev1.ChatStreamResponse
			for stream.Receive() {
				last = stream.Msg()
				for _, ch := range last.GetChoices() {
					text.WriteString(ch.GetText())
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			if text.String() != "echo: hello "+id || last.GetUsage().GetOutputTokens() == 0 {
				t.Fatalf("stream = %q, last = %v", text.String(), last)
			}
		})
	}
}

// TestStreamWithoutUpstreamUsage: an upstream that reports no stream usage
// (some self-hosted servers) still yields usage and cost, marked estimated.
func TestStreamWithoutUpstreamUsage(t *testing.T) {
	t.Parallel()
	e := start(t, fakeupstream.WithStreamUsage(false))
	stream, err := e.inference(e.key).ChatStream(context.Background(), connect.NewRequest(&tollgatev1.ChatStreamRequest{Request: chatReq("no usage from upstream")}))
	if err != nil {
		t.Fatal(err)
	}
	var last *tollgatev1.ChatStreamResponse
	for stream.Receive() {
		last = stream.Msg()
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	u := last.GetUsage()
	if !u.GetEstimated() || u.GetInputTokens() == 0 || u.GetOutputTokens() == 0 || last.GetCost() == nil {
		t.Fatalf("usage = %v, cost = %v; want an estimate", u, last.GetCost())
	}
}

// TestServedHeaders: both HTTP surfaces say which provider and model served
// and how many upstream attempts it took (a plain model retries once).
func TestServedHeaders(t *testing.T) {
	t.Parallel()
	e := start(t)
	post := func(path string, hdr map[string]string, body string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, e.gw.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	openaiCall := func() *http.Response {
		return post("/v1/chat/completions", map[string]string{"Authorization": "Bearer " + e.key},
			`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`)
	}
	anthropicCall := func() *http.Response {
		return post("/v1/messages", map[string]string{"X-Api-Key": e.key, "Anthropic-Version": "2023-06-01"},
			`{"model":"gpt-4o-mini","max_tokens":32,"messages":[{"role":"user","content":"hi"}]}`)
	}
	for name, call := range map[string]func() *http.Response{"openai": openaiCall, "anthropic": anthropicCall} {
		resp := call()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Tollgate-Provider") != servertest.ProviderID ||
			resp.Header.Get("X-Tollgate-Model") == "" || resp.Header.Get("X-Tollgate-Attempts") != "1" {
			t.Fatalf("%s: status %d headers %v", name, resp.StatusCode, resp.Header)
		}
		e.upstream.Enqueue(fakeupstream.StatusFault(500))
		resp = call()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Tollgate-Attempts") != "2" {
			t.Fatalf("%s after one upstream 500: status %d, attempts %q", name, resp.StatusCode, resp.Header.Get("X-Tollgate-Attempts"))
		}
	}
}
