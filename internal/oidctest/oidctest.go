// Package oidctest runs a real OpenID Provider in-process for tests:
// zitadel/oidc's OP (discovery, JWKS, authorization code with PKCE, device
// authorization, refresh tokens) over its example in-memory storage, with
// users that belong to groups (a "groups" claim in ID tokens and JWT access
// tokens), a public CLI client, a confidential web client, scripted login
// (no browser: the test plays the user) and signing-key rotation.
package oidctest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"
)

// Client ids of the provider's clients.
const (
	// CLIClientID is a public native client: authorization code with PKCE
	// and a loopback redirect (any port), device authorization, refresh.
	CLIClientID = "tollgate-cli"
	// WebClientID is a confidential web client (secret WebClientSecret)
	// whose redirect URIs are any http://127.0.0.1 path (the console).
	WebClientID     = "tollgate-console"
	WebClientSecret = "console-secret-0123456789"
)

// User is a person of the provider. Password is the username unless set.
type User struct {
	ID       string
	Username string
	Email    string
	Groups   []string
	Password string
}

// Provider is a running OpenID Provider.
type Provider struct {
	// Issuer is its issuer URL, e.g. "http://127.0.0.1:41234".
	Issuer string

	srv      *httptest.Server
	op       *op.Provider
	storage  *opStorage
	users    map[string]*User
	byID     map[string]*User
	mu       sync.Mutex
	keys     []*signingKey // newest first; keys[0] signs
	callback func(context.Context, string) string
}

// Start runs a provider until the test ends.
func Start(t testing.TB, users ...User) *Provider {
	t.Helper()
	p := &Provider{users: map[string]*User{}, byID: map[string]*User{}}
	for i := range users {
		u := users[i]
		if u.ID == "" {
			u.ID = "sub-" + u.Username
		}
		if u.Password == "" {
			u.Password = u.Username
		}
		p.users[u.Username], p.byID[u.ID] = &u, &u
	}
	p.rotate(false)
	p.srv = httptest.NewUnstartedServer(nil)
	p.Issuer = "http://" + p.srv.Listener.Addr().String()

	native := &client{id: CLIClientID, redirects: []string{"http://127.0.0.1/callback", "http://localhost/callback"},
		appType: op.ApplicationTypeNative, auth: oidc.AuthMethodNone,
		grants: []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken, oidc.GrantTypeDeviceCode}, tokenType: op.AccessTokenTypeJWT}
	web := &client{id: WebClientID, secret: WebClientSecret, appType: op.ApplicationTypeWeb, auth: oidc.AuthMethodBasic,
		globs: []string{"http://127.0.0.1:*/*", "http://127.0.0.1:*/*/*"}, dev: true,
		grants: []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}, tokenType: op.AccessTokenTypeJWT}
	// The example storage checks device clients against its own map.
	inner := storage.NewStorageWithClients(userStore{p}, map[string]*storage.Client{
		CLIClientID: storage.NativeClient(CLIClientID), WebClientID: storage.WebClient(WebClientID, WebClientSecret),
	})
	p.storage = &opStorage{Storage: inner, p: p, clients: map[string]*client{CLIClientID: native, WebClientID: web}}

	cfg := &op.Config{
		CryptoKey:             [32]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32},
		CodeMethodS256:        true,
		AuthMethodPost:        true,
		GrantTypeRefreshToken: true,
		SupportedUILocales:    []language.Tag{language.English},
		DeviceAuthorization: op.DeviceAuthorizationConfig{
			Lifetime: 5 * time.Minute, PollInterval: time.Second, UserFormPath: "/device", UserCode: op.UserCodeBase20,
		},
	}
	prov, err := op.NewProvider(cfg, p.storage, op.StaticIssuer(p.Issuer), op.WithAllowInsecure(),
		op.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatalf("oidctest: %v", err)
	}
	p.op = prov
	p.callback = op.AuthCallbackURL(prov)
	mux := http.NewServeMux()
	// The login "UI": the test names the user in the query.
	mux.HandleFunc("GET /login", p.login)
	mux.Handle("/", prov)
	p.srv.Config.Handler = mux
	p.srv.Start()
	t.Cleanup(p.srv.Close)
	return p
}

