package rpc

import (
	"fmt"
	"strconv"
	"time"

	"google.golang.org/genproto/googleapis/type/money"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/gateway"
)

var roleFromProto = map[tollgatev1.Role]providers.Role{
	tollgatev1.Role_ROLE_SYSTEM:    providers.RoleSystem,
	tollgatev1.Role_ROLE_USER:      providers.RoleUser,
	tollgatev1.Role_ROLE_ASSISTANT: providers.RoleAssistant,
	tollgatev1.Role_ROLE_TOOL:      providers.RoleTool,
}

var roleToProto = map[providers.Role]tollgatev1.Role{
	providers.RoleSystem:    tollgatev1.Role_ROLE_SYSTEM,
	providers.RoleUser:      tollgatev1.Role_ROLE_USER,
	providers.RoleAssistant: tollgatev1.Role_ROLE_ASSISTANT,
	providers.RoleTool:      tollgatev1.Role_ROLE_TOOL,
}

var finishToProto = map[providers.FinishReason]tollgatev1.FinishReason{
	providers.FinishStop:          tollgatev1.FinishReason_FINISH_REASON_STOP,
	providers.FinishLength:        tollgatev1.FinishReason_FINISH_REASON_LENGTH,
	providers.FinishToolCalls:     tollgatev1.FinishReason_FINISH_REASON_TOOL_CALLS,
	providers.FinishContentFilter: tollgatev1.FinishReason_FINISH_REASON_CONTENT_FILTER,
	providers.FinishError:         tollgatev1.FinishReason_FINISH_REASON_ERROR,
}

func badParam(param, msg string) error {
	return &gateway.InvalidRequestError{Param: param, Message: msg}
}

// chatRequestFromProto converts the API's chat request to the canonical model.
func chatRequestFromProto(in *tollgatev1.ChatRequest) (*providers.ChatRequest, error) {
	if in == nil {
		return nil, badParam("request", "is required")
	}
	out := &providers.ChatRequest{
		Model:             in.GetModel(),
		Messages:          make([]providers.Message, 0, len(in.GetMessages())),
		ParallelToolCalls: in.ParallelToolCalls,
		Temperature:       in.Temperature,
		TopP:              in.TopP,
		Stop:              in.GetStop(),
		Seed:              in.Seed,
		PresencePenalty:   in.PresencePenalty,
		FrequencyPenalty:  in.FrequencyPenalty,
		User:              in.GetEndUser(),
	}
	if in.MaxTokens != nil {
		v := int(in.GetMaxTokens())
		out.MaxTokens = &v
	}
	if in.N != nil {
		v := int(in.GetN())
		out.N = &v
	}
	for i, m := range in.GetMessages() {
		p := "messages[" + strconv.Itoa(i) + "]"
		role, ok := roleFromProto[m.GetRole()]
		if !ok {
			return nil, badParam(p+".role", "must be set to one of ROLE_SYSTEM, ROLE_USER, ROLE_ASSISTANT, ROLE_TOOL")
		}
		msg := providers.Message{Role: role, ToolCallID: m.GetToolCallId(), Name: m.GetName()}
		if len(m.GetContent()) > 0 {
			msg.Content = make([]providers.Part, 0, len(m.GetContent()))
		}
		for j, c := range m.GetContent() {
			part, err := partFromProto(c)
			if err != nil {
				return nil, badParam(p+".content["+strconv.Itoa(j)+"]", err.Error())
			}
			msg.Content = append(msg.Content, part)
		}
		for _, tc := range m.GetToolCalls() {
			msg.ToolCalls = append(msg.ToolCalls, providers.ToolCall{ID: tc.GetId(), Name: tc.GetName(), Arguments: tc.GetArguments()})
		}
		out.Messages = append(out.Messages, msg)
	}
	for i, t := range in.GetTools() {
		tool := providers.Tool{Name: t.GetName(), Description: t.GetDescription(), Strict: t.GetStrict()}
		if t.GetParameters() != nil {
			b, err := protojson.Marshal(t.GetParameters())
			if err != nil {
				return nil, badParam("tools["+strconv.Itoa(i)+"].parameters", err.Error())
			}
			tool.Parameters = b
		}
		out.Tools = append(out.Tools, tool)
	}
	if tc := in.GetToolChoice(); tc != nil {
		switch c := tc.GetChoice().(type) {
		case *tollgatev1.ToolChoice_FunctionName:
			out.ToolChoice = &providers.ToolChoice{Mode: providers.ToolChoiceFunction, Name: c.FunctionName}
		case *tollgatev1.ToolChoice_Mode_:
			switch c.Mode {
			case tollgatev1.ToolChoice_MODE_AUTO:
				out.ToolChoice = &providers.ToolChoice{Mode: providers.ToolChoiceAuto}
			case tollgatev1.ToolChoice_MODE_NONE:
				out.ToolChoice = &providers.ToolChoice{Mode: providers.ToolChoiceNone}
			case tollgatev1.ToolChoice_MODE_REQUIRED:
				out.ToolChoice = &providers.ToolChoice{Mode: providers.ToolChoiceRequired}
			}
		}
	}
	if rf := in.GetResponseFormat(); rf != nil {
		switch rf.GetType() {
		case tollgatev1.ResponseFormat_TYPE_UNSPECIFIED, tollgatev1.ResponseFormat_TYPE_TEXT:
		case tollgatev1.ResponseFormat_TYPE_JSON_OBJECT:
			out.ResponseFormat = &providers.ResponseFormat{Type: providers.FormatJSONObject}
		case tollgatev1.ResponseFormat_TYPE_JSON_SCHEMA:
			js := rf.GetJsonSchema()
			f := &providers.ResponseFormat{Type: providers.FormatJSONSchema, Name: js.GetName(), Description: js.GetDescription(), Strict: js.GetStrict()}
			if js.GetSchema() != nil {
				b, err := protojson.Marshal(js.GetSchema())
				if err != nil {
					return nil, badParam("response_format.json_schema.schema", err.Error())
				}
				f.Schema = b
			}
			out.ResponseFormat = f
		default:
			return nil, badParam("response_format.type", "unknown type")
		}
	}
	return out, nil
}

