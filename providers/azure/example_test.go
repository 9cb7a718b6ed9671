package azure_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/providers/azure"
	"github.com/tollgate-dev/tollgate/providers/azure/azuretest"
)

// The request's model names the deployment; the fake answers with the
// deployment as model.
func ExampleProvider_Chat() {
	fake := azuretest.New(azuretest.WithAPIKey("example-key"), azuretest.WithDeployments("gpt-4o-prod"))
	srv := httptest.NewServer(fake)
	defer srv.Close()

	p, err := azure.New(providers.Config{ID: "azure", BaseURL: srv.URL, APIKey: "example-key"})
	if err != nil {
		fmt.Println(err)
		return
	}
	resp, err := p.Chat(context.Background(), &providers.ChatRequest{
		Model:    "gpt-4o-prod",
		Messages: []providers.Message{{Role: providers.RoleUser, Content: []providers.Part{providers.TextPart("hello")}}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	last, _ := fake.LastRequest()
	fmt.Println(last.Path)
	fmt.Println(resp.Model, resp.Choices[0].Message.Text())
	// Output:
	// /openai/deployments/gpt-4o-prod/chat/completions?api-version=2024-10-21
	// gpt-4o-prod echo: hello
}
