package anthropic_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http/httptest"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/providers/anthropic"
	"github.com/tollgate-dev/tollgate/providers/anthropic/anthropictest"
)

func Example() {
	fake := anthropictest.New(anthropictest.WithAPIKey("sk-ant-example"))
	srv := httptest.NewServer(fake)
	defer srv.Close()
	defer fake.Close()

	p, err := anthropic.New(providers.Config{ID: "claude", BaseURL: srv.URL, APIKey: "sk-ant-example",
		Settings: map[string]string{"default_max_tokens": "1024"}})
	if err != nil {
		log.Fatal(err)
	}
	resp, err := p.Chat(context.Background(), &providers.ChatRequest{
		Model: "claude-sonnet-4-5",
		Messages: []providers.Message{
			{Role: providers.RoleSystem, Content: []providers.Part{providers.TextPart("Be brief.")}},
			{Role: providers.RoleUser, Content: []providers.Part{providers.TextPart("Hello")}},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Choices[0].Message.Text())
	fmt.Println(resp.Choices[0].FinishReason)
	// Output:
	// echo: Hello
	// stop
}

func ExampleProvider_ChatStream() {
	fake := anthropictest.New(anthropictest.WithChunks(3))
	srv := httptest.NewServer(fake)
	defer srv.Close()
	defer fake.Close()

	p, err := anthropic.New(providers.Config{ID: "claude", BaseURL: srv.URL})
	if err != nil {
		log.Fatal(err)
	}
	s, err := p.ChatStream(context.Background(), &providers.ChatRequest{
		Model:    "claude-sonnet-4-5",
		Messages: []providers.Message{{Role: providers.RoleUser, Content: []providers.Part{providers.TextPart("Hi there")}}},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	for {
		c, err := s.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		for _, d := range c.Choices {
			if d.Text != "" {
				fmt.Printf("%q\n", d.Text)
			}
			if d.FinishReason != "" {
				fmt.Println(d.FinishReason, c.Usage.OutputTokens, "output tokens")
			}
		}
	}
	// Output:
	// "echo"
	// ": Hi "
	// "there"
	// stop 4 output tokens
}
