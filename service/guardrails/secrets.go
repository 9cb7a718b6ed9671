package guardrails

import (
	"encoding/base64"
	"encoding/json"
	"regexp"
	"strings"
)

// The secret types, by config name.
var secretTypes = map[string]*spanType{
	"aws_access_key": {
		category: "aws_access_key", label: "AWS_KEY",
		re:  regexp.MustCompile(`\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b`),
		pre: containsAny("AKIA", "ASIA", "ABIA", "ACCA"),
	},
	"anthropic_key": {
		category: "anthropic_key", label: "API_KEY",
		re:  regexp.MustCompile(`\bsk-ant-[A-Za-z0-9_-]{20,}`),
		pre: containsAny("sk-ant-"),
	},
	"openai_key": {
		category: "openai_key", label: "API_KEY",
		re:  regexp.MustCompile(`\bsk-(?:proj-)?[A-Za-z0-9_-]{20,}`),
		pre: containsAny("sk-"),
		valid: func(s string) (int, int, bool) {
			return 0, len(s), !strings.HasPrefix(s, "sk-ant-")
		},
	},
	"github_token": {
		category: "github_token", label: "GITHUB_TOKEN",
		re:  regexp.MustCompile(`\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})`),
		pre: containsAny("gh", "github_pat_"),
	},
	"slack_token": {
		category: "slack_token", label: "SLACK_TOKEN",
		re:  regexp.MustCompile(`\bxox[abposr]-[A-Za-z0-9-]{10,}`),
		pre: containsAny("xox"),
	},
	"jwt": {
		category: "jwt", label: "JWT",
		re:    regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}`),
		pre:   containsAny("eyJ"),
		valid: validJWT,
	},
	"private_key": {
		category: "private_key", label: "PRIVATE_KEY",
		re: regexp.MustCompile(`-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?:[\s\S]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|[A-Za-z0-9+/=\s]*(?:-{1,5}(?:E(?:N(?:D[^\n]*)?)?)?)?)`),
		// Without its END line, the block runs to the end of its body and
		// any partial END line, so that a streamed block is held back
		// until it is complete.
		pre: containsAny("-----BEGIN"),
	},
	"google_api_key": {
		category: "google_api_key", label: "GOOGLE_API_KEY",
		re:  regexp.MustCompile(`\bAIza[0-9A-Za-z_-]{35}`),
		pre: containsAny("AIza"),
	},
}

var secretOrder = []string{"private_key", "jwt", "aws_access_key", "anthropic_key", "openai_key", "github_token", "slack_token", "google_api_key"}

// secretTail matches an unfinished secret at the end of a streamed text:
// the stream filter holds it back until it is complete or clearly not a
// secret.
var secretTail = regexp.MustCompile(`(?:\beyJ[A-Za-z0-9_.-]*|-----BEGIN[\s\S]*|\bsk-[A-Za-z0-9_-]*|\bgh[pousr]_[A-Za-z0-9]*|\bgithub_pat_\w*|\bxox[a-z]?-?[A-Za-z0-9-]*|\bAIza[0-9A-Za-z_-]*|\bA[SKBC][IC]A[0-9A-Z]*|-{1,5}B?E?G?I?N?)$`)

// secretsConfig is the config of KindSecrets.
type secretsConfig struct {
	// Types limits detection to these types; empty means all.
	Types []string `json:"types"`
	// Allow lists regular expressions of values never reported (test keys).
	Allow []string `json:"allow"`
}

func newSecrets(raw json.RawMessage) (*spanDetector, error) {
	var c secretsConfig
	if err := strictUnmarshal(raw, &c); err != nil {
		return nil, err
	}
	return newSpanDetector(secretTypes, secretOrder, c.Types, c.Allow, false, secretTail)
}

// validJWT requires the first segment to decode to a JSON object.
func validJWT(s string) (int, int, bool) {
	head, _, _ := strings.Cut(s, ".")
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(head, "="))
	if err != nil || !json.Valid(b) || b[0] != '{' {
		return 0, 0, false
	}
	return 0, len(s), true
}