// login completes an authorization request as the user named by the
// "user" query parameter (the test plays the person at the browser).
func (p *Provider) login(w http.ResponseWriter, r *http.Request) {
	id, username := r.URL.Query().Get("authRequestID"), r.URL.Query().Get("user")
	u := p.users[username]
	if u == nil {
		http.Error(w, "unknown user", http.StatusForbidden)
		return
	}
	if err := p.storage.CheckUsernamePassword(u.Username, u.Password, id); err != nil {
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	http.Redirect(w, r, p.callback(r.Context(), id), http.StatusFound)
}

// Browse plays a user's browser: it follows the redirects from an
// authorization URL, logs in as username, and returns the URL the
// provider finally redirects to (the client's redirect URI with the code),
// without requesting it.
func (p *Provider) Browse(t testing.TB, authURL, username string) *url.URL {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	var final *url.URL
	c := &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if !strings.HasPrefix(req.URL.String(), p.Issuer) {
			final = req.URL
			return http.ErrUseLastResponse
		}
		if req.URL.Path == "/login" {
			q := req.URL.Query()
			q.Set("user", username)
			req.URL.RawQuery = q.Encode()
		}
		return nil
	}}
	resp, err := c.Get(authURL)
	if err != nil {
		t.Fatalf("oidctest: browse %s: %v", authURL, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if final == nil {
		t.Fatalf("oidctest: the provider did not redirect back to the client: %s\n%s", resp.Status, body)
	}
	return final
}

// ApproveDevice plays the user of a device authorization: it approves
// userCode as username.
func (p *Provider) ApproveDevice(ctx context.Context, userCode, username string) error {
	u := p.users[username]
	if u == nil {
		return fmt.Errorf("oidctest: unknown user %q", username)
	}
	return p.storage.CompleteDeviceAuthorization(ctx, userCode, u.ID)
}

// RotateKeys makes a new key sign and removes the old ones from the key
// set: tokens signed before no longer verify, and a verifier that cached
// the old set must fetch the new one.
func (p *Provider) RotateKeys() { p.rotate(true) }

func (p *Provider) rotate(dropOld bool) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	sk := &signingKey{id: uuid.NewString(), key: k}
	if dropOld {
		p.keys = []*signingKey{sk}
	} else {
		p.keys = append([]*signingKey{sk}, p.keys...)
	}
}

// Sign signs claims with the provider's current key, for tokens the
// provider would not issue (expired, not yet valid, other audience).
// Claims missing from claims are filled in: iss, iat, exp (one hour).
func (p *Provider) Sign(claims map[string]any) string {
	p.mu.Lock()
	k := p.keys[0]
	p.mu.Unlock()
	return SignWith(k.key, k.id, p.Issuer, claims)
}

