package tollgate_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"connectrpc.com/connect"

	tollgate "github.com/tollgate-dev/tollgate/clients/go"
	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
)

// The first call: a chat completion with a virtual key.
func ExampleClient_Chat() {
	c := tollgate.NewClient("http://localhost:8080", os.Getenv("TOLLGATE_KEY"))
	reply, err := c.Chat(context.Background(), "gpt-4o-mini", "Say hello in French")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(reply)
}

// Streaming: the generated client's server stream, read event by event.
func ExampleClient_streaming() {
	c := tollgate.NewClient("http://localhost:8080", os.Getenv("TOLLGATE_KEY"), tollgate.WithGRPC())
	stream, err := c.Inference.ChatStream(context.Background(), connect.NewRequest(&tollgatev1.ChatStreamRequest{
		Request: &tollgatev1.ChatRequest{
			Model:    "gpt-4o-mini",
			Messages: []*tollgatev1.Message{tollgate.UserMessage("Write a haiku about toll roads")},
		},
	}))
	if err != nil {
		log.Fatal(err)
	}
	for stream.Receive() {
		for _, ch := range stream.Msg().GetChoices() {
			fmt.Print(ch.GetText())
		}
		if cost := stream.Msg().GetCost(); cost != nil {
			fmt.Printf("\n(cost: %d.%09d %s)\n", cost.GetUnits(), cost.GetNanos(), cost.GetCurrencyCode())
		}
	}
	if err := stream.Err(); err != nil {
		log.Fatal(err)
	}
}

// Administration needs the admin token.
func ExampleClient_admin() {
	admin := tollgate.NewClient("http://localhost:8080", os.Getenv("TOLLGATE_ADMIN_TOKEN"), tollgate.WithTimeout(10*time.Second))
	resp, err := admin.Admin.CreateKey(context.Background(), connect.NewRequest(&tollgatev1.CreateKeyRequest{
		Key: &tollgatev1.VirtualKey{Name: "search backend", TeamId: "search"},
	}))
	if connect.CodeOf(err) == connect.CodeNotFound {
		log.Fatal("create the team first")
	} else if err != nil {
		log.Fatal(err)
	}
	fmt.Println("new key:", resp.Msg.GetKey().GetId())
}

func ExampleUserMessage() {
	m := tollgate.UserMessage("What is a toll gate?")
	fmt.Println(m.GetRole(), tollgate.Text(m))
	// Output: ROLE_USER What is a toll gate?
}

func ExampleText() {
	m := &tollgatev1.Message{
		Role: tollgatev1.Role_ROLE_ASSISTANT,
		Content: []*tollgatev1.ContentPart{
			{Part: &tollgatev1.ContentPart_Reasoning{Reasoning: &tollgatev1.Reasoning{Text: "(hidden)"}}},
			{Part: &tollgatev1.ContentPart_Text{Text: "A barrier "}},
			{Part: &tollgatev1.ContentPart_Text{Text: "where a toll is paid."}},
		},
	}
	fmt.Println(tollgate.Text(m))
	// Output: A barrier where a toll is paid.
}
