package guardrails_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/guardrails"
)

func Example() {
	e := guardrails.New()
	cp, err := e.Compile(guardrails.Policy{ID: "support", Guardrails: []guardrails.Guardrail{
		{Name: "pii", Kind: guardrails.KindPII, Mode: guardrails.ModeMutate, Stage: guardrails.StageBoth, Config: []byte(`{"reversible": true}`)},
		{Name: "injection", Kind: guardrails.KindInjection, Scope: []providers.Role{providers.RoleTool}},
	}})
	if err != nil {
		panic(err)
	}
	set := guardrails.NewSet(cp)
	req := &providers.ChatRequest{Messages: []providers.Message{
		{Role: providers.RoleUser, Content: []providers.Part{providers.TextPart("I am jane@example.com")}},
	}}
	res, err := e.CheckInput(context.Background(), set, req)
	if errors.Is(err, guardrails.ErrBlocked) {
		fmt.Println("blocked:", err)
		return
	}
	fmt.Println(res.Request.Messages[0].Text())
	fmt.Printf("%s %s %v %d\n", res.Verdicts[0].Guardrail, res.Verdicts[0].Action, res.Verdicts[0].Categories, res.Verdicts[0].Count)

	out, _ := e.NewOutputFilter(set, res.State).CheckOutput(context.Background(), &providers.ChatResponse{Choices: []providers.Choice{
		{Message: providers.Message{Role: providers.RoleAssistant, Content: []providers.Part{providers.TextPart("Hello [EMAIL_1]!")}}},
	}})
	fmt.Println(out.Response.Choices[0].Message.Text())
	// Output:
	// I am [EMAIL_1]
	// pii mutate [email] 1
	// Hello jane@example.com!
}
