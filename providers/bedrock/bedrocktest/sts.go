package bedrocktest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"net/http"
	"net/url"
	"time"
)

// Role is a role the fake's STS (POST / with the query protocol's form,
// as at sts.amazonaws.com) lets callers assume: AssumeRole signed with the
// fake's credentials, or AssumeRoleWithWebIdentity with WebIdentityToken.
// When a role is set, Bedrock accepts only the temporary credentials STS
// issued for it.
type Role struct {
	ARN              string
	ExternalID       string
	WebIdentityToken string
	// TTL is the lifetime of the temporary credentials (default 1h).
	TTL time.Duration
}

// WithRole sets the role STS lets callers assume.
func WithRole(r Role) Option { return func(s *settings) { rr := r; s.role = &rr } }

// Assumed returns the number of successful AssumeRole* calls.
func (f *Server) Assumed() int { return int(f.assumed.Load()) }

// bedrockCredentials returns the lookup of credentials Bedrock accepts.
func (f *Server) bedrockCredentials(s *settings) func(string) (Credentials, bool) {
	return func(id string) (Credentials, bool) {
		if s.role == nil {
			return s.creds, id == s.creds.AccessKeyID
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		c, ok := f.temporary[id]
		return c, ok
	}
}

type stsCredentials struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	SessionToken    string `xml:"SessionToken"`
	Expiration      string `xml:"Expiration"`
}

type stsResult struct {
	Credentials     stsCredentials `xml:"Credentials"`
	AssumedRoleUser struct {
		Arn           string `xml:"Arn"`
		AssumedRoleID string `xml:"AssumedRoleId"`
	} `xml:"AssumedRoleUser"`
}

// stsError answers in the query protocol's error shape.
func stsError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	type errBody struct {
		XMLName xml.Name `xml:"ErrorResponse"`
		Error   struct {
			Type    string `xml:"Type"`
			Code    string `xml:"Code"`
			Message string `xml:"Message"`
		} `xml:"Error"`
		RequestID string `xml:"RequestId"`
	}
	var e errBody
	e.Error.Type, e.Error.Code, e.Error.Message, e.RequestID = "Sender", code, msg, "fake-sts"
	_ = xml.NewEncoder(w).Encode(&e)
}

func (f *Server) serveSTS(w http.ResponseWriter, r *http.Request, body []byte, s *settings) {
	form, err := url.ParseQuery(string(body))
	if err != nil || s.role == nil {
		stsError(w, http.StatusBadRequest, "InvalidAction", "no role to assume")
		return
	}
	action := form.Get("Action")
	switch action {
	case "AssumeRole":
		base := func(id string) (Credentials, bool) { return s.creds, id == s.creds.AccessKeyID }
		if err := verifySigV4(r, body, base, s.region, "sts", s.now()); err != nil {
			se := err.(*sigError)
			stsError(w, http.StatusForbidden, se.typ, se.msg)
			return
		}
		if s.role.ExternalID != "" && form.Get("ExternalId") != s.role.ExternalID {
			stsError(w, http.StatusForbidden, "AccessDenied", "not authorized to perform sts:AssumeRole (external id)")
			return
		}
	case "AssumeRoleWithWebIdentity":
		if s.role.WebIdentityToken == "" || form.Get("WebIdentityToken") != s.role.WebIdentityToken {
			stsError(w, http.StatusBadRequest, "InvalidIdentityToken", "Couldn't retrieve verification key from your identity provider")
			return
		}
	default:
		stsError(w, http.StatusBadRequest, "InvalidAction", "Could not find operation "+action)
		return
	}
	if form.Get("RoleArn") != s.role.ARN || form.Get("RoleSessionName") == "" {
		stsError(w, http.StatusForbidden, "AccessDenied", "not authorized to perform: sts:"+action+" on resource: "+form.Get("RoleArn"))
		return
	}
	ttl := s.role.TTL
	if ttl == 0 {
		ttl = time.Hour
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	c := Credentials{AccessKeyID: "ASIA" + hex.EncodeToString(b[:6]), SecretAccessKey: hex.EncodeToString(b[6:]) + "/temporary",
		SessionToken: "FQoGZXIvYXdzE" + hex.EncodeToString(b[:])}
	f.mu.Lock()
	if f.temporary == nil {
		f.temporary = map[string]Credentials{}
	}
	f.temporary[c.AccessKeyID] = c
	f.mu.Unlock()
	f.assumed.Add(1)
	var res stsResult
	res.Credentials = stsCredentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken,
		Expiration: s.now().Add(ttl).UTC().Format(time.RFC3339)}
	res.AssumedRoleUser.Arn = s.role.ARN + "/" + form.Get("RoleSessionName")
	res.AssumedRoleUser.AssumedRoleID = "AROAFAKE:" + form.Get("RoleSessionName")
	type resultEl struct {
		XMLName xml.Name
		stsResult
	}
	type respEl struct {
		XMLName xml.Name
		Xmlns   string `xml:"xmlns,attr"`
		Result  resultEl
		Meta    struct {
			RequestID string `xml:"RequestId"`
		} `xml:"ResponseMetadata"`
	}
	out := respEl{XMLName: xml.Name{Local: action + "Response"}, Xmlns: "https://sts.amazonaws.com/doc/2011-06-15/",
		Result: resultEl{XMLName: xml.Name{Local: action + "Result"}, stsResult: res}}
	out.Meta.RequestID = "fake-sts-" + hex.EncodeToString(b[:4])
	w.Header().Set("Content-Type", "text/xml")
	_ = xml.NewEncoder(w).Encode(&out)
}
