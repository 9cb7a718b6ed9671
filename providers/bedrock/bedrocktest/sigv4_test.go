package bedrocktest

import (
	"net/http"
	"testing"
	"time"
)

// TestVerifySigV4Vector checks the verifier against AWS's published
// Signature Version 4 test suite case "get-vanilla", so that the fake
// does not merely agree with the SDK's signer.
func TestVerifySigV4Vector(t *testing.T) {
	t.Parallel()
	creds := Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
	lookup := func(id string) (Credentials, bool) { return creds, id == creds.AccessKeyID }
	now := time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)
	req := func(sig string) *http.Request {
		r, _ := http.NewRequest(http.MethodGet, "http://example.amazonaws.com/", nil)
		r.Host = "example.amazonaws.com"
		r.Header.Set("X-Amz-Date", "20150830T123600Z")
		r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "+
			"SignedHeaders=host;x-amz-date, Signature="+sig)
		return r
	}
	const good = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
	if err := verifySigV4(req(good), nil, lookup, "us-east-1", "service", now); err != nil {
		t.Fatalf("the published signature is refused: %v", err)
	}
	if err := verifySigV4(req("0"+good[1:]), nil, lookup, "us-east-1", "service", now); err == nil {
		t.Fatal("a wrong signature is accepted")
	}
	if err := verifySigV4(req(good), nil, lookup, "us-east-1", "service", now.Add(time.Hour)); err == nil {
		t.Fatal("a signature an hour old is accepted")
	}
	if err := verifySigV4(req(good), []byte("body"), lookup, "us-east-1", "service", now); err == nil {
		t.Fatal("a signature of another payload is accepted")
	}
}
