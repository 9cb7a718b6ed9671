package openai

import (
	"errors"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

var (
	errContent    = errors.New("must be a string, an array of content parts or null")
	errStop       = errors.New("must be a string or an array of strings")
	errToolChoice = errors.New("must be a string or an object")
)

// Content is a message's content: a string, an array of parts, or null.
// The zero value is absent.
type Content struct {
	// Text is the content sent as a string.
	Text *string `json:"-"`
	// Parts is the content sent as an array; non-nil (possibly empty) for
	// an array.
	Parts []ContentPart `json:"-"`
	// Null is true for an explicit null.
	Null bool `json:"-"`
}

// TextContent returns s as string content.
func TextContent(s string) Content { return Content{Text: &s} }

// PartsContent returns parts as array content.
func PartsContent(parts ...ContentPart) Content {
	if parts == nil {
		parts = []ContentPart{}
	}
	return Content{Parts: parts}
}

// IsZero reports absent content.
func (c *Content) IsZero() bool { return c.Text == nil && c.Parts == nil && !c.Null }

// MarshalJSONTo implements json.MarshalerTo.
func (c *Content) MarshalJSONTo(enc *jsontext.Encoder) error {
	switch {
	case c.Parts != nil:
		return json.MarshalEncode(enc, &c.Parts)
	case c.Text != nil:
		return enc.WriteToken(jsontext.String(*c.Text))
	}
	return enc.WriteToken(jsontext.Null)
}

// UnmarshalJSONFrom implements json.UnmarshalerFrom.
func (c *Content) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	*c = Content{}
	switch dec.PeekKind() {
	case 'n':
		c.Null = true
		return dec.SkipValue()
	case '"':
		tok, err := dec.ReadToken()
		if err != nil {
			return err
		}
		s := tok.String()
		c.Text = &s
		return nil
	case '[':
		c.Parts = []ContentPart{}
		return json.UnmarshalDecode(dec, &c.Parts)
	}
	return errContent
}

// Stop is "stop": a string or an array of strings.
type Stop struct {
	Values []string `json:"-"`
	// Single is true when the JSON was (and is written as) one string.
	Single bool `json:"-"`
}

// MarshalJSONTo implements json.MarshalerTo.
func (s *Stop) MarshalJSONTo(enc *jsontext.Encoder) error {
	if s.Single && len(s.Values) == 1 {
		return enc.WriteToken(jsontext.String(s.Values[0]))
	}
	if s.Values == nil {
		return enc.WriteToken(jsontext.Null)
	}
	return json.MarshalEncode(enc, &s.Values)
}

// UnmarshalJSONFrom implements json.UnmarshalerFrom.
func (s *Stop) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	*s = Stop{}
	switch dec.PeekKind() {
	case 'n':
		return dec.SkipValue()
	case '"':
		tok, err := dec.ReadToken()
		if err != nil {
			return err
		}
		s.Values, s.Single = []string{tok.String()}, true
		return nil
	case '[':
		return json.UnmarshalDecode(dec, &s.Values)
	}
	return errStop
}

// Tool choice modes.
const (
	ChoiceAuto     = "auto"
	ChoiceNone     = "none"
	ChoiceRequired = "required"
)

// ToolChoice is "tool_choice": a mode ("auto", "none", "required") or an
// object naming a tool ({"type":"function","function":{"name"}}, a custom
// tool or allowed_tools). It is also the deprecated "function_call": a
// mode or {"name"}.
type ToolChoice struct {
	// Mode is the string form; empty for an object.
	Mode string `json:"-"`

	Type         string         `json:"type,omitzero"`
	Function     *Name          `json:"function,omitzero"`
	Custom       *Name          `json:"custom,omitzero"`
	AllowedTools jsontext.Value `json:"allowed_tools,omitzero"`
	// Name is the deprecated function_call object's.
	Name    string         `json:"name,omitzero"`
	Unknown jsontext.Value `json:",embed"`
}

// Name is {"name": ...}.
type Name struct {
	Name    string         `json:"name"`
	Unknown jsontext.Value `json:",embed"`
}

// FunctionChoice returns the choice forcing a call of the function name.
func FunctionChoice(name string) *ToolChoice {
	return &ToolChoice{Type: "function", Function: &Name{Name: name}}
}

// MarshalJSONTo implements json.MarshalerTo.
func (c *ToolChoice) MarshalJSONTo(enc *jsontext.Encoder) error {
	if c.Mode != "" {
		return enc.WriteToken(jsontext.String(c.Mode))
	}
	type object ToolChoice
	return json.MarshalEncode(enc, (*object)(c))
}

// UnmarshalJSONFrom implements json.UnmarshalerFrom.
func (c *ToolChoice) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	*c = ToolChoice{}
	switch dec.PeekKind() {
	case '"':
		tok, err := dec.ReadToken()
		if err != nil {
			return err
		}
		c.Mode = tok.String()
		return nil
	case '{':
		type object ToolChoice
		return json.UnmarshalDecode(dec, (*object)(c))
	}
	return errToolChoice
}
