package secretfake

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"hash/crc32"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// AWS is a fake AWS Secrets Manager endpoint: POST / with
// "X-Amz-Target: secretsmanager.GetSecretValue" and a JSON 1.1 body.
type AWS struct {
	// URL is the endpoint to configure as the service's base endpoint.
	URL string

	mu      sync.Mutex
	secrets map[string]string // name → SecretString
	reads   atomic.Int64
	failing atomic.Bool
}

// StartAWS runs a fake Secrets Manager until the test ends.
func StartAWS(t testing.TB) *AWS {
	t.Helper()
	a := &AWS{secrets: map[string]string{}}
	srv := httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(srv.Close)
	a.URL = srv.URL
	return a
}

// Put sets a secret's current value.
func (a *AWS) Put(name, value string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.secrets[name] = value
}

// Fail makes every request fail with a 500 while on.
func (a *AWS) Fail(on bool) { a.failing.Store(on) }

// Reads counts GetSecretValue calls.
func (a *AWS) Reads() int64 { return a.reads.Load() }

func awsErr(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Errortype", typ)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": typ, "Message": msg})
}

func (a *AWS) serve(w http.ResponseWriter, r *http.Request) {
	if a.failing.Load() {
		awsErr(w, http.StatusInternalServerError, "InternalServiceError", "the service failed")
		return
	}
	if r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" || !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		awsErr(w, http.StatusBadRequest, "InvalidRequestException", "unsupported or unsigned request")
		return
	}
	var in struct{ SecretId string }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		awsErr(w, http.StatusBadRequest, "InvalidRequestException", "bad body")
		return
	}
	a.reads.Add(1)
	a.mu.Lock()
	v, ok := a.secrets[in.SecretId]
	a.mu.Unlock()
	if !ok {
		awsErr(w, http.StatusBadRequest, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:" + in.SecretId, "Name": in.SecretId,
		"SecretString": v, "VersionId": "v1", "VersionStages": []string{"AWSCURRENT"}, "CreatedDate": 1.7e9,
	})
}

// GCP is a fake Google Secret Manager with an OAuth token endpoint.
type GCP struct {
	// URL is the endpoint to configure instead of secretmanager.googleapis.com.
	URL string
	// CredentialsFile is a service-account key whose token_uri is the
	// fake's token endpoint (for GOOGLE_APPLICATION_CREDENTIALS).
	CredentialsFile string

	mu      sync.Mutex
	secrets map[string]string // "projects/P/secrets/S" → latest value
	token   string
	reads   atomic.Int64
	failing atomic.Bool
}

// StartGCP runs a fake Secret Manager until the test ends.
func StartGCP(t testing.TB) *GCP {
	t.Helper()
	g := &GCP{secrets: map[string]string{}, token: "ya29.fake-access-token"}
	srv := httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(srv.Close)
	g.URL = srv.URL
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	creds, _ := json.Marshal(map[string]string{
		"type": "service_account", "project_id": "proj", "private_key_id": "k1",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": "tollgate@proj.iam.gserviceaccount.com", "client_id": "1", "token_uri": srv.URL + "/token",
	})
	g.CredentialsFile = filepath.Join(t.TempDir(), "sa.json")
	if err := os.WriteFile(g.CredentialsFile, creds, 0o600); err != nil {
		t.Fatal(err)
	}
	return g
}

// Put sets the latest version of projects/P/secrets/S.
func (g *GCP) Put(name, value string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.secrets[name] = value
}

// Fail makes every access fail with 503 while on.
func (g *GCP) Fail(on bool) { g.failing.Store(on) }

// Reads counts accesses.
func (g *GCP) Reads() int64 { return g.reads.Load() }

func gcpErr(w http.ResponseWriter, status int, s, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": status, "message": msg, "status": s}})
}

func (g *GCP) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/token" && r.Method == http.MethodPost {
		// The JWT-bearer grant of a service-account key.
		if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" || r.PostForm.Get("assertion") == "" {
			http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": g.token, "expires_in": 3600, "token_type": "Bearer"})
		return
	}
	if g.failing.Load() {
		gcpErr(w, http.StatusServiceUnavailable, "UNAVAILABLE", "the service is unavailable")
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+g.token {
		gcpErr(w, http.StatusUnauthorized, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
		return
	}
	name, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, "/v1/"), ":access")
	secret, version, hasVersion := strings.Cut(name, "/versions/")
	if !ok || !hasVersion || r.Method != http.MethodGet {
		gcpErr(w, http.StatusNotFound, "NOT_FOUND", "no such method")
		return
	}
	g.reads.Add(1)
	g.mu.Lock()
	v, found := g.secrets[secret]
	g.mu.Unlock()
	if !found || (version != "latest" && version != "1") {
		gcpErr(w, http.StatusNotFound, "NOT_FOUND", "Secret ["+secret+"] not found or has no versions.")
		return
	}
	data := []byte(v)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"name": secret + "/versions/1",
		"payload": map[string]string{"data": base64.StdEncoding.EncodeToString(data),
			"dataCrc32c": strconv.FormatUint(uint64(crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli))), 10)},
	})
}
