package openai_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"

	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/providers/openai"
)

func Example() {
	fake := fakeupstream.NewOpenAI(fakeupstream.WithChunks(3))
	srv := httptest.NewServer(fake)
	defer srv.Close()

	p, err := openai.New(providers.Config{ID: "local", Type: "openai", BaseURL: srv.URL + "/v1", APIKey: "sk-local"})
	if err != nil {
		panic(err)
	}
	req := &providers.ChatRequest{Model: "gpt-4o-mini", Messages: []providers.Message{
		{Role: providers.RoleUser, Content: []providers.Part{providers.TextPart("Hello")}},
	}}

	resp, err := p.Chat(context.Background(), req)
	if err != nil {
		panic(err)
	}
	fmt.Println(resp.Choices[0].Message.Text(), resp.Choices[0].FinishReason)

	s, err := p.ChatStream(context.Background(), req)
	if err != nil {
		panic(err)
	}
	defer s.Close()
	var pieces []string
	for {
		c, err := s.Recv()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			panic(err)
		}
		for _, d := range c.Choices {
			if d.Text != "" {
				pieces = append(pieces, d.Text)
			}
		}
		if c.Usage != nil {
			fmt.Printf("%q\nusage: %d in, %d out\n", pieces, c.Usage.InputTokens, c.Usage.OutputTokens)
		}
	}
	// Output:
	// echo: Hello stop
	// ["ech" "o: H" "ello"]
	// usage: 5 in, 3 out
}
