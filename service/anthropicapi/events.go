package anthropicapi

import (
	"strconv"

	"github.com/tollgate-dev/tollgate/internal/jsonstr"
	"github.com/tollgate-dev/tollgate/providers"
)

// blockKind is the kind of the content block a stream has open.
type blockKind uint8

const (
	blockNone blockKind = iota
	blockText
	blockThinking
	blockTool
)

// events translates canonical stream chunks to Anthropic SSE events. It
// appends the framed events to buf, which the caller writes, flushes and
// resets; the buffer is reused for the whole stream so that steady-state
// translation does not allocate.
type events struct {
	buf []byte
	// next is the index of the next content block.
	next int
	open blockKind
	// tool is the canonical index of the open tool_use block.
	tool int
	// sawTool records that the message contains a tool_use block.
	sawTool bool
	finish  providers.FinishReason
	// headers remembers the id and name of every tool call seen.
	headers []toolHeader
}

type toolHeader struct {
	index    int
	id, name string
}

func (e *events) header(index int) (id, name string) {
	for i := len(e.headers) - 1; i >= 0; i-- {
		if e.headers[i].index == index {
			return e.headers[i].id, e.headers[i].name
		}
	}
	return "", ""
}

func (e *events) reset() { e.buf = e.buf[:0] }

func (e *events) frame(name string) {
	e.buf = append(e.buf, "event: "...)
	e.buf = append(e.buf, name...)
	e.buf = append(e.buf, "\ndata: "...)
}

func (e *events) endFrame() { e.buf = append(e.buf, "}\n\n"...) }

func (e *events) appendUsage(u usageOut) {
	e.buf = append(e.buf, `{"input_tokens":`...)
	e.buf = strconv.AppendInt(e.buf, u.InputTokens, 10)
	e.buf = append(e.buf, `,"cache_creation_input_tokens":`...)
	e.buf = strconv.AppendInt(e.buf, u.CacheCreationInputTokens, 10)
	e.buf = append(e.buf, `,"cache_read_input_tokens":`...)
	e.buf = strconv.AppendInt(e.buf, u.CacheReadInputTokens, 10)
	e.buf = append(e.buf, `,"output_tokens":`...)
	e.buf = strconv.AppendInt(e.buf, u.OutputTokens, 10)
	e.buf = append(e.buf, '}')
}

// start emits message_start (a Message with empty content) and a ping.
func (e *events) start(id, model string, u usageOut) {
	e.frame("message_start")
	e.buf = append(e.buf, `{"type":"message_start","message":{"id":`...)
	e.buf = jsonstr.AppendString(e.buf, id)
	e.buf = append(e.buf, `,"type":"message","role":"assistant","model":`...)
	e.buf = jsonstr.AppendString(e.buf, model)
	e.buf = append(e.buf, `,"content":[],"stop_reason":null,"stop_sequence":null,"usage":`...)
	e.appendUsage(u)
	e.buf = append(e.buf, '}')
	e.endFrame()
	e.ping()
}

// ping emits a keep-alive event.
func (e *events) ping() {
	e.buf = append(e.buf, pingFrame...)
}

func (e *events) closeBlock() {
	if e.open == blockNone {
		return
	}
	e.frame("content_block_stop")
	e.buf = append(e.buf, `{"type":"content_block_stop","index":`...)
	e.buf = strconv.AppendInt(e.buf, int64(e.next-1), 10)
	e.endFrame()
	e.open = blockNone
}

func (e *events) openBlock(kind blockKind) {
	e.closeBlock()
	e.frame("content_block_start")
	e.buf = append(e.buf, `{"type":"content_block_start","index":`...)
	e.buf = strconv.AppendInt(e.buf, int64(e.next), 10)
	switch kind {
	case blockText:
		e.buf = append(e.buf, `,"content_block":{"type":"text","text":""}`...)
	case blockThinking:
		e.buf = append(e.buf, `,"content_block":{"type":"thinking","thinking":"","signature":""}`...)
	}
	e.endFrame()
	e.next++
	e.open = kind
}

