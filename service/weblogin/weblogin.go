// Package weblogin logs people into the gateway's web console with their
// identity provider: OpenID Connect authorization code flow with PKCE, a
// session in a sealed cookie, and CSRF protection for every call the
// console makes with it.
//
// Routes (mounted under /auth/):
//
//	GET  /auth/login?return_to=/ui/   redirect to the identity provider
//	GET  /auth/callback               the provider's redirect: code → tokens → session
//	GET  /auth/session                who is logged in, and the CSRF token (JSON)
//	POST /auth/logout                 end the session (needs the CSRF token)
//
// The session cookie is sealed with the master keyring (AES-256-GCM),
// HttpOnly, SameSite=Strict, Secure unless the console is served over
// plain HTTP, and lasts the session TTL. It holds who the person is (sub,
// issuer, e-mail, name, groups), never a token: roles are derived again
// on every call from the groups and the current role bindings, so a
// removed binding applies at once. Every API call authenticated by the
// cookie must carry the session's CSRF token in X-CSRF-Token (a header a
// cross-site page cannot set), and a state-changing call from another
// Origin is refused.
package weblogin

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/tollgate-dev/tollgate/service/access"
	"github.com/tollgate-dev/tollgate/service/jwtauth"
	"github.com/tollgate-dev/tollgate/service/secrets"
)

// Cookie and header names.
const (
	SessionCookie = "tollgate_session"
	loginCookie   = "tollgate_login"
	// CSRFHeader carries the session's CSRF token on every API call.
	CSRFHeader = "X-CSRF-Token"
)

// Config configures the web login.
type Config struct {
	// Issuer, ClientID and ClientSecret are the console's client at the
	// identity provider.
	Issuer, ClientID, ClientSecret string
	// RedirectURL is the callback, e.g. "https://gateway.example/auth/callback".
	RedirectURL string
	// Scopes asked for (default openid email profile).
	Scopes []string
	// TTL bounds a session (default 12h).
	TTL time.Duration
	// Sealer seals the cookies (the master keyring).
	Sealer *secrets.Sealer
	// Principal turns a verified identity into a principal with its roles
	// (identity.Authenticator.UserPrincipal).
	Principal func(t *jwtauth.Token) *access.Principal
	// HTTPClient talks to the identity provider.
	HTTPClient *http.Client
	// Now is the clock.
	Now func() time.Time
	// Log receives failures.
	Log *slog.Logger
}

// Handler serves the login routes and authenticates session cookies.
type Handler struct {
	cfg    Config
	secure bool
	origin string // the console's origin, scheme://host of the redirect URL

	mu       sync.Mutex
	provider *oidc.Provider
}

// New returns the web login.
func New(cfg Config) (*Handler, error) {
	u, err := url.Parse(cfg.RedirectURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("weblogin: redirect URL %q must be an absolute http(s) URL", cfg.RedirectURL)
	}
	if cfg.Sealer == nil || cfg.Principal == nil || cfg.ClientID == "" || cfg.ClientSecret == "" || cfg.Issuer == "" {
		return nil, errors.New("weblogin: issuer, client id and secret, sealer and principal are required")
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{oidc.ScopeOpenID, "email", "profile"}
	}
	if cfg.TTL <= 0 {
		cfg.TTL = 12 * time.Hour
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Handler{cfg: cfg, secure: u.Scheme == "https", origin: u.Scheme + "://" + u.Host}, nil
}

// discover returns the identity provider's metadata, fetched once.
func (h *Handler) discover(ctx context.Context) (*oidc.Provider, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.provider != nil {
		return h.provider, nil
	}
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, h.cfg.HTTPClient), h.cfg.Issuer)
	if err != nil {
		return nil, err
	}
	h.provider = p
	return p, nil
}

func (h *Handler) oauth(p *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{ClientID: h.cfg.ClientID, ClientSecret: h.cfg.ClientSecret, Endpoint: p.Endpoint(),
		RedirectURL: h.cfg.RedirectURL, Scopes: h.cfg.Scopes}
}

// ServeHTTP implements http.Handler for the /auth/ routes.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	switch {
	case r.URL.Path == "/auth/login" && r.Method == http.MethodGet:
		h.login(w, r)
	case r.URL.Path == "/auth/callback" && r.Method == http.MethodGet:
		h.callback(w, r)
	case r.URL.Path == "/auth/session" && r.Method == http.MethodGet:
		h.session(w, r)
	case r.URL.Path == "/auth/logout" && r.Method == http.MethodPost:
		h.logout(w, r)
	default:
		http.NotFound(w, r)
	}
}