// SignWith signs claims with any RSA key (a key the provider does not
// publish, to make wrongly signed tokens; another issuer's).
func SignWith(key *rsa.PrivateKey, kid, issuer string, claims map[string]any) string {
	c := map[string]any{"iss": issuer, "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()}
	for k, v := range claims {
		c[k] = v
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		panic(err)
	}
	obj, err := signer.Sign(mustJSON(c))
	if err != nil {
		panic(err)
	}
	s, err := obj.CompactSerialize()
	if err != nil {
		panic(err)
	}
	return s
}

// Tokens are the result of a login.
type Tokens struct {
	IDToken, AccessToken, RefreshToken string
}

// Login runs the authorization code flow with PKCE for the web client as
// username and returns its tokens (a real login, for tests that need a
// user's token).
func (p *Provider) Login(t testing.TB, username string) Tokens {
	t.Helper()
	verifier := "v" + strings.Repeat(uuid.NewString(), 2)
	challenge := oidc.NewSHACodeChallenge(verifier)
	redirect := "http://127.0.0.1:1/cb"
	q := url.Values{"client_id": {WebClientID}, "response_type": {"code"}, "scope": {"openid email profile offline_access"},
		"redirect_uri": {redirect}, "state": {"s"}, "nonce": {"n"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	final := p.Browse(t, p.Issuer+"/authorize?"+q.Encode(), username)
	code := final.Query().Get("code")
	if code == "" {
		t.Fatalf("oidctest: no code in %s", final)
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect}, "code_verifier": {verifier}}
	req, _ := http.NewRequest(http.MethodPost, p.Issuer+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(WebClientID, WebClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("oidctest: token: %v", err)
	}
	defer resp.Body.Close()
	var tok struct {
		IDToken      string `json:"id_token"`
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		Error        string `json:"error"`
		Description  string `json:"error_description"`
	}
	if err := decodeJSON(resp.Body, &tok); err != nil || tok.IDToken == "" {
		t.Fatalf("oidctest: token response %s: %v %s %s", resp.Status, err, tok.Error, tok.Description)
	}
	return Tokens{IDToken: tok.IDToken, AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken}
}

// signingKey is one of the provider's keys.
type signingKey struct {
	id  string
	key *rsa.PrivateKey
}

func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k *signingKey) Key() any                                    { return k.key }
func (k *signingKey) ID() string                                  { return k.id }

type publicKey struct{ k *signingKey }

func (p publicKey) ID() string                         { return p.k.id }
func (p publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (p publicKey) Use() string                        { return "sig" }
func (p publicKey) Key() any                           { return &p.k.key.PublicKey }
func (k *signingKey) public() op.Key                   { return publicKey{k} }
func (p *Provider) signer() *signingKey                { p.mu.Lock(); defer p.mu.Unlock(); return p.keys[0] }
func (p *Provider) publicKeys() []*signingKey {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*signingKey(nil), p.keys...)
}
func (p *Provider) groups(userID string) []string {
	u := p.byID[userID]
	if u == nil {
		return nil
	}
	return u.Groups
}
func (p *Provider) user(userID string) *User           { return p.byID[userID] }
func (p *Provider) userByName(name string) *User       { return p.users[name] }
func (c *client) RedirectURIGlobs() []string           { return c.globs }
func (c *client) PostLogoutRedirectURIGlobs() []string { return nil }

// opStorage is the example storage with the provider's keys, groups and
// clients.
type opStorage struct {
	*storage.Storage
	p       *Provider
	clients map[string]*client
}

// SigningKey implements op.Storage.
func (s *opStorage) SigningKey(context.Context) (op.SigningKey, error) { return s.p.signer(), nil }

// SignatureAlgorithms implements op.Storage.
func (s *opStorage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

// KeySet implements op.Storage.
func (s *opStorage) KeySet(context.Context) ([]op.Key, error) {
	var out []op.Key
	for _, k := range s.p.publicKeys() {
		out = append(out, k.public())
	}
	return out, nil
}

// GetClientByClientID implements op.Storage.
func (s *opStorage) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	c, ok := s.clients[id]
	if !ok {
		return nil, errors.New("client not found")
	}
	return c, nil
}

// AuthorizeClientIDSecret implements op.Storage.
func (s *opStorage) AuthorizeClientIDSecret(_ context.Context, id, secret string) error {
	c, ok := s.clients[id]
	if !ok || c.secret == "" || c.secret != secret {
		return errors.New("invalid client")
	}
	return nil
}

// SetUserinfoFromRequest adds the groups claim to ID tokens.
func (s *opStorage) SetUserinfoFromRequest(ctx context.Context, info *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	if err := s.Storage.SetUserinfoFromRequest(ctx, info, req, scopes); err != nil {
		return err
	}
	s.fill(info, req.GetSubject())
	return nil
}

// SetUserinfoFromScopes fills in the user (the example leaves it to
// SetUserinfoFromRequest, which refresh-token grants do not call).
func (s *opStorage) SetUserinfoFromScopes(_ context.Context, info *oidc.UserInfo, userID, _ string, _ []string) error {
	s.fill(info, userID)
	return nil
}

func (s *opStorage) fill(info *oidc.UserInfo, userID string) {
	if u := s.p.user(userID); u != nil {
		info.Subject = u.ID
		info.Email, info.EmailVerified = u.Email, oidc.Bool(true)
		info.PreferredUsername, info.Name = u.Username, u.Username
		info.AppendClaims("groups", u.Groups)
	}
}

// GetPrivateClaimsFromScopes adds the groups claim to JWT access tokens.
func (s *opStorage) GetPrivateClaimsFromScopes(_ context.Context, userID, _ string, _ []string) (map[string]any, error) {
	return map[string]any{"groups": s.p.groups(userID)}, nil
}

// userStore serves the provider's users to the example storage.
type userStore struct{ p *Provider }

func (u userStore) GetUserByID(id string) *storage.User { return toStorageUser(u.p.user(id)) }
func (u userStore) GetUserByUsername(name string) *storage.User {
	return toStorageUser(u.p.userByName(name))
}
func (userStore) ExampleClientID() string { return "" }

func toStorageUser(u *User) *storage.User {
	if u == nil {
		return nil
	}
	return &storage.User{ID: u.ID, Username: u.Username, Password: u.Password, FirstName: u.Username, Email: u.Email,
		EmailVerified: true, PreferredLanguage: language.English}
}

// client is an OAuth client of the provider.
type client struct {
	id, secret string
	redirects  []string
	globs      []string
	appType    op.ApplicationType
	auth       oidc.AuthMethod
	grants     []oidc.GrantType
	tokenType  op.AccessTokenType
	dev        bool
}

func (c *client) GetID() string                       { return c.id }
func (c *client) RedirectURIs() []string              { return c.redirects }
func (c *client) PostLogoutRedirectURIs() []string    { return nil }
func (c *client) ApplicationType() op.ApplicationType { return c.appType }
func (c *client) AuthMethod() oidc.AuthMethod         { return c.auth }
func (c *client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c *client) GrantTypes() []oidc.GrantType         { return c.grants }
func (c *client) LoginURL(id string) string            { return "/login?authRequestID=" + url.QueryEscape(id) }
func (c *client) AccessTokenType() op.AccessTokenType  { return c.tokenType }
func (c *client) IDTokenLifetime() time.Duration       { return time.Hour }
func (c *client) DevMode() bool                        { return c.dev }
func (c *client) IsScopeAllowed(string) bool           { return false }
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c *client) ClockSkew() time.Duration             { return 0 }
func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func decodeJSON(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }
