package gemini

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
)

// Tool call ids and thought signatures.
//
// Older Gemini models return function calls without an id; the adapter
// names them "call_<n>" (n counts the calls of a candidate; candidates other
// than the first get "call_<candidate>_<n>"), the same in unary and
// streamed answers, and never sends such generated ids back. Ids the model
// did send are replayed.
//
// Gemini 3 models attach a thoughtSignature to function-call parts and
// reject a conversation whose replayed calls lack it. The canonical
// ToolCall has no field for it, so the adapter carries it inside the tool
// call id, which every client echoes verbatim: "<id>__ts_<signature as
// unpadded base64url>". The id stays within [A-Za-z0-9_-], so clients and
// dialects that restrict id characters accept it. When the call comes back
// in a later request the adapter splits it again, sends the id part (unless
// generated) and the signature. Tool results reference the same full id,
// which is how the function name is found.

// sigSeparator joins a call id and its encoded thought signature.
const sigSeparator = "__ts_"

// skipSignatureValidator is the signature Google documents for function
// calls whose real signature is unavailable (history from another model).
const skipSignatureValidator = "skip_thought_signature_validator"

var errArgsNotObject = errors.New("arguments are not a JSON object")

// generatedID names the n-th call of candidate c.
func generatedID(c, n int) string {
	if c == 0 {
		return "call_" + strconv.Itoa(n)
	}
	return "call_" + strconv.Itoa(c) + "_" + strconv.Itoa(n)
}

// isGeneratedID reports ids made by generatedID (and the empty id).
func isGeneratedID(id string) bool {
	rest, ok := strings.CutPrefix(id, "call_")
	if !ok {
		return id == ""
	}
	a, b, two := strings.Cut(rest, "_")
	if !isDigits(a) {
		return false
	}
	return !two || isDigits(b)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// joinCallID returns the canonical id of a call: id with sig appended.
func joinCallID(id, sig string) string {
	if sig == "" {
		return id
	}
	return id + sigSeparator + base64.RawURLEncoding.EncodeToString([]byte(sig))
}

// splitCallID undoes joinCallID. An id whose suffix does not decode is
// returned whole, without signature.
func splitCallID(id string) (base, sig string) {
	i := strings.Index(id, sigSeparator)
	if i < 0 {
		return id, ""
	}
	raw, err := base64.RawURLEncoding.DecodeString(id[i+len(sigSeparator):])
	if err != nil || len(raw) == 0 {
		return id, ""
	}
	return id[:i], string(raw)
}
