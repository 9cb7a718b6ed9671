package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/guardrails"
)

// sliceStream replays chunks.
type sliceStream struct{ chunks []*providers.Chunk }

var _ providers.Stream = (*sliceStream)(nil)

func (s *sliceStream) Recv() (*providers.Chunk, error) {
	if len(s.chunks) == 0 {
		return nil, io.EOF
	}
	c := s.chunks[0]
	s.chunks = s.chunks[1:]
	return c, nil
}
func (s *sliceStream) Header() http.Header { return http.Header{} }
func (s *sliceStream) Close() error        { return nil }

func textChunks(parts ...string) []*providers.Chunk {
	out := make([]*providers.Chunk, 0, len(parts)+1)
	for i, p := range parts {
		d := providers.ChoiceDelta{Text: p}
		if i == 0 {
			d.Role = providers.RoleAssistant
		}
		if i == len(parts)-1 {
			d.FinishReason = providers.FinishStop
		}
		out = append(out, &providers.Chunk{Choices: []providers.ChoiceDelta{d}})
	}
	return append(out, &providers.Chunk{Usage: &providers.Usage{InputTokens: 3, OutputTokens: 9}})
}

func TestGuardedStream(t *testing.T) {
	t.Parallel()
	const key = "sk-proj-Zq8rT2vX9wLk4mNp7sBc3dFg6hJy1uQe"
	tests := []struct {
		name      string
		mode      guardrails.Mode
		chunks    []*providers.Chunk
		wantText  string
		wantBlock bool
		wantLog   string
	}{
		{name: "clean text passes whole, usage last", mode: guardrails.ModeMutate,
			chunks: textChunks("hello ", "there, ", "friend"), wantText: "hello there, friend"},
		{name: "split key is redacted", mode: guardrails.ModeMutate,
			chunks: textChunks("key: "+key[:10], key[10:25], key[25:]+" ok"), wantText: "key: [API_KEY_1] ok", wantLog: "out/secrets:mutate"},
		{name: "split key blocks before any of it is sent", mode: guardrails.ModeValidate,
			chunks: textChunks("key: "+key[:10], key[10:25], key[25:]+" ok"), wantBlock: true, wantLog: "out/secrets:block"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			eng := guardrails.New()
			cp, err := eng.Compile(guardrails.Policy{ID: "out", Guardrails: []guardrails.Guardrail{{
				Name: "secrets", Kind: guardrails.KindSecrets, Stage: guardrails.StageOutput, Mode: tt.mode}}})
			if err != nil {
				t.Fatal(err)
			}
			g := &guardRun{eng: eng, set: guardrails.NewSet(cp), state: guardrails.NewState()}
			s := &Stream{up: &sliceStream{chunks: tt.chunks}}
			(&Engine{}).guardStream(context.Background(), s, g)
			var text strings.Builder
			var sawUsage bool
			for {
				c, err := s.up.Recv()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					if !tt.wantBlock || !errors.Is(err, guardrails.ErrBlocked) {
						t.Fatalf("Recv: %v", err)
					}
					break
				}
				if sawUsage {
					t.Fatal("a chunk came after the usage chunk")
				}
				sawUsage = c.Usage != nil
				for _, d := range c.Choices {
					text.WriteString(d.Text)
				}
			}
			if strings.Contains(text.String(), key[:12]) {
				t.Fatalf("the key got through: %q", text.String())
			}
			if !tt.wantBlock && (text.String() != tt.wantText || !sawUsage) {
				t.Errorf("text = %q (usage seen %v), want %q", text.String(), sawUsage, tt.wantText)
			}
			if got := GuardrailSummary(s.Guardrails()); got != tt.wantLog {
				t.Errorf("verdicts = %q, want %q", got, tt.wantLog)
			}
			if len(s.rec.Guardrails) != len(s.Guardrails()) {
				t.Errorf("record has %d verdicts, stream %d", len(s.rec.Guardrails), len(s.Guardrails()))
			}
		})
	}
}

func TestGuardrailSummary(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		vs   []guardrails.Verdict
		want string
	}{
		{name: "none"},
		{name: "one", vs: []guardrails.Verdict{{Policy: "p", Guardrail: "pii", Action: guardrails.ActionFlag, Categories: []string{"email"}}}, want: "p/pii:flag"},
		{name: "several, in order", vs: []guardrails.Verdict{
			{Policy: "team", Guardrail: "pii", Action: guardrails.ActionMutate},
			{Policy: "route", Guardrail: "hook", Action: guardrails.ActionError},
		}, want: "team/pii:mutate,route/hook:error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := GuardrailSummary(tt.vs); got != tt.want {
				t.Errorf("GuardrailSummary = %q, want %q", got, tt.want)
			}
		})
	}
}
