package upstream

import (
	"errors"
	"net/url"
	"strings"
)

// Redacted replaces a secret in redacted text.
const Redacted = "[redacted]"

// Redact returns s with every occurrence of secret replaced by
// [Redacted]. An empty secret leaves s unchanged.
func Redact(secret, s string) string {
	if secret == "" || !strings.Contains(s, secret) {
		return s
	}
	return strings.ReplaceAll(s, secret, Redacted)
}

// RedactErr removes secret from err: from the URL of a *url.Error in its
// chain (keys sent as query parameters, or echoed by proxies and
// redirects) and, when that is not enough, from its text, in which case
// the returned error no longer wraps err. An error without the secret is
// returned as it is.
func RedactErr(secret string, err error) error {
	if secret == "" || err == nil || !strings.Contains(err.Error(), secret) {
		return err
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = Redact(secret, ue.URL)
		if !strings.Contains(err.Error(), secret) {
			return err
		}
	}
	return errors.New(Redact(secret, err.Error()))
}
