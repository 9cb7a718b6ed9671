package bedrocktest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Credentials are the AWS credentials the fake accepts.
type Credentials struct {
	AccessKeyID, SecretAccessKey, SessionToken string
}

// sigError is a refused signature: the error type AWS sends and its
// message.
type sigError struct {
	typ, msg string
}

func (e *sigError) Error() string { return e.typ + ": " + e.msg }

// The messages AWS answers refused signatures with.
const (
	msgMismatch = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgUnknownKey = "The security token included in the request is invalid."
)

// verifySigV4 checks the Signature Version 4 signature of r, whose body
// is body, against the credentials lookup finds for its access key id, for region and service, at now (within 15
// minutes of the request's X-Amz-Date). It is written from AWS's
// "Create a signed AWS API request" reference, independently of the SDK's
// signer: canonical request, string to sign, derived signing key.
func verifySigV4(r *http.Request, body []byte, lookup func(accessKeyID string) (Credentials, bool), region, service string, now time.Time) error {
	auth := r.Header.Get("Authorization")
	const algo = "AWS4-HMAC-SHA256"
	rest, ok := strings.CutPrefix(auth, algo+" ")
	if !ok {
		return &sigError{"MissingAuthenticationTokenException", "Missing Authentication Token"}
	}
	fields := map[string]string{}
	for part := range strings.SplitSeq(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return &sigError{"IncompleteSignatureException", "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature'."}
		}
		fields[k] = v
	}
	cred, signedList, sig := fields["Credential"], fields["SignedHeaders"], fields["Signature"]
	if cred == "" || signedList == "" || sig == "" {
		return &sigError{"IncompleteSignatureException", "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature'."}
	}
	scope := strings.Split(cred, "/")
	if len(scope) != 5 || scope[4] != "aws4_request" {
		return &sigError{"IncompleteSignatureException", "Credential should be scoped to a valid region."}
	}
	creds, ok := lookup(scope[0])
	if !ok {
		return &sigError{"UnrecognizedClientException", msgUnknownKey}
	}
	if scope[2] != region || scope[3] != service {
		return &sigError{"InvalidSignatureException", "Credential should be scoped to correct region and service: " + region + "/" + service}
	}
	amzDate := r.Header.Get("X-Amz-Date")
	t, err := time.Parse("20060102T150405Z", amzDate)
	if err != nil || amzDate[:8] != scope[1] {
		return &sigError{"IncompleteSignatureException", "Date must be in ISO-8601 'basic format' and match the credential scope."}
	}
	if d := now.Sub(t); d > 15*time.Minute || d < -15*time.Minute {
		return &sigError{"InvalidSignatureException", "Signature expired: " + amzDate + " is now earlier or later than 15 minutes from the server's time."}
	}
	signed := strings.Split(signedList, ";")
	if !slices.IsSorted(signed) || !slices.Contains(signed, "host") || !slices.Contains(signed, "x-amz-date") {
		return &sigError{"InvalidSignatureException", "SignedHeaders must be sorted and include host and x-amz-date."}
	}
	if creds.SessionToken != "" {
		if !slices.Contains(signed, "x-amz-security-token") || r.Header.Get("X-Amz-Security-Token") != creds.SessionToken {
			return &sigError{"UnrecognizedClientException", msgUnknownKey}
		}
	}
	sum := sha256.Sum256(body)
	payloadHash := hex.EncodeToString(sum[:])
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" && h != "UNSIGNED-PAYLOAD" && h != payloadHash {
		return &sigError{"InvalidSignatureException", "The provided 'x-amz-content-sha256' header does not match what was computed."}
	}

	var canon strings.Builder
	canon.WriteString(r.Method + "\n")
	canon.WriteString(canonicalURI(r.URL) + "\n")
	canon.WriteString(canonicalQuery(r.URL.RawQuery) + "\n")
	for _, name := range signed {
		canon.WriteString(name + ":" + headerValue(r, name) + "\n")
	}
	canon.WriteString("\n" + signedList + "\n" + payloadHash)

	crHash := sha256.Sum256([]byte(canon.String()))
	credScope := strings.Join(scope[1:], "/")
	toSign := algo + "\n" + amzDate + "\n" + credScope + "\n" + hex.EncodeToString(crHash[:])
	key := hmacSHA256([]byte("AWS4"+creds.SecretAccessKey), scope[1])
	key = hmacSHA256(key, region)
	key = hmacSHA256(key, service)
	key = hmacSHA256(key, "aws4_request")
	want := hex.EncodeToString(hmacSHA256(key, toSign))
	if !hmac.Equal([]byte(want), []byte(sig)) {
		return &sigError{"InvalidSignatureException", msgMismatch}
	}
	return nil
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// canonicalURI is the request's path as sent, URI-encoded once more
// (every service but S3 signs the doubly encoded path).
func canonicalURI(u *url.URL) string {
	p := u.EscapedPath()
	if p == "" {
		return "/"
	}
	return uriEncode(p, false)
}

// canonicalQuery sorts the query's parameters by name, then value, each
// URI-encoded.
func canonicalQuery(raw string) string {
	if raw == "" {
		return ""
	}
	var pairs []string
	for part := range strings.SplitSeq(raw, "&") {
		k, v, _ := strings.Cut(part, "=")
		dk, err1 := url.QueryUnescape(k)
		dv, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			dk, dv = k, v
		}
		pairs = append(pairs, uriEncode(dk, true)+"="+uriEncode(dv, true))
	}
	slices.Sort(pairs)
	return strings.Join(pairs, "&")
}

// uriEncode percent-encodes every byte but A-Z a-z 0-9 - _ . ~ (and '/'
// unless encodeSlash), with upper-case hex digits.
func uriEncode(s string, encodeSlash bool) string {
	const hexd = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' ||
			c == '/' && !encodeSlash {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexd[c>>4])
		b.WriteByte(hexd[c&15])
	}
	return b.String()
}

// headerValue is a signed header's canonical value: its values joined
// with ',', each trimmed, runs of spaces collapsed.
func headerValue(r *http.Request, name string) string {
	var vs []string
	switch name {
	case "host":
		vs = []string{r.Host}
	case "content-length":
		vs = r.Header.Values("Content-Length")
		if len(vs) == 0 {
			vs = []string{strconv.FormatInt(r.ContentLength, 10)}
		}
	default:
		vs = r.Header.Values(name)
	}
	for i, v := range vs {
		vs[i] = strings.Join(strings.Fields(v), " ")
	}
	return strings.Join(vs, ",")
}
