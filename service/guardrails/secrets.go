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
		pre: containsAny("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
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

// secretStarts are the literals secrets begin with.
var secretStarts = []string{"eyJ", "sk-", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "xox", "AIza", "AKIA", "ASIA", "ABIA", "ACCA", "-----BEGIN"}

// secretTail returns where an unfinished secret may start at the end of
// a streamed text, or -1: the stream filter holds it back until it is
// complete or clearly not a secret. It holds a start literal followed by
// token characters only, a PEM header without its END line, and a proper
// prefix of a start literal at the very end.
func secretTail(s string) int {
	at := -1
	hold := func(i int) {
		if at < 0 || i < at {
			at = i
		}
	}
	// The trailing run of token characters: a secret that may still grow
	// starts inside it, at its first start literal.
	run := len(s)
	for run > 0 && isTokenByte(s[run-1]) {
		run--
	}
	for _, p := range secretStarts {
		if p == "-----BEGIN" {
			if i := strings.LastIndex(s, p); i >= 0 && !strings.Contains(s[i:], "-----END") {
				hold(i)
			}
			continue
		}
		if i := strings.Index(s[run:], p); i >= 0 {
			hold(run + i)
		}
		for n := min(len(p)-1, len(s)); n > 0; n-- {
			if strings.HasSuffix(s, p[:n]) {
				hold(len(s) - n)
				break
			}
		}
	}
	return at
}

func isTokenByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.'
}

// SecretsConfig is the config of KindSecrets.
type SecretsConfig struct {
	// Types limits detection to these types; empty means all.
	Types []string `json:"types,omitempty"`
	// Allow lists regular expressions of values never reported (test keys).
	Allow []string `json:"allow,omitempty"`
}

func newSecrets(raw json.RawMessage) (*spanDetector, error) {
	var c SecretsConfig
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
