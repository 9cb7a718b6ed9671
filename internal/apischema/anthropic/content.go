package anthropic

import (
	"errors"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Content block types.
const (
	BlockText             = "text"
	BlockImage            = "image"
	BlockDocument         = "document"
	BlockSearchResult     = "search_result"
	BlockThinking         = "thinking"
	BlockRedactedThinking = "redacted_thinking"
	BlockToolUse          = "tool_use"
	BlockToolResult       = "tool_result"
	BlockServerToolUse    = "server_tool_use"
)

// ContentBlock is a content block of any kind, in requests and responses:
// text, image, document, search_result, thinking, redacted_thinking,
// tool_use, tool_result, and the server-tool blocks (server_tool_use,
// web_search_tool_result, ...). Type says which members apply.
type ContentBlock struct {
	Type string `json:"type"`

	// Text is a text block's text.
	Text string `json:"text,omitzero"`
	// Citations are a text block's citations (an array) in responses, or a
	// document's citation settings ({"enabled":true}) in requests.
	Citations jsontext.Value `json:"citations,omitzero"`

	// Source is an image's or a document's source, or a search result's
	// source URL.
	Source *Source `json:"source,omitzero"`
	// Title and Context describe a document or a search result.
	Title   string `json:"title,omitzero"`
	Context string `json:"context,omitzero"`

	// ID, Name and Input describe a tool_use or server_tool_use block.
	ID    string         `json:"id,omitzero"`
	Name  string         `json:"name,omitzero"`
	Input jsontext.Value `json:"input,omitzero"`

	// ToolUseID, Content and IsError describe a tool_result block (and
	// the results of server tools, whose Content has other shapes).
	ToolUseID string  `json:"tool_use_id,omitzero"`
	Content   *Blocks `json:"content,omitzero"`
	IsError   *bool   `json:"is_error,omitzero"`

	// Thinking and Signature describe a thinking block; Data a
	// redacted_thinking block.
	Thinking  string `json:"thinking,omitzero"`
	Signature string `json:"signature,omitzero"`
	Data      string `json:"data,omitzero"`

	CacheControl *CacheControl  `json:"cache_control,omitzero"`
	Unknown      jsontext.Value `json:",embed"`
}

// TextBlock returns a text block.
func TextBlock(s string) ContentBlock { return ContentBlock{Type: BlockText, Text: s} }

// emptyObject is the input of a tool call without arguments.
var emptyObject = jsontext.Value("{}")

// MarshalJSONTo implements json.MarshalerTo. The members a block kind
// requires are written even when empty: a text block's text, a thinking
// block's thinking and signature, a redacted_thinking block's data and a
// tool call's input ({} when unset).
func (b *ContentBlock) MarshalJSONTo(enc *jsontext.Encoder) error {
	type rest ContentBlock
	r := (*rest)(b)
	switch b.Type {
	case BlockText:
		return json.MarshalEncode(enc, &struct {
			Type string `json:"type"`
			Text string `json:"text"`
			*rest
		}{b.Type, b.Text, r})
	case BlockThinking:
		return json.MarshalEncode(enc, &struct {
			Type      string `json:"type"`
			Thinking  string `json:"thinking"`
			Signature string `json:"signature"`
			*rest
		}{b.Type, b.Thinking, b.Signature, r})
	case BlockRedactedThinking:
		return json.MarshalEncode(enc, &struct {
			Type string `json:"type"`
			Data string `json:"data"`
			*rest
		}{b.Type, b.Data, r})
	case BlockToolUse, BlockServerToolUse:
		input := b.Input
		if len(input) == 0 {
			input = emptyObject
		}
		return json.MarshalEncode(enc, &struct {
			Type  string         `json:"type"`
			ID    string         `json:"id"`
			Name  string         `json:"name"`
			Input jsontext.Value `json:"input"`
			*rest
		}{b.Type, b.ID, b.Name, input, r})
	}
	return json.MarshalEncode(enc, r)
}

// Source types.
const (
	SourceBase64  = "base64"
	SourceURL     = "url"
	SourceText    = "text"
	SourceContent = "content"
	SourceFile    = "file"
)

// Source is an image's or a document's source: base64 (MediaType, Data),
// url (URL), text (MediaType "text/plain", Data), content (Content) or
// file (FileID). A search result's source is a URL string, kept in String.
type Source struct {
	Type      string  `json:"type,omitzero"`
	MediaType string  `json:"media_type,omitzero"`
	Data      string  `json:"data,omitzero"`
	URL       string  `json:"url,omitzero"`
	FileID    string  `json:"file_id,omitzero"`
	Content   *Blocks `json:"content,omitzero"`
	// String is the source when sent as a string.
	String  *string        `json:"-"`
	Unknown jsontext.Value `json:",embed"`
}

// MarshalJSONTo implements json.MarshalerTo.
func (s *Source) MarshalJSONTo(enc *jsontext.Encoder) error {
	if s.String != nil {
		return enc.WriteToken(jsontext.String(*s.String))
	}
	type object Source
	return json.MarshalEncode(enc, (*object)(s))
}

// UnmarshalJSONFrom implements json.UnmarshalerFrom.
func (s *Source) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	if dec.PeekKind() == '"' {
		tok, err := dec.ReadToken()
		if err != nil {
			return err
		}
		str := tok.String()
		*s = Source{String: &str}
		return nil
	}
	type object Source
	*s = Source{}
	return json.UnmarshalDecode(dec, (*object)(s))
}

var errBlocks = errors.New("must be a string or an array of content blocks")

// Blocks is content sent as a string or as an array of content blocks:
// a message's content, the system prompt, a tool result's content. Other
// shapes (the error object some server-tool results carry) are kept in
// Raw.
type Blocks struct {
	// Text is the content sent as a string.
	Text *string `json:"-"`
	// List is the content sent as an array; non-nil for an array.
	List []ContentBlock `json:"-"`
	// Raw holds any other JSON value.
	Raw jsontext.Value `json:"-"`
}

// TextBlocks returns s as string content.
func TextBlocks(s string) Blocks { return Blocks{Text: &s} }

// ListBlocks returns blocks as array content.
func ListBlocks(blocks ...ContentBlock) Blocks {
	if blocks == nil {
		blocks = []ContentBlock{}
	}
	return Blocks{List: blocks}
}

// IsZero reports absent content.
func (b *Blocks) IsZero() bool { return b.Text == nil && b.List == nil && len(b.Raw) == 0 }

// MarshalJSONTo implements json.MarshalerTo.
func (b *Blocks) MarshalJSONTo(enc *jsontext.Encoder) error {
	switch {
	case b.List != nil:
		return json.MarshalEncode(enc, &b.List)
	case b.Text != nil:
		return enc.WriteToken(jsontext.String(*b.Text))
	case len(b.Raw) > 0:
		return enc.WriteValue(b.Raw)
	}
	return enc.WriteToken(jsontext.Null)
}

// UnmarshalJSONFrom implements json.UnmarshalerFrom.
func (b *Blocks) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	*b = Blocks{}
	switch dec.PeekKind() {
	case '"':
		tok, err := dec.ReadToken()
		if err != nil {
			return err
		}
		s := tok.String()
		b.Text = &s
		return nil
	case '[':
		b.List = []ContentBlock{}
		return json.UnmarshalDecode(dec, &b.List)
	case '{', 'n':
		v, err := dec.ReadValue()
		if err != nil {
			return err
		}
		b.Raw = v.Clone()
		return nil
	}
	return errBlocks
}
