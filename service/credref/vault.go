package credref

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// VaultConfig says how to reach HashiCorp Vault or OpenBao and log in.
type VaultConfig struct {
	// Addr is the server, e.g. "https://vault.internal:8200".
	Addr string
	// Namespace is sent as X-Vault-Namespace (Vault Enterprise, OpenBao).
	Namespace string
	// Auth is "token", "approle" or "kubernetes".
	Auth string
	// Token is the token of token auth.
	Token string
	// AuthMount is the auth method's mount ("approle", "kubernetes" by default).
	AuthMount string
	// RoleID and SecretID log in with AppRole.
	RoleID, SecretID string
	// Role and JWTFile log in with Kubernetes auth: the role and the
	// service-account token file (default
	// /var/run/secrets/kubernetes.io/serviceaccount/token).
	Role, JWTFile string
}

// vaultBackend reads KV version 2 secrets over Vault's HTTP API:
//
//	GET  /v1/{mount}/data/{path}[?version=N]       → {"data":{"data":{...},"metadata":{...}}}
//	POST /v1/auth/{approle}/login   {role_id, secret_id} → {"auth":{"client_token","lease_duration"}}
//	POST /v1/auth/{kubernetes}/login {role, jwt}          → {"auth":{"client_token","lease_duration"}}
//
// A login token is kept until 80 % of its lease has passed (or Vault
// answers 403), then the backend logs in again.
type vaultBackend struct {
	cfg    VaultConfig
	client *http.Client
	now    func() time.Time

	mu      sync.Mutex
	token   string
	renewAt time.Time // zero: never (token auth)
}

func newVaultBackend(cfg VaultConfig, client *http.Client, now func() time.Time) *vaultBackend {
	if cfg.Auth == "" {
		cfg.Auth = "token"
	}
	if cfg.AuthMount == "" {
		cfg.AuthMount = cfg.Auth
	}
	if cfg.JWTFile == "" {
		cfg.JWTFile = "/var/run/secrets/kubernetes.io/serviceaccount/token"
	}
	return &vaultBackend{cfg: cfg, client: client, now: now}
}

// vaultError is Vault's error body.
type vaultError struct {
	Errors []string `json:"errors"`
}

func (b *vaultBackend) do(ctx context.Context, method, path, token string, body any, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		j, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(b.cfg.Addr, "/")+"/v1/"+path, rd)
	if err != nil {
		return 0, err
	}
	if token != "" {
		req.Header.Set("X-Vault-Token", token)
	}
	if b.cfg.Namespace != "" {
		req.Header.Set("X-Vault-Namespace", b.cfg.Namespace)
	}
	req.Header.Set("X-Vault-Request", "true")
	resp, err := b.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode/100 != 2 {
		var ve vaultError
		_ = json.Unmarshal(data, &ve)
		msg := strings.Join(ve.Errors, "; ")
		if msg == "" {
			msg = http.StatusText(resp.StatusCode)
		}
		return resp.StatusCode, fmt.Errorf("vault answered %d: %s", resp.StatusCode, msg)
	}
	return resp.StatusCode, json.Unmarshal(data, out)
}

// login returns a token, logging in when the cached one is due.
func (b *vaultBackend) login(ctx context.Context, force bool) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cfg.Auth == "token" {
		if b.cfg.Token == "" {
			return "", fmt.Errorf("%w: vault token auth without a token (TOLLGATE_VAULT_TOKEN)", ErrNotConfigured)
		}
		return b.cfg.Token, nil
	}
	if b.token != "" && !force && (b.renewAt.IsZero() || b.now().Before(b.renewAt)) {
		return b.token, nil
	}
	var body map[string]string
	switch b.cfg.Auth {
	case "approle":
		body = map[string]string{"role_id": b.cfg.RoleID, "secret_id": b.cfg.SecretID}
	case "kubernetes":
		jwt, err := os.ReadFile(b.cfg.JWTFile)
		if err != nil {
			return "", fmt.Errorf("vault kubernetes login: service-account token: %w", unwrapPath(err))
		}
		body = map[string]string{"role": b.cfg.Role, "jwt": strings.TrimSpace(string(jwt))}
	default:
		return "", fmt.Errorf("%w: unknown vault auth %q (want token, approle or kubernetes)", ErrNotConfigured, b.cfg.Auth)
	}
	var out struct {
		Auth struct {
			ClientToken   string `json:"client_token"`
			LeaseDuration int64  `json:"lease_duration"`
		} `json:"auth"`
	}
	if _, err := b.do(ctx, http.MethodPost, "auth/"+url.PathEscape(b.cfg.AuthMount)+"/login", "", body, &out); err != nil {
		return "", fmt.Errorf("vault %s login: %w", b.cfg.Auth, err)
	}
	if out.Auth.ClientToken == "" {
		return "", fmt.Errorf("vault %s login: no token in the answer", b.cfg.Auth)
	}
	b.token, b.renewAt = out.Auth.ClientToken, time.Time{}
	if out.Auth.LeaseDuration > 0 {
		b.renewAt = b.now().Add(time.Duration(out.Auth.LeaseDuration) * time.Second * 8 / 10)
	}
	return b.token, nil
}

func (b *vaultBackend) resolve(ctx context.Context, r Ref) (string, error) {
	if b == nil || b.cfg.Addr == "" {
		return "", fmt.Errorf("%s: %w: set TOLLGATE_VAULT_ADDR", r, ErrNotConfigured)
	}
	mount, p, _ := strings.Cut(r.Name, "/")
	path := url.PathEscape(mount) + "/data/" + escapePath(p)
	if r.Version > 0 {
		path += "?version=" + strconv.Itoa(r.Version)
	}
	var out struct {
		Data struct {
			Data map[string]any `json:"data"`
		} `json:"data"`
	}
	for try := range 2 {
		tok, err := b.login(ctx, try > 0)
		if err != nil {
			return "", fmt.Errorf("%s: %w", r, err)
		}
		status, err := b.do(ctx, http.MethodGet, path, tok, nil, &out)
		if status == http.StatusForbidden && try == 0 && b.cfg.Auth != "token" {
			continue // the login token may have expired early: log in again
		}
		if err != nil {
			return "", fmt.Errorf("%s: %w", r, err)
		}
		break
	}
	if out.Data.Data == nil {
		return "", fmt.Errorf("%s: no data (deleted or destroyed version?)", r)
	}
	name := r.Field
	if name == "" {
		if len(out.Data.Data) != 1 {
			return "", fmt.Errorf("%s: the secret has %d fields; name one with #FIELD", r, len(out.Data.Data))
		}
		for k := range out.Data.Data {
			name = k
		}
	}
	return field(r, out.Data.Data, name)
}

func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i := range parts {
		parts[i] = url.PathEscape(parts[i])
	}
	return strings.Join(parts, "/")
}