func random() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// loginState is what the login cookie carries between /auth/login and the
// callback.
type loginState struct {
	State    string    `json:"s"`
	Nonce    string    `json:"n"`
	Verifier string    `json:"v"`
	ReturnTo string    `json:"r"`
	Expires  time.Time `json:"e"`
}

// safeReturn keeps return_to to a path of this site.
func safeReturn(s string) string {
	if !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || strings.HasPrefix(s, "/\\") || strings.ContainsAny(s, "\r\n") {
		return "/"
	}
	return s
}

func (h *Handler) seal(v any, purpose string) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	sealed, err := h.cfg.Sealer.Seal(b, "console-"+purpose)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(sealed), nil
}

func (h *Handler) open(s, purpose string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return secrets.ErrOpen
	}
	pt, err := h.cfg.Sealer.Open(b, "console-"+purpose)
	if err != nil {
		return err
	}
	return json.Unmarshal(pt, v)
}

func (h *Handler) cookie(name, value, path string, maxAge int, sameSite http.SameSite) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: path, MaxAge: maxAge, HttpOnly: true, Secure: h.secure, SameSite: sameSite}
}

func (h *Handler) fail(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	p, err := h.discover(r.Context())
	if err != nil {
		h.cfg.Log.WarnContext(r.Context(), "weblogin: identity provider unavailable", "err", err)
		h.fail(w, http.StatusServiceUnavailable, "the identity provider is unavailable")
		return
	}
	st := loginState{State: random(), Nonce: random(), Verifier: oauth2.GenerateVerifier(),
		ReturnTo: safeReturn(r.URL.Query().Get("return_to")), Expires: h.cfg.Now().Add(10 * time.Minute)}
	v, err := h.seal(st, "login")
	if err != nil {
		h.fail(w, http.StatusInternalServerError, "internal error")
		return
	}
	// Lax: the cookie must come back with the provider's top-level redirect.
	http.SetCookie(w, h.cookie(loginCookie, v, "/auth/", 600, http.SameSiteLaxMode))
	http.Redirect(w, r, h.oauth(p).AuthCodeURL(st.State, oauth2.S256ChallengeOption(st.Verifier), oidc.Nonce(st.Nonce)), http.StatusFound)
}

// session is what the session cookie carries.
type session struct {
	ID      string    `json:"id"`
	Subject string    `json:"sub"`
	Issuer  string    `json:"iss"`
	Email   string    `json:"email,omitempty"`
	Name    string    `json:"name,omitempty"`
	Groups  []string  `json:"groups,omitempty"`
	CSRF    string    `json:"csrf"`
	Expires time.Time `json:"exp"`
}

func (h *Handler) callback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c, err := r.Cookie(loginCookie)
	var st loginState
	if err != nil || h.open(c.Value, "login", &st) != nil || !h.cfg.Now().Before(st.Expires) {
		h.fail(w, http.StatusBadRequest, "no login in progress in this browser (or it expired); start again at /auth/login")
		return
	}
	http.SetCookie(w, h.cookie(loginCookie, "", "/auth/", -1, http.SameSiteLaxMode))
	q := r.URL.Query()
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(st.State)) != 1 {
		h.fail(w, http.StatusBadRequest, "the login's state does not match")
		return
	}
	if e := q.Get("error"); e != "" {
		h.fail(w, http.StatusForbidden, "the identity provider refused the login: "+e)
		return
	}
	p, err := h.discover(ctx)
	if err != nil {
		h.fail(w, http.StatusServiceUnavailable, "the identity provider is unavailable")
		return
	}
	tok, err := h.oauth(p).Exchange(oidc.ClientContext(ctx, h.cfg.HTTPClient), q.Get("code"), oauth2.VerifierOption(st.Verifier))
	if err != nil {
		h.cfg.Log.WarnContext(ctx, "weblogin: code exchange failed", "err", err)
		h.fail(w, http.StatusBadGateway, "the identity provider did not accept the login")
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := p.Verifier(&oidc.Config{ClientID: h.cfg.ClientID, Now: h.cfg.Now}).Verify(ctx, raw)
	if err != nil || subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(st.Nonce)) != 1 {
		h.cfg.Log.WarnContext(ctx, "weblogin: ID token refused", "err", err)
		h.fail(w, http.StatusForbidden, "the ID token was refused")
		return
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		h.fail(w, http.StatusForbidden, "the ID token was refused")
		return
	}
	t := &jwtauth.Token{Issuer: idt.Issuer, Subject: idt.Subject, Claims: claims}
	pr := h.cfg.Principal(t)
	s := session{ID: random()[:16], Subject: pr.Subject, Issuer: pr.Issuer, Email: pr.Email, Name: pr.Name, Groups: pr.Groups,
		CSRF: random(), Expires: h.cfg.Now().Add(h.cfg.TTL)}
	v, err := h.seal(s, "session")
	if err != nil {
		h.fail(w, http.StatusInternalServerError, "internal error")
		return
	}
	http.SetCookie(w, h.cookie(SessionCookie, v, "/", int(h.cfg.TTL/time.Second), http.SameSiteStrictMode))
	h.cfg.Log.InfoContext(ctx, "weblogin: console session started", "subject", s.Subject, "session", s.ID)
	http.Redirect(w, r, st.ReturnTo, http.StatusFound)
}

