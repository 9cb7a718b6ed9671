package gemini_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/providers/gemini"
	"github.com/tollgate-dev/tollgate/providers/gemini/geminitest"
)

// A tool round trip: the tool result message carries only the call id;
// the adapter recovers the function name Gemini needs from the call.
func ExampleProvider_Chat() {
	fake := geminitest.New(geminitest.WithAPIKey("example-key"))
	defer fake.Close()
	srv := httptest.NewServer(fake)
	defer srv.Close()

	p, err := gemini.New(providers.Config{ID: "gemini", BaseURL: srv.URL, APIKey: "example-key"})
	if err != nil {
		fmt.Println(err)
		return
	}
	req := &providers.ChatRequest{
		Model:    "gemini-2.5-flash",
		Messages: []providers.Message{{Role: providers.RoleUser, Content: []providers.Part{providers.TextPart("call get_time")}}},
		Tools:    []providers.Tool{{Name: "get_time", Description: "Current time"}},
	}
	resp, err := p.Chat(context.Background(), req)
	if err != nil {
		fmt.Println(err)
		return
	}
	call := resp.Choices[0].Message.ToolCalls[0]
	fmt.Println(resp.Choices[0].FinishReason, call.ID, call.Name)

	req.Messages = append(req.Messages, resp.Choices[0].Message, providers.Message{
		Role: providers.RoleTool, ToolCallID: call.ID, Content: []providers.Part{providers.TextPart("12:00")}})
	resp, err = p.Chat(context.Background(), req)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Choices[0].Message.Text())
	// Output:
	// tool_calls call_0 get_time
	// The tool get_time returned: {"result":"12:00"}
}
