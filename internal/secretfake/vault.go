// Package secretfake runs fakes of the secret managers Tollgate reads
// provider credentials from, written from their HTTP API references:
// HashiCorp Vault / OpenBao (KV version 2, token, AppRole and Kubernetes
// auth), AWS Secrets Manager (the JSON 1.1 protocol of GetSecretValue) and
// Google Secret Manager (the REST API's versions:access, with an OAuth
// token endpoint for service-account keys). Each counts its reads and can
// be made to fail.
package secretfake

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Vault is a fake Vault server.
type Vault struct {
	// URL is its address.
	URL string
	// RootToken is accepted for everything.
	RootToken string

	mu       sync.Mutex
	kv       map[string][]map[string]any // "mount/path" → versions (1-based)
	approle  map[string]string           // role_id → secret_id
	k8s      map[string]string           // role → service-account JWT
	tokens   map[string]bool             // issued login tokens
	failing  atomic.Bool
	reads    atomic.Int64
	logins   atomic.Int64
	leaseSec int64
}

// StartVault runs a fake Vault until the test ends.
func StartVault(t testing.TB) *Vault {
	t.Helper()
	v := &Vault{RootToken: "hvs.root-fake", kv: map[string][]map[string]any{}, approle: map[string]string{},
		k8s: map[string]string{}, tokens: map[string]bool{}, leaseSec: 3600}
	srv := httptest.NewServer(http.HandlerFunc(v.serve))
	t.Cleanup(srv.Close)
	v.URL = srv.URL
	return v
}

// Put writes a new version of a KV v2 secret at mount/path.
func (v *Vault) Put(mountPath string, data map[string]any) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.kv[mountPath] = append(v.kv[mountPath], data)
}

// AddAppRole lets roleID log in with secretID.
func (v *Vault) AddAppRole(roleID, secretID string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.approle[roleID] = secretID
}

// AddKubernetesRole lets a service-account token log in to role.
func (v *Vault) AddKubernetesRole(role, jwt string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.k8s[role] = jwt
}

// Fail makes every request fail with 503 (sealed) while on.
func (v *Vault) Fail(on bool) { v.failing.Store(on) }

// Reads counts KV reads; Logins counts logins.
func (v *Vault) Reads() int64  { return v.reads.Load() }
func (v *Vault) Logins() int64 { return v.logins.Load() }

func vaultErr(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string][]string{"errors": {msg}})
}

func (v *Vault) serve(w http.ResponseWriter, r *http.Request) {
	if v.failing.Load() {
		vaultErr(w, http.StatusServiceUnavailable, "Vault is sealed")
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/v1/")
	if strings.HasPrefix(path, "auth/") && strings.HasSuffix(path, "/login") && r.Method == http.MethodPost {
		v.login(w, r, strings.TrimSuffix(strings.TrimPrefix(path, "auth/"), "/login"))
		return
	}
	tok := r.Header.Get("X-Vault-Token")
	v.mu.Lock()
	ok := tok == v.RootToken || v.tokens[tok]
	v.mu.Unlock()
	if !ok {
		vaultErr(w, http.StatusForbidden, "permission denied")
		return
	}
	mount, rest, found := strings.Cut(path, "/data/")
	if !found || r.Method != http.MethodGet {
		vaultErr(w, http.StatusNotFound, "no handler for route "+r.URL.Path)
		return
	}
	v.reads.Add(1)
	v.mu.Lock()
	versions := v.kv[mount+"/"+rest]
	v.mu.Unlock()
	n := len(versions)
	if q := r.URL.Query().Get("version"); q != "" {
		if x, err := strconv.Atoi(q); err == nil && x > 0 {
			n = min(x, n)
			if x > len(versions) {
				n = 0
			}
		}
	}
	if n == 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"errors":[]}`))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"request_id": "fake", "lease_id": "", "renewable": false, "lease_duration": 0,
		"data": map[string]any{
			"data":     versions[n-1],
			"metadata": map[string]any{"version": n, "destroyed": false, "deletion_time": "", "created_time": "2026-01-01T00:00:00Z"},
		},
	})
}

func (v *Vault) login(w http.ResponseWriter, r *http.Request, mount string) {
	var body map[string]string
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		vaultErr(w, http.StatusBadRequest, "invalid request body")
		return
	}
	v.mu.Lock()
	var ok bool
	switch mount {
	case "approle":
		want, has := v.approle[body["role_id"]]
		ok = has && want == body["secret_id"]
	case "kubernetes":
		want, has := v.k8s[body["role"]]
		ok = has && want == body["jwt"]
	}
	tok := ""
	if ok {
		tok = "hvs.login-" + strconv.Itoa(len(v.tokens)+1)
		v.tokens[tok] = true
	}
	v.mu.Unlock()
	if !ok {
		vaultErr(w, http.StatusBadRequest, "invalid role or secret ID")
		return
	}
	v.logins.Add(1)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"auth": map[string]any{
		"client_token": tok, "accessor": "fake", "policies": []string{"default"}, "lease_duration": v.leaseSec, "renewable": true,
	}})
}