func partFromProto(c *tollgatev1.ContentPart) (providers.Part, error) {
	switch p := c.GetPart().(type) {
	case *tollgatev1.ContentPart_Text:
		return providers.TextPart(p.Text), nil
	case *tollgatev1.ContentPart_Image:
		img := &providers.Image{Detail: p.Image.GetDetail()}
		switch s := p.Image.GetSource().(type) {
		case *tollgatev1.Image_Url:
			img.URL = s.Url
		case *tollgatev1.Image_Data:
			img.MIMEType, img.Data = s.Data.GetMimeType(), s.Data.GetData()
			if img.MIMEType == "" {
				return providers.Part{}, fmt.Errorf("image data needs a mime_type")
			}
		default:
			return providers.Part{}, fmt.Errorf("image needs a url or data")
		}
		return providers.Part{Type: providers.PartImage, Image: img}, nil
	case *tollgatev1.ContentPart_Reasoning:
		return providers.Part{Type: providers.PartReasoning, Text: p.Reasoning.GetText(),
			Signature: p.Reasoning.GetSignature(), RedactedData: p.Reasoning.GetRedactedData()}, nil
	}
	return providers.Part{}, fmt.Errorf("content part is empty")
}

func messageToProto(m *providers.Message) *tollgatev1.Message {
	out := &tollgatev1.Message{Role: roleToProto[m.Role], ToolCallId: m.ToolCallID, Name: m.Name}
	for _, p := range m.Content {
		switch p.Type {
		case providers.PartText:
			out.Content = append(out.Content, &tollgatev1.ContentPart{Part: &tollgatev1.ContentPart_Text{Text: p.Text}})
		case providers.PartReasoning:
			out.Content = append(out.Content, &tollgatev1.ContentPart{Part: &tollgatev1.ContentPart_Reasoning{
				Reasoning: &tollgatev1.Reasoning{Text: p.Text, Signature: p.Signature, RedactedData: p.RedactedData}}})
		case providers.PartImage:
			img := &tollgatev1.Image{Detail: p.Image.Detail}
			if p.Image.URL != "" {
				img.Source = &tollgatev1.Image_Url{Url: p.Image.URL}
			} else {
				img.Source = &tollgatev1.Image_Data{Data: &tollgatev1.InlineData{MimeType: p.Image.MIMEType, Data: p.Image.Data}}
			}
			out.Content = append(out.Content, &tollgatev1.ContentPart{Part: &tollgatev1.ContentPart_Image{Image: img}})
		}
	}
	for _, tc := range m.ToolCalls {
		out.ToolCalls = append(out.ToolCalls, &tollgatev1.ToolCall{Id: tc.ID, Name: tc.Name, Arguments: tc.Arguments})
	}
	return out
}