// readSession returns the request's session, if it has a valid one.
func (h *Handler) readSession(r *http.Request) (*session, bool) {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return nil, false
	}
	var s session
	if h.open(c.Value, "session", &s) != nil || !h.cfg.Now().Before(s.Expires) {
		return nil, false
	}
	return &s, true
}

func (h *Handler) principal(s *session) *access.Principal {
	claims := map[string]any{"email": s.Email, "email_verified": s.Email != "", "name": s.Name}
	groups := make([]any, len(s.Groups))
	for i, g := range s.Groups {
		groups[i] = g
	}
	claims["groups"] = groups
	p := h.cfg.Principal(&jwtauth.Token{Issuer: s.Issuer, Subject: s.Subject, Claims: claims})
	p.TokenID = "session:" + s.ID
	return p
}

func (h *Handler) session(w http.ResponseWriter, r *http.Request) {
	s, ok := h.readSession(r)
	if !ok {
		h.fail(w, http.StatusUnauthorized, "no session: log in at /auth/login")
		return
	}
	p := h.principal(s)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"subject": p.Subject, "email": p.Email, "name": p.Name, "roles": access.RoleStrings(p.Roles), "groups": p.Groups,
		"csrf_token": s.CSRF, "expire_time": s.Expires.UTC().Format(time.RFC3339),
	})
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	s, ok := h.readSession(r)
	if !ok || !validCSRF(r.Header, s) || !h.sameOrigin(r.Header) {
		h.fail(w, http.StatusForbidden, "logout needs the session's CSRF token from this site")
		return
	}
	http.SetCookie(w, h.cookie(SessionCookie, "", "/", -1, http.SameSiteStrictMode))
	w.WriteHeader(http.StatusNoContent)
}

func validCSRF(hdr http.Header, s *session) bool {
	got := hdr.Get(CSRFHeader)
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.CSRF)) == 1
}

// sameOrigin refuses requests whose Origin (when sent) is not the console's.
func (h *Handler) sameOrigin(hdr http.Header) bool {
	o := hdr.Get("Origin")
	return o == "" || strings.EqualFold(strings.TrimRight(o, "/"), h.origin)
}

// AuthenticateSession implements identity.SessionAuthenticator: a call
// with the session cookie is the session's person, if it carries the
// session's CSRF token and comes from this site.
func (h *Handler) AuthenticateSession(_ context.Context, r access.Request) (*access.Principal, bool, error) {
	req := &http.Request{Header: r.Header, Method: r.Method}
	c, err := req.Cookie(SessionCookie)
	if err != nil {
		return nil, false, nil
	}
	var s session
	if h.open(c.Value, "session", &s) != nil || !h.cfg.Now().Before(s.Expires) {
		return nil, true, fmt.Errorf("%w: the console session is invalid or expired; log in again", access.ErrUnauthenticated)
	}
	if !validCSRF(r.Header, &s) {
		return nil, true, fmt.Errorf("%w: a call with the console session needs its CSRF token in %s", access.ErrUnauthenticated, CSRFHeader)
	}
	if !h.sameOrigin(r.Header) {
		return nil, true, fmt.Errorf("%w: a call with the console session from another site", access.ErrUnauthenticated)
	}
	return h.principal(&s), true, nil
}
