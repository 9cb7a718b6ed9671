package apischema

import (
	"errors"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// DecodeError describes why a body could not be decoded: the field at
// fault, named the way clients name request fields
// ("messages[2].content"), "" for the body as a whole, and what is wrong.
type DecodeError struct {
	Field   string
	Message string
	Err     error
}

// Error implements error.
func (e *DecodeError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

// Unwrap returns the decoder's error.
func (e *DecodeError) Unwrap() error { return e.Err }

// Describe turns an error of Unmarshal into a DecodeError.
func Describe(err error) *DecodeError {
	var se *json.SemanticError
	var xe *jsontext.SyntacticError
	switch {
	case errors.As(err, &se):
		d := &DecodeError{Field: FieldOf(se.JSONPointer), Err: err}
		switch {
		case se.Err != nil:
			d.Message = se.Err.Error()
		case se.GoType != nil && se.JSONKind != 0:
			d.Message = "expected " + kindOf(se.GoType.Kind().String()) + ", got JSON " + se.JSONKind.String()
		default:
			d.Message = "invalid value"
		}
		if d.Field == "" && se.JSONKind != 0 && se.JSONKind != '{' {
			d.Message = "the request body must be a JSON object"
		}
		return d
	case errors.As(err, &xe):
		// The body is not valid JSON: no field is at fault, but say where.
		msg := "the request body is not valid JSON"
		if at := FieldOf(xe.JSONPointer); at != "" {
			msg += " (at " + at + ")"
		}
		if xe.Err != nil {
			msg += ": " + xe.Err.Error()
		}
		return &DecodeError{Message: msg, Err: err}
	}
	return &DecodeError{Message: "the request body is not valid JSON: " + err.Error(), Err: err}
}

func kindOf(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	}
	return "a number"
}

// FieldOf renders a JSON pointer as a field path: "/messages/0/content"
// becomes "messages[0].content".
func FieldOf(p jsontext.Pointer) string {
	var b strings.Builder
	for tok := range p.Tokens() {
		if _, err := strconv.Atoi(tok); err == nil && b.Len() > 0 {
			b.WriteString("[" + tok + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return b.String()
}