func usageToProto(u providers.Usage) *tollgatev1.Usage {
	return &tollgatev1.Usage{
		InputTokens: u.InputTokens, OutputTokens: u.OutputTokens, CachedInputTokens: u.CachedInputTokens,
		CacheWriteTokens: u.CacheWriteTokens, ReasoningTokens: u.ReasoningTokens, TotalTokens: u.Total(), Estimated: u.Estimated,
	}
}

func chatResponseToProto(id, requested string, r *gateway.ChatResult) *tollgatev1.ChatResponse {
	resp := r.Response
	out := &tollgatev1.ChatResponse{
		Id: id, Usage: usageToProto(resp.Usage), Cost: moneyToProto(r.CostNanos),
		Provider: r.Provider, Model: r.Model, RequestedModel: requested, UpstreamId: resp.ID,
		Choices: make([]*tollgatev1.Choice, 0, len(resp.Choices)), Attempts: int32(r.Attempts), Route: r.Route,
		CacheStatus: string(r.CacheStatus), CacheScore: r.CacheScore,
	}
	if !resp.Created.IsZero() {
		out.CreateTime = timestamppb.New(resp.Created)
	} else {
		out.CreateTime = timestamppb.Now()
	}
	for i := range resp.Choices {
		c := &resp.Choices[i]
		out.Choices = append(out.Choices, &tollgatev1.Choice{
			Index: int32(c.Index), Message: messageToProto(&c.Message), FinishReason: finishToProto[c.FinishReason],
		})
	}
	return out
}

func chunkToProto(id string, c *providers.Chunk) *tollgatev1.ChatStreamResponse {
	out := &tollgatev1.ChatStreamResponse{Id: id}
	if len(c.Choices) > 0 {
		out.Choices = make([]*tollgatev1.ChoiceDelta, 0, len(c.Choices))
	}
	for i := range c.Choices {
		d := &c.Choices[i]
		cd := &tollgatev1.ChoiceDelta{Index: int32(d.Index), Text: d.Text, Reasoning: d.Reasoning, FinishReason: finishToProto[d.FinishReason]}
		for _, tc := range d.ToolCalls {
			cd.ToolCalls = append(cd.ToolCalls, &tollgatev1.ToolCallDelta{Index: int32(tc.Index), Id: tc.ID, Name: tc.Name, Arguments: tc.Arguments})
		}
		out.Choices = append(out.Choices, cd)
	}
	return out
}

// moneyToProto converts nano-USD to a google.type.Money in USD.
func moneyToProto(nanos int64) *money.Money {
	return &money.Money{CurrencyCode: "USD", Units: nanos / 1_000_000_000, Nanos: int32(nanos % 1_000_000_000)}
}

// moneyFromProto converts a google.type.Money in USD to nano-USD; nil is zero.
func moneyFromProto(param string, m *money.Money) (int64, error) {
	if m == nil {
		return 0, nil
	}
	if c := m.GetCurrencyCode(); c != "" && c != "USD" {
		return 0, badParam(param+".currency_code", "only USD is supported")
	}
	u, n := m.GetUnits(), int64(m.GetNanos())
	if n <= -1_000_000_000 || n >= 1_000_000_000 || (u > 0 && n < 0) || (u < 0 && n > 0) {
		return 0, badParam(param+".nanos", "must be within ±999,999,999 and have the sign of units")
	}
	if u < 0 || n < 0 {
		return 0, badParam(param, "must not be negative")
	}
	if u > 9_000_000_000 {
		return 0, badParam(param+".units", "is too large")
	}
	return u*1_000_000_000 + n, nil
}

func timeToProto(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func durationToProto(d time.Duration) *durationpb.Duration {
	if d == 0 {
		return nil
	}
	return durationpb.New(d)
}
