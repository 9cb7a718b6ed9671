package openai

import (
	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/tollgate-dev/tollgate/internal/apischema"
)

// ErrorBody is an error response: {"error":{...}}. Message, Type and Code
// at the top level cover compatible servers that do not nest the object.
type ErrorBody struct {
	Error   *ErrorObject   `json:"error,omitzero"`
	Message string         `json:"message,omitzero"`
	Type    string         `json:"type,omitzero"`
	Code    jsontext.Value `json:"code,omitzero"`
	Unknown jsontext.Value `json:",embed"`
}

// ErrorObject is the "error" member. OpenAI sends param and code as
// strings or null; compatible servers may send a numeric code (read Code
// with apischema.Text), or a bare string instead of the object, which
// decoding accepts as the Message.
type ErrorObject struct {
	Message string                     `json:"message"`
	Type    string                     `json:"type"`
	Param   apischema.Nullable[string] `json:"param"`
	Code    jsontext.Value             `json:"code"`
	Unknown jsontext.Value             `json:",embed"`
}

// UnmarshalJSONFrom implements json.UnmarshalerFrom.
func (e *ErrorObject) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	if dec.PeekKind() == '"' {
		tok, err := dec.ReadToken()
		if err != nil {
			return err
		}
		*e = ErrorObject{Message: tok.String()}
		return nil
	}
	type object ErrorObject
	return json.UnmarshalDecode(dec, (*object)(e))
}

// ParamString returns the param, "" when null.
func (e *ErrorObject) ParamString() string {
	if e.Param.V == nil {
		return ""
	}
	return *e.Param.V
}
