package guardrails_test

import (
	"context"
	"strings"
	"testing"

	"connectrpc.com/connect"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// BenchmarkChain sends a 2 KB prompt holding an email address and a card
// number through the real server (RPC, unary; the fake upstream echoes it)
// without a policy and with a chain of pii (mutate, reversible), secrets
// (mutate), injection and denylist on both stages: the difference is the
// guardrails' cost per request.
func BenchmarkChain(b *testing.B) {
	e := start(b)
	_, plain := e.g.CreateKey(b, servertest.TeamID)
	both := tollgatev1.GuardrailStage_GUARDRAIL_STAGE_BOTH
	chain := e.keyWith(b, "chain",
		guardrail(b, "pii", "pii", both, true, false, map[string]any{"reversible": true}),
		guardrail(b, "secrets", "secrets", both, true, false, map[string]any{}),
		guardrail(b, "injection", "injection", input, false, true, map[string]any{}),
		guardrail(b, "deny", "denylist", both, false, true, map[string]any{"words": []any{"forbidden", "classified"}}),
	)
	var sb strings.Builder
	sb.WriteString("Please mail " + email + " and charge " + card + ". ")
	for sb.Len() < 2048 {
		sb.WriteString("The quarterly report covers revenue, churn and the hiring plan for the next two quarters. ")
	}
	req := connect.NewRequest(rpcChat(rpcText(tollgatev1.Role_ROLE_USER, sb.String())))
	for _, bc := range []struct{ name, key string }{{"none", plain}, {"chain", chain}} {
		b.Run(bc.name, func(b *testing.B) {
			c := e.rpc(bc.key)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Chat(context.Background(), req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
