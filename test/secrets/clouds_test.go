package secrets_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"connectrpc.com/connect"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/providers/bedrock/bedrocktest"
	"github.com/tollgate-dev/tollgate/providers/vertex/vertextest"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// cloudSecretCalls are the credential forms of the cloud providers: a
// Bedrock secret access key (signed with, never sent) and a Vertex AI
// service-account key (its private key signs token requests). Each is
// used successfully and in failing ways whose errors echo it.
func cloudSecretCalls() []secretCall {
	var bedrock *bedrocktest.Server
	var vertex *vertextest.Fixture
	create := func(t *testing.T, e *env, p *tollgatev1.Provider, credential, model, upstream string) {
		t.Helper()
		ctx := context.Background()
		r, err := e.gw.Admin.CreateProvider(ctx, connect.NewRequest(&tollgatev1.CreateProviderRequest{Provider: p, Credential: credential}))
		e.record(msg(r), err)
		if err != nil {
			t.Fatal(err)
		}
		m, err := e.gw.Admin.CreateModel(ctx, connect.NewRequest(&tollgatev1.CreateModelRequest{Model: &tollgatev1.Model{
			Name: model, ProviderId: p.Id, UpstreamModel: upstream}}))
		e.record(msg(m), err)
		if err != nil {
			t.Fatal(err)
		}
	}
	return []secretCall{
		{
			name: "CreateProvider.credential (bedrock secret access key)",
			call: func(t *testing.T, e *env, canary string) []string {
				var url string
				bedrock, url = bedrocktest.Start(t, bedrocktest.WithCredentials(bedrocktest.Credentials{AccessKeyID: "AKIDCANARY0001", SecretAccessKey: canary}))
				create(t, e, &tollgatev1.Provider{Id: "canary-bedrock", Type: tollgatev1.ProviderType_PROVIDER_TYPE_BEDROCK, BaseUrl: url,
					Settings: map[string]string{"region": bedrocktest.TestRegion}}, "AKIDCANARY0001:"+canary,
					"canary-bedrock-model", "anthropic.claude-3-5-sonnet-20241022-v2:0")
				return []string{canary}
			},
			use: func(t *testing.T, e *env) {
				_, key := e.gw.CreateKey(t, servertest.TeamID)
				if s := e.chat(t, key, "canary-bedrock-model"); s != http.StatusOK {
					t.Errorf("chat through Bedrock: %d", s)
				}
				// An upstream that echoes what it got, and one that refuses the signature.
				for _, f := range []bedrocktest.Fault{bedrocktest.ValidationFault("bad request signed with " + canaryOf(bedrock)),
					bedrocktest.ErrorFault(http.StatusForbidden, "InvalidSignatureException", "signature of "+canaryOf(bedrock)+" does not match")} {
					bedrock.Enqueue(f)
					e.chat(t, key, "canary-bedrock-model")
				}
			},
		},
		{
			name: "CreateProvider.credential (vertex service-account key)",
			call: func(t *testing.T, e *env, canary string) []string {
				vertex = vertextest.Start(t)
				var sa map[string]string
				if err := json.Unmarshal(vertex.Account.JSON, &sa); err != nil {
					t.Fatal(err)
				}
				create(t, e, &tollgatev1.Provider{Id: "canary-vertex", Type: tollgatev1.ProviderType_PROVIDER_TYPE_VERTEX, BaseUrl: vertex.URL,
					Settings: map[string]string{"project": vertextest.Project, "location": vertextest.Location}}, string(vertex.Account.JSON),
					"canary-vertex-model", "gemini-2.5-flash")
				// The private key's body lines are the secret.
				lines := strings.Split(sa["private_key"], "\n")
				return []string{lines[1], lines[len(lines)/2]}
			},
			use: func(t *testing.T, e *env) {
				_, key := e.gw.CreateKey(t, servertest.TeamID)
				if s := e.chat(t, key, "canary-vertex-model"); s != http.StatusOK {
					t.Errorf("chat through Vertex: %d", s)
				}
				vertex.RevokeTokens()
				vertex.FailTokens(5)
				e.chat(t, key, "canary-vertex-model")
			},
		},
	}
}

// canaryOf returns the secret access key the Bedrock fake checks
// signatures with (the canary), for faults that echo it.
func canaryOf(s *bedrocktest.Server) string { return s.Credentials().SecretAccessKey }
