package guardrails_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/guardrails"
)

// Test values built from parts, so that no scanner mistakes the sources
// for leaked credentials.
var (
	awsKey       = "AKIA" + "IOSFODNN7EXAMPLE"
	openaiKey    = "sk-" + "proj-" + strings.Repeat("Ab3x", 8)
	legacyKey    = "sk-" + strings.Repeat("Zq9w", 6)
	anthropicKey = "sk-" + "ant-" + "api03-" + strings.Repeat("Qw3e", 6)
	githubToken  = "gh" + "p_" + strings.Repeat("a1B2", 9)
	slackToken   = "xo" + "xb-" + "1234567890-abcdefghij"
	jwt          = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9" + ".eyJzdWIiOiIxMjM0NTY3ODkwIn0" + ".dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
	pemKey       = "-----BEGIN RSA " + "PRIVATE KEY-----\nMIIEowIBAAKCAQEA7x\nq2w3e4r5t6y7u8i9o0p\n-----END RSA " + "PRIVATE KEY-----"
	googleKey    = "AI" + "za" + strings.Repeat("Sy9x", 8) + "abc"
)

// cfg encodes a config value.
func cfg(t testing.TB, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// compile compiles one policy of the given guardrails into a set.
func compile(t testing.TB, e *guardrails.Engine, gs ...guardrails.Guardrail) *guardrails.Set {
	t.Helper()
	cp, err := e.Compile(guardrails.Policy{ID: "p", Attachment: guardrails.Attachment{Kind: guardrails.AttachTeam, ID: "t"}, Guardrails: gs})
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return guardrails.NewSet(cp)
}

// userReq returns a request of one user message per text.
func userReq(texts ...string) *providers.ChatRequest {
	req := &providers.ChatRequest{Model: "m"}
	for _, s := range texts {
		req.Messages = append(req.Messages, providers.Message{Role: providers.RoleUser, Content: []providers.Part{providers.TextPart(s)}})
	}
	return req
}

// flagOnly runs one validate/flag guardrail on text and returns its
// verdict, or nil when it did not match.
func flagOnly(t *testing.T, g guardrails.Guardrail, text string) *guardrails.Verdict {
	t.Helper()
	g.Mode, g.OnMatch = guardrails.ModeValidate, guardrails.ActionFlag
	if g.Name == "" {
		g.Name = string(g.Kind)
	}
	e := guardrails.New()
	res, err := e.CheckInput(context.Background(), compile(t, e, g), userReq(text))
	if err != nil {
		t.Fatalf("CheckInput: %v", err)
	}
	if len(res.Verdicts) == 0 {
		return nil
	}
	return &res.Verdicts[0]
}

// mustBlock fails t unless err is a *BlockedError naming guardrail.
func mustBlock(t *testing.T, err error, guardrail string) *guardrails.BlockedError {
	t.Helper()
	var be *guardrails.BlockedError
	if !errors.As(err, &be) || !errors.Is(err, guardrails.ErrBlocked) {
		t.Fatalf("err = %v, want a *BlockedError", err)
	}
	if be.Guardrail != guardrail {
		t.Fatalf("blocked by %q, want %q", be.Guardrail, guardrail)
	}
	return be
}

func sameStrings(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
