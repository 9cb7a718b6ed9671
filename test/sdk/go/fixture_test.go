// Package sdk_test proves that the official SDKs work against Tollgate with
// only their base URL and key changed. Each test starts the real gateway
// in-process (service/server/servertest) in front of fake upstreams
// (internal/fakeupstream).
package sdk_test

import (
	"context"
	"net/http"
	"os"
	"testing"

	"connectrpc.com/connect"
	"github.com/anthropics/anthropic-sdk-go"
	assestream "github.com/anthropics/anthropic-sdk-go/packages/ssestream"
	"github.com/openai/openai-go/v3"
	ossestream "github.com/openai/openai-go/v3/packages/ssestream"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/internal/pgtest"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// Models that always fail upstream, so that clients without access to the
// fakes (the Node suite) can trigger errors by model name alone.
const (
	ModelFail429 = "fail-429"
	ModelFail500 = "fail-500"
)

// fixture is a gateway with a working OpenAI fake and two failing ones.
type fixture struct {
	g *servertest.Gateway
	// fake answers servertest.ChatModel and servertest.EmbeddingModel.
	fake *fakeupstream.OpenAI
	// fail429 and fail500 serve ModelFail429 and ModelFail500 and fail
	// every request with that status.
	fail429, fail500 *fakeupstream.OpenAI
	// key is a virtual key that may use every model.
	key string
}

func startFixture(t *testing.T, opts ...fakeupstream.Option) *fixture {
	t.Helper()
	return startFixtureOn(t, servertest.Options{}, opts...)
}

// startFixtureOn is startFixture with the gateway started with gopts (for
// instance on the embedded store).
func startFixtureOn(t *testing.T, gopts servertest.Options, opts ...fakeupstream.Option) *fixture {
	t.Helper()
	fake, url := fakeupstream.StartOpenAI(t, opts...)
	g := servertest.Start(t, gopts)
	f := &fixture{g: g, fake: fake, key: g.Setup(t, url)}
	f.fail429 = f.failingModel(t, ModelFail429, fakeupstream.RateLimitFault(0))
	f.fail500 = f.failingModel(t, ModelFail500, fakeupstream.StatusFault(http.StatusInternalServerError))
	return f
}

// failingModel registers model on a provider of its own whose fake fails
// every request with fault, and returns the fake.
func (f *fixture) failingModel(t *testing.T, model string, fault fakeupstream.Fault) *fakeupstream.OpenAI {
	t.Helper()
	fake, url := fakeupstream.StartOpenAI(t, fakeupstream.WithFaultFunc(func(*fakeupstream.Request) (fakeupstream.Fault, bool) {
		return fault, true
	}))
	f.addProvider(t, "fake-"+model, tollgatev1.ProviderType_PROVIDER_TYPE_OPENAI, url, model)
	return fake
}

// addProvider registers a provider of type typ at baseURL serving models
// (each under its own name upstream).
//
// ANTHROPIC SURFACE: register the Anthropic fake here with
// tollgatev1.ProviderType_PROVIDER_TYPE_ANTHROPIC, then add
// anthropic_test.go (anthropic-sdk-go against f.g.URL) and cross-provider
// cases: the OpenAI SDK calling an Anthropic-served model and the
// Anthropic SDK calling an OpenAI-served one.
func (f *fixture) addProvider(t *testing.T, id string, typ tollgatev1.ProviderType, baseURL string, models ...string) {
	t.Helper()
	ctx := context.Background()
	if _, err := f.g.Admin.CreateProvider(ctx, connect.NewRequest(&tollgatev1.CreateProviderRequest{
		Provider:   &tollgatev1.Provider{Id: id, Type: typ, BaseUrl: baseURL},
		Credential: "sk-" + id,
	})); err != nil {
		t.Fatalf("CreateProvider %s: %v", id, err)
	}
	for _, m := range models {
		if _, err := f.g.Admin.CreateModel(ctx, connect.NewRequest(&tollgatev1.CreateModelRequest{Model: &tollgatev1.Model{
			Name: m, ProviderId: id, ContextWindow: 128000,
		}})); err != nil {
			t.Fatalf("CreateModel %s: %v", m, err)
		}
	}
}

// accumulateOpenAI reads an OpenAI SDK chat stream to its end, as an
// application would, and returns what the SDK's accumulator assembled and
// the number of chunks.
func accumulateOpenAI(t *testing.T, s *ossestream.Stream[openai.ChatCompletionChunk]) (openai.ChatCompletionAccumulator, int) {
	t.Helper()
	var acc openai.ChatCompletionAccumulator
	chunks := 0
	for s.Next() {
		acc.AddChunk(s.Current())
		chunks++
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return acc, chunks
}

// accumulateAnthropic reads an Anthropic SDK message stream to its end
// and returns the message the SDK assembled.
func accumulateAnthropic(t *testing.T, s *assestream.Stream[anthropic.MessageStreamEventUnion]) anthropic.Message {
	t.Helper()
	var acc anthropic.Message
	for s.Next() {
		if err := acc.Accumulate(s.Current()); err != nil {
			t.Fatalf("accumulate: %v", err)
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return acc
}