func (e *events) openTool(index int, id, name string) {
	e.closeBlock()
	e.frame("content_block_start")
	e.buf = append(e.buf, `{"type":"content_block_start","index":`...)
	e.buf = strconv.AppendInt(e.buf, int64(e.next), 10)
	e.buf = append(e.buf, `,"content_block":{"type":"tool_use","id":`...)
	e.buf = jsonstr.AppendString(e.buf, id)
	e.buf = append(e.buf, `,"name":`...)
	e.buf = jsonstr.AppendString(e.buf, name)
	e.buf = append(e.buf, `,"input":{}}`...)
	e.endFrame()
	e.next++
	e.open, e.tool, e.sawTool = blockTool, index, true
}

// delta emits a content_block_delta of deltaType whose field holds s.
func (e *events) delta(deltaType, field, s string) {
	e.frame("content_block_delta")
	e.buf = append(e.buf, `{"type":"content_block_delta","index":`...)
	e.buf = strconv.AppendInt(e.buf, int64(e.next-1), 10)
	e.buf = append(e.buf, `,"delta":{"type":"`...)
	e.buf = append(e.buf, deltaType...)
	e.buf = append(e.buf, `","`...)
	e.buf = append(e.buf, field...)
	e.buf = append(e.buf, `":`...)
	e.buf = jsonstr.AppendString(e.buf, s)
	e.buf = append(e.buf, '}')
	e.endFrame()
}

// chunk translates one canonical chunk. Only choice 0 exists in this
// dialect. Blocks open lazily: a delta of another kind than the open block
// closes it and opens a new one.
func (e *events) chunk(c *providers.Chunk) {
	for i := range c.Choices {
		d := &c.Choices[i]
		if d.Index != 0 {
			continue
		}
		if d.Reasoning != "" {
			if e.open != blockThinking {
				e.openBlock(blockThinking)
			}
			e.delta("thinking_delta", "thinking", d.Reasoning)
		}
		if d.ReasoningSignature != "" {
			if e.open != blockThinking {
				e.openBlock(blockThinking)
			}
			e.delta("signature_delta", "signature", d.ReasoningSignature)
		}
		if d.Text != "" {
			if e.open != blockText {
				e.openBlock(blockText)
			}
			e.delta("text_delta", "text", d.Text)
		}
		for j := range d.ToolCalls {
			tc := &d.ToolCalls[j]
			if tc.ID != "" || e.open != blockTool || e.tool != tc.Index {
				id, name := tc.ID, tc.Name
				if id == "" {
					// A fragment of a tool call whose block was closed by
					// another one (interleaved parallel calls): Anthropic
					// blocks cannot reopen, so it continues in a new block
					// of the same call.
					id, name = e.header(tc.Index)
				} else {
					e.headers = append(e.headers, toolHeader{index: tc.Index, id: id, name: name})
				}
				e.openTool(tc.Index, id, name)
			}
			if tc.Arguments != "" {
				e.delta("input_json_delta", "partial_json", tc.Arguments)
			}
		}
		if d.FinishReason != "" {
			e.finish = d.FinishReason
		}
	}
}

// end closes the open block and emits message_delta and message_stop.
func (e *events) end(u usageOut) {
	e.closeBlock()
	reason := stopReason(e.finish)
	if e.sawTool && e.finish == providers.FinishStop {
		reason = "tool_use"
	}
	e.frame("message_delta")
	e.buf = append(e.buf, `{"type":"message_delta","delta":{"stop_reason":"`...)
	e.buf = append(e.buf, reason...)
	e.buf = append(e.buf, `","stop_sequence":null},"usage":`...)
	e.appendUsage(u)
	e.endFrame()
	e.buf = append(e.buf, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"...)
}

// fail emits an error event.
func (e *events) fail(errType, msg string) {
	e.frame("error")
	e.buf = append(e.buf, `{"type":"error","error":{"type":`...)
	e.buf = jsonstr.AppendString(e.buf, errType)
	e.buf = append(e.buf, `,"message":`...)
	e.buf = jsonstr.AppendString(e.buf, msg)
	e.buf = append(e.buf, '}')
	e.endFrame()
}
