package rpc

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"connectrpc.com/connect"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/gen/tollgate/v1/tollgatev1connect"
	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/edge"
	"github.com/tollgate-dev/tollgate/service/gateway"
	"github.com/tollgate-dev/tollgate/service/registry"
)

// Inference serves tollgate.v1.InferenceService through the gateway engine.
type Inference struct {
	engine *gateway.Engine
	log    *slog.Logger
}

var _ tollgatev1connect.InferenceServiceHandler = (*Inference)(nil)

// NewInference returns the inference handler.
func NewInference(engine *gateway.Engine, log *slog.Logger) *Inference {
	return &Inference{engine: engine, log: log}
}

func (s *Inference) call(ctx context.Context, h http.Header, endUser string, tags []string, md map[string]string) *gateway.Call {
	return &gateway.Call{
		RequestID: gateway.RequestIDFrom(ctx), Surface: gateway.SurfaceRPC, Credential: bearer(h),
		EndUser: endUser, Tags: tags, Metadata: md, Start: time.Now(),
	}
}

// chatCall is call for chat requests, which also read the cache directives
// of the request headers.
func (s *Inference) chatCall(ctx context.Context, h http.Header, m *tollgatev1.ChatRequest) (*gateway.Call, error) {
	call := s.call(ctx, h, m.GetEndUser(), m.GetTags(), m.GetMetadata())
	d, err := edge.CacheDirectives(h)
	call.Cache = d
	return call, err
}

// Chat implements InferenceService.Chat.
func (s *Inference) Chat(ctx context.Context, req *connect.Request[tollgatev1.ChatRequest]) (*connect.Response[tollgatev1.ChatResponse], error) {
	m := req.Msg
	call, err := s.chatCall(ctx, req.Header(), m)
	if err != nil {
		return nil, toConnectError(ctx, s.log, err)
	}
	creq, err := chatRequestFromProto(m)
	if err != nil {
		return nil, toConnectError(ctx, s.log, err)
	}
	res, err := s.engine.Chat(ctx, call, creq)
	if err != nil {
		return nil, toConnectError(ctx, s.log, err)
	}
	resp := connect.NewResponse(chatResponseToProto(call.RequestID, m.GetModel(), res))
	edge.SetCacheHeaders(resp.Header(), res.CacheStatus, res.CacheScore)
	edge.SetGuardrailHeader(resp.Header(), res.Guardrails)
	resp.Msg.GuardrailVerdicts = guardrailVerdictsToProto(res.Guardrails)
	return resp, nil
}

// ChatStream implements InferenceService.ChatStream. Each upstream chunk is
// sent (and flushed) as soon as it arrives.
func (s *Inference) ChatStream(ctx context.Context, req *connect.Request[tollgatev1.ChatStreamRequest], out *connect.ServerStream[tollgatev1.ChatStreamResponse]) error {
	m := req.Msg.GetRequest()
	if m == nil {
		return toConnectError(ctx, s.log, badParam("request", "is required"))
	}
	call, err := s.chatCall(ctx, req.Header(), m)
	if err != nil {
		return toConnectError(ctx, s.log, err)
	}
	creq, err := chatRequestFromProto(m)
	if err != nil {
		return toConnectError(ctx, s.log, err)
	}
	st, err := s.engine.ChatStream(ctx, call, creq)
	if err != nil {
		return toConnectError(ctx, s.log, err)
	}
	defer st.Close()
	edge.SetCacheHeaders(out.ResponseHeader(), st.CacheStatus, st.CacheScore)
	edge.SetGuardrailHeader(out.ResponseHeader(), st.Guardrails())
	first := true
	for {
		c, err := st.Recv(ctx)
		if errors.Is(err, io.EOF) {
			return out.Send(&tollgatev1.ChatStreamResponse{
				Id: call.RequestID, Usage: usageToProto(st.Usage()), Cost: moneyToProto(st.CostNanos()),
				GuardrailVerdicts: guardrailVerdictsToProto(st.Guardrails()),
			})
		}
		if err != nil {
			return toConnectError(ctx, s.log, err)
		}
		if len(c.Choices) == 0 && !first {
			continue // usage-only chunk: reported on the final message
		}
		msg := chunkToProto(call.RequestID, c)
		if first {
			msg.Provider, msg.Model = st.Provider, st.Model
			msg.CacheStatus, msg.CacheScore = string(st.CacheStatus), st.CacheScore
			first = false
		}
		if err := out.Send(msg); err != nil {
			return err
		}
	}
}

// Embed implements InferenceService.Embed.
func (s *Inference) Embed(ctx context.Context, req *connect.Request[tollgatev1.EmbedRequest]) (*connect.Response[tollgatev1.EmbedResponse], error) {
	m := req.Msg
	call := s.call(ctx, req.Header(), m.GetEndUser(), m.GetTags(), m.GetMetadata())
	ereq := &providers.EmbedRequest{Model: m.GetModel(), Inputs: m.GetInputs(), User: m.GetEndUser()}
	if m.Dimensions != nil {
		d := int(m.GetDimensions())
		ereq.Dimensions = &d
	}
	res, err := s.engine.Embed(ctx, call, ereq)
	if err != nil {
		return nil, toConnectError(ctx, s.log, err)
	}
	out := &tollgatev1.EmbedResponse{
		Id: call.RequestID, Usage: usageToProto(res.Response.Usage), Cost: moneyToProto(res.CostNanos),
		Provider: res.Provider, Model: res.Model, Embeddings: make([]*tollgatev1.Embedding, len(res.Response.Vectors)),
	}
	for i, v := range res.Response.Vectors {
		out.Embeddings[i] = &tollgatev1.Embedding{Index: int32(i), Values: v}
	}
	return connect.NewResponse(out), nil
}

// ListModels implements InferenceService.ListModels.
func (s *Inference) ListModels(ctx context.Context, req *connect.Request[tollgatev1.ListModelsRequest]) (*connect.Response[tollgatev1.ListModelsResponse], error) {
	ms, err := s.engine.ListModels(ctx, s.call(ctx, req.Header(), "", nil, nil))
	if err != nil {
		return nil, toConnectError(ctx, s.log, err)
	}
	page, err := readPage(req.Msg)
	if err != nil {
		return nil, toConnectError(ctx, s.log, err)
	}
	// The models are the key's view of the registry, in memory and sorted
	// by name: a page starts after the cursor's name.
	start, _ := slices.BinarySearchFunc(ms, page.After, func(m *registry.Model, name string) int { return strings.Compare(m.Name, name) })
	if start < len(ms) && page.After != "" && ms[start].Name == page.After {
		start++
	}
	ms = ms[start:]
	next := ""
	if len(ms) > page.Size {
		ms = ms[:page.Size]
		next = ms[len(ms)-1].Name
	}
	out := &tollgatev1.ListModelsResponse{Models: make([]*tollgatev1.ModelInfo, 0, len(ms)), NextPageToken: nextPageToken(req.Msg, next)}
	for _, m := range ms {
		out.Models = append(out.Models, &tollgatev1.ModelInfo{
			Name: m.Name, Provider: m.ProviderID, ContextWindow: int32(m.ContextWindow), Embedding: m.Embedding,
		})
	}
	return connect.NewResponse(out), nil
}
