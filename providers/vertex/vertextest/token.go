package vertextest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"slices"
	"strings"
	"time"
)

// ServiceAccount is a test service-account key: its JSON (the provider
// credential) and the public half the fake's token endpoint checks
// assertions with.
type ServiceAccount struct {
	JSON   []byte
	Email  string
	KeyID  string
	Public *rsa.PublicKey
}

// NewServiceAccount generates an RSA key and returns a service-account key
// whose token_uri is tokenURL.
func NewServiceAccount(email, tokenURL string) (*ServiceAccount, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	sa := &ServiceAccount{Email: email, KeyID: hex.EncodeToString(id[:]), Public: &key.PublicKey}
	sa.JSON, err = json.Marshal(map[string]string{
		"type":           "service_account",
		"project_id":     "tollgate-test",
		"private_key_id": sa.KeyID,
		"private_key":    string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":   email,
		"client_id":      "100000000000000000001",
		"token_uri":      tokenURL,
	})
	return sa, err
}

// token is an access token the fake issued.
type token struct {
	expiry time.Time
}

// tokenError answers as Google's token endpoint does.
func tokenError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

// serveToken is the OAuth token endpoint: a JWT-bearer grant whose
// assertion is signed (RS256) by the service account's key, issued by its
// email, for this endpoint, with the cloud-platform scope, not expired.
func (f *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	f.tokenRequests.Add(1)
	if f.failTokens.Load() > 0 {
		f.failTokens.Add(-1)
		tokenError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "injected fault")
		return
	}
	if err := r.ParseForm(); err != nil || r.Method != http.MethodPost {
		tokenError(w, http.StatusBadRequest, "invalid_request", "POST a form")
		return
	}
	if r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		tokenError(w, http.StatusBadRequest, "unsupported_grant_type", "Invalid grant_type")
		return
	}
	parts := strings.Split(r.PostForm.Get("assertion"), ".")
	if len(parts) != 3 {
		tokenError(w, http.StatusBadRequest, "invalid_grant", "Invalid JWT: malformed")
		return
	}
	var header struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	var claims struct {
		Iss   string `json:"iss"`
		Aud   string `json:"aud"`
		Scope string `json:"scope"`
		Exp   int64  `json:"exp"`
		Iat   int64  `json:"iat"`
	}
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	cb, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || json.Unmarshal(hb, &header) != nil || json.Unmarshal(cb, &claims) != nil {
		tokenError(w, http.StatusBadRequest, "invalid_grant", "Invalid JWT: undecodable")
		return
	}
	f.mu.Lock()
	sa := f.sa
	now := f.now()
	f.mu.Unlock()
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	switch {
	case sa == nil || header.Alg != "RS256":
		tokenError(w, http.StatusBadRequest, "invalid_grant", "Invalid JWT Signature.")
	case rsa.VerifyPKCS1v15(sa.Public, crypto.SHA256, sum[:], sig) != nil:
		tokenError(w, http.StatusBadRequest, "invalid_grant", "Invalid JWT Signature.")
	case claims.Iss != sa.Email:
		tokenError(w, http.StatusBadRequest, "invalid_grant", "Invalid issuer")
	case claims.Aud != "http://"+r.Host+r.URL.Path:
		tokenError(w, http.StatusBadRequest, "invalid_grant", "Invalid JWT: audience is not the token endpoint")
	case !slices.Contains(strings.Fields(claims.Scope), "https://www.googleapis.com/auth/cloud-platform"):
		tokenError(w, http.StatusBadRequest, "invalid_scope", "The cloud-platform scope is required")
	case now.Unix() > claims.Exp || claims.Exp-claims.Iat > 3600:
		tokenError(w, http.StatusBadRequest, "invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.")
	default:
		var b [24]byte
		_, _ = rand.Read(b[:])
		access := "ya29.fake-" + base64.RawURLEncoding.EncodeToString(b[:])
		f.mu.Lock()
		ttl := f.tokenTTL
		f.tokens[access] = token{expiry: now.Add(ttl)}
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": access, "expires_in": int(ttl.Seconds()), "token_type": "Bearer"})
	}
}

// authorized checks the request's bearer token.
func (f *Server) authorized(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.tokens[tok]
	return ok && f.now().Before(t.expiry)
}
