package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"connectrpc.com/connect"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	tollgate "github.com/tollgate-dev/tollgate/clients/go"
	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/service/cliconfig"
)

const loginUsage = `Usage: tollgate login [flags]

Logs in to a gateway with its single sign-on and stores the tokens in the
context (~/.config/tollgate; $TOLLGATE_CONFIG_DIR overrides). Admin commands
then use them when neither --token nor $TOLLGATE_ADMIN_TOKEN is set, and
refresh them when they expire.

By default a browser opens the identity provider's login page and returns
to the CLI on a loopback address (authorization code with PKCE); --device
prints a code to enter on another device instead (device authorization).

Flags:
  --context NAME   the context to log in (default: the current one, or "default")
  --server URL     the gateway (default: the context's, $TOLLGATE_URL, http://127.0.0.1:8080)
  --device         use the device authorization grant
  --no-browser     print the login URL instead of opening a browser
  --issuer URL, --client-id ID, --scopes "openid ..."
                   override what the gateway advertises (GetLoginConfig)
  --timeout D      how long to wait for the login (default 5m)

  tollgate logout [--context NAME]   forget the context's tokens
  tollgate whoami [--context NAME]   show who the gateway takes you for
`

type loginFlags struct {
	context, server, issuer, clientID, scopes string
	device, noBrowser                         bool
	timeout                                   time.Duration
}

// runLogin implements `tollgate login`.
func runLogin(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tollgate login", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var f loginFlags
	fs.StringVar(&f.context, "context", "", "")
	fs.StringVar(&f.server, "server", "", "")
	fs.StringVar(&f.issuer, "issuer", "", "")
	fs.StringVar(&f.clientID, "client-id", "", "")
	fs.StringVar(&f.scopes, "scopes", "", "")
	fs.BoolVar(&f.device, "device", false, "")
	fs.BoolVar(&f.noBrowser, "no-browser", false, "")
	fs.DurationVar(&f.timeout, "timeout", 5*time.Minute, "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, loginUsage)
			return ExitOK
		}
		fmt.Fprintf(stderr, "tollgate login: %v\n\n%s", err, loginUsage)
		return ExitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "tollgate login: unexpected arguments %q\n", fs.Args())
		return ExitUsage
	}
	if err := login(ctx, f, getenv, stderr); err != nil {
		fmt.Fprintf(stderr, "tollgate login: %v\n", err)
		return ExitError
	}
	return whoami(ctx, f.context, getenv, stdout, stderr)
}

func login(ctx context.Context, f loginFlags, getenv func(string) string, stderr io.Writer) error {
	dir, err := cliconfig.Dir(getenv)
	if err != nil {
		return err
	}
	cfg, err := cliconfig.Load(dir)
	if err != nil {
		return err
	}
	name := f.context
	if name == "" {
		name = cfg.CurrentContext
	}
	if name == "" {
		name = "default"
	}
	if !cliconfig.ValidName(name) {
		return fmt.Errorf("context name %q: use letters, digits, '.', '_' and '-'", name)
	}
	cur, _ := cfg.Get(name)
	server := f.server
	if server == "" && cur != nil {
		server = cur.Server
	}
	if server == "" {
		server = clientEnvURL(getenv, stderr)
	}
	if server, err = clientURL(server); err != nil {
		return err
	}
	// What the gateway advertises, unless the flags say otherwise.
	lc := &tollgatev1.GetLoginConfigResponse{}
	if f.issuer == "" || f.clientID == "" {
		c := tollgate.NewClient(server, "", tollgate.WithTimeout(cliTimeout))
		resp, err := c.Admin.GetLoginConfig(ctx, connect.NewRequest(&tollgatev1.GetLoginConfigRequest{}))
		if err != nil {
			return fmt.Errorf("asking %s how to log in: %w", server, describeRPCError(err))
		}
		lc = resp.Msg
	}
	oc := cliconfig.OIDC{Issuer: first(f.issuer, lc.GetIssuer()), ClientID: first(f.clientID, lc.GetCliClientId()), Scopes: lc.GetScopes()}
	if f.scopes != "" {
		oc.Scopes = strings.Fields(f.scopes)
	}
	if oc.Issuer == "" || oc.ClientID == "" {
		return fmt.Errorf("%s has no single sign-on for the CLI (TOLLGATE_OIDC_ISSUER and TOLLGATE_OIDC_CLI_CLIENT_ID); use an admin or service-account token", server)
	}
	if len(oc.Scopes) == 0 {
		oc.Scopes = []string{oidc.ScopeOpenID, "email", "profile", oidc.ScopeOfflineAccess}
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	provider, err := oidc.NewProvider(ctx, oc.Issuer)
	if err != nil {
		return fmt.Errorf("identity provider %s: %w", oc.Issuer, err)
	}
	oa := &oauth2.Config{ClientID: oc.ClientID, Endpoint: provider.Endpoint(), Scopes: oc.Scopes}
	var tok *oauth2.Token
	var nonce string
	if f.device {
		tok, err = deviceLogin(ctx, oa, stderr)
	} else {
		tok, nonce, err = loopbackLogin(ctx, oa, f.noBrowser, stderr)
	}
	if err != nil {
		return err
	}
	t, err := verifiedToken(ctx, provider, oc.ClientID, tok, nonce)
	if err != nil {
		return err
	}
	if err := cliconfig.SaveToken(dir, name, t); err != nil {
		return err
	}
	cfg.Put(cliconfig.Context{Name: name, Server: server, OIDC: &oc})
	cfg.CurrentContext = name
	return cfg.Save(dir)
}

func first(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// deviceLogin runs the device authorization grant (RFC 8628).
func deviceLogin(ctx context.Context, oa *oauth2.Config, stderr io.Writer) (*oauth2.Token, error) {
	if oa.Endpoint.DeviceAuthURL == "" {
		return nil, errors.New("the identity provider offers no device authorization; log in without --device")
	}
	da, err := oa.DeviceAuth(ctx)
	if err != nil {
		return nil, fmt.Errorf("device authorization: %w", err)
	}
	if da.VerificationURIComplete != "" {
		fmt.Fprintf(stderr, "To log in, open %s\nand confirm the code %s\n", da.VerificationURIComplete, da.UserCode)
	} else {
		fmt.Fprintf(stderr, "To log in, open %s\nand enter the code %s\n", da.VerificationURI, da.UserCode)
	}
	tok, err := oa.DeviceAccessToken(ctx, da)
	if err != nil {
		return nil, fmt.Errorf("device authorization: %w", err)
	}
	return tok, nil
}

func randomString() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// loopbackLogin runs the authorization code grant with PKCE and a
// loopback redirect (RFC 8252): a one-shot server on 127.0.0.1 receives
// the code.
func loopbackLogin(ctx context.Context, oa *oauth2.Config, noBrowser bool, stderr io.Writer) (*oauth2.Token, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", fmt.Errorf("loopback listener: %w", err)
	}
	defer ln.Close()
	oa.RedirectURL = "http://" + ln.Addr().String() + "/callback"
	state, nonce, verifier := randomString(), randomString(), oauth2.GenerateVerifier()
	type result struct {
		code string
		err  error
	}
	done := make(chan result, 1)
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" {
			http.NotFound(w, r)
			return
		}
		q := r.URL.Query()
		res := result{code: q.Get("code")}
		switch {
		case q.Get("state") != state:
			res.err = errors.New("the login answer's state does not match (another login in progress?)")
		case q.Get("error") != "":
			res.err = fmt.Errorf("the identity provider refused: %s %s", q.Get("error"), q.Get("error_description"))
		case res.code == "":
			res.err = errors.New("the login answer has no code")
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if res.err != nil {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, "<p>Login failed: %s</p>", html.EscapeString(res.err.Error()))
		} else {
			fmt.Fprint(w, "<p>Logged in to Tollgate. You can close this window.</p>")
		}
		select {
		case done <- res:
		default:
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	url := oa.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce))
	fmt.Fprintf(stderr, "To log in, open this URL in a browser:\n%s\n", url)
	if !noBrowser {
		openBrowser(url)
	}
	select {
	case <-ctx.Done():
		return nil, "", fmt.Errorf("no login within the timeout: %w", ctx.Err())
	case res := <-done:
		if res.err != nil {
			return nil, "", res.err
		}
		tok, err := oa.Exchange(ctx, res.code, oauth2.VerifierOption(verifier))
		if err != nil {
			return nil, "", fmt.Errorf("code exchange: %w", err)
		}
		return tok, nonce, nil
	}
}

// openBrowser tries to open url; failures are silent (the URL is printed).
func openBrowser(url string) {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", url)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", url)
	default:
		cmd = exec.Command("xdg-open", url)
	}
	if err := cmd.Start(); err == nil {
		go func() { _ = cmd.Wait() }()
	}
}

// verifiedToken checks the ID token of a token response (and its nonce
// for a browser login) and returns what is stored.
func verifiedToken(ctx context.Context, p *oidc.Provider, clientID string, tok *oauth2.Token, nonce string) (*cliconfig.Token, error) {
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, errors.New("the identity provider returned no ID token (is the openid scope allowed?)")
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: clientID}).Verify(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("ID token: %w", err)
	}
	if nonce != "" && idt.Nonce != nonce {
		return nil, errors.New("ID token: nonce does not match the login")
	}
	return &cliconfig.Token{IDToken: raw, AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken,
		TokenType: tok.TokenType, Expiry: idt.Expiry}, nil
}

// refreshMargin refreshes tokens this long before they expire.
const refreshMargin = time.Minute

// contextToken returns the bearer token and server of a context (""
// for the current one), refreshing the login when it is about to expire.
// ok is false when the context has no login.
func contextToken(ctx context.Context, name string, getenv func(string) string) (token, server string, ok bool, err error) {
	dir, err := cliconfig.Dir(getenv)
	if err != nil {
		return "", "", false, err
	}
	cfg, err := cliconfig.Load(dir)
	if err != nil {
		return "", "", false, err
	}
	c, found := cfg.Get(name)
	if !found {
		if name != "" {
			return "", "", false, fmt.Errorf("no context %q in %s", name, dir)
		}
		return "", "", false, nil
	}
	if c.TokenEnv != "" {
		if tok := getenv(c.TokenEnv); tok != "" {
			return tok, c.Server, true, nil
		}
		return "", c.Server, false, fmt.Errorf("context %s takes its credential from $%s, which is empty", c.Name, c.TokenEnv)
	}
	t, err := cliconfig.LoadToken(dir, c.Name)
	if err == nil && t != nil && t.TokenType == cliconfig.StaticTokenType {
		return t.AccessToken, c.Server, t.AccessToken != "", nil
	}
	if err != nil || t == nil || c.OIDC == nil {
		return "", c.Server, false, err
	}
	if time.Until(t.Expiry) > refreshMargin {
		return t.IDToken, c.Server, true, nil
	}
	if t.RefreshToken == "" {
		return "", c.Server, false, fmt.Errorf("the login of context %s expired; run tollgate login", c.Name)
	}
	p, err := oidc.NewProvider(ctx, c.OIDC.Issuer)
	if err != nil {
		return "", c.Server, false, fmt.Errorf("refreshing the login of context %s: %w", c.Name, err)
	}
	oa := &oauth2.Config{ClientID: c.OIDC.ClientID, Endpoint: p.Endpoint(), Scopes: c.OIDC.Scopes}
	tok, err := oa.TokenSource(ctx, &oauth2.Token{RefreshToken: t.RefreshToken, Expiry: time.Now().Add(-time.Hour)}).Token()
	if err != nil {
		return "", c.Server, false, fmt.Errorf("the login of context %s expired and could not be refreshed (%w); run tollgate login", c.Name, err)
	}
	if tok.RefreshToken == "" {
		tok.RefreshToken = t.RefreshToken
	}
	nt, err := verifiedToken(ctx, p, c.OIDC.ClientID, tok, "")
	if err != nil {
		return "", c.Server, false, err
	}
	if err := cliconfig.SaveToken(dir, c.Name, nt); err != nil {
		return "", c.Server, false, err
	}
	return nt.IDToken, c.Server, true, nil
}

// runLogout implements `tollgate logout`.
func runLogout(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tollgate logout", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	name := fs.String("context", "", "")
	if err := fs.Parse(args); err != nil {
		fmt.Fprint(stderr, loginUsage)
		return ExitUsage
	}
	dir, err := cliconfig.Dir(getenv)
	if err == nil {
		var cfg *cliconfig.Config
		if cfg, err = cliconfig.Load(dir); err == nil {
			n := first(*name, cfg.CurrentContext)
			if err = cliconfig.DeleteToken(dir, n); err == nil {
				fmt.Fprintf(stdout, "logged out of context %s\n", n)
				return ExitOK
			}
		}
	}
	fmt.Fprintf(stderr, "tollgate logout: %v\n", err)
	return ExitError
}

// whoami prints the principal the gateway takes the context's login for.
func whoami(ctx context.Context, name string, getenv func(string) string, stdout, stderr io.Writer) int {
	// Like the admin commands: $TOLLGATE_ADMIN_TOKEN first, else the login.
	token, server := getenv("TOLLGATE_ADMIN_TOKEN"), clientEnvURL(getenv, stderr)
	var err error
	if token == "" || name != "" {
		var ctxServer string
		var ok bool
		token, ctxServer, ok, err = contextToken(ctx, name, getenv)
		if err == nil && !ok {
			err = errors.New("not logged in: run tollgate login, or set $TOLLGATE_ADMIN_TOKEN")
		}
		if server == "" || name != "" {
			server = ctxServer
		}
	}
	if err == nil {
		server, err = clientURL(server)
	}
	if err != nil {
		fmt.Fprintf(stderr, "tollgate whoami: %v\n", err)
		return ExitError
	}
	c := tollgate.NewClient(server, token, tollgate.WithTimeout(cliTimeout))
	resp, err := c.Admin.GetCaller(ctx, connect.NewRequest(&tollgatev1.GetCallerRequest{}))
	if err != nil {
		err = describeRPCError(err)
		fmt.Fprintf(stderr, "tollgate whoami: %v\n", err)
		return exitCode(err)
	}
	p := resp.Msg.GetPrincipal()
	who := first(p.GetEmail(), first(p.GetName(), p.GetSubject()))
	roles := strings.Join(p.GetRoles(), ", ")
	if roles == "" {
		roles = "none"
	}
	fmt.Fprintf(stdout, "%s as %s (%s); roles: %s\n", server, who, p.GetId(), roles)
	return ExitOK
}

// runWhoami implements `tollgate whoami`.
func runWhoami(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tollgate whoami", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	name := fs.String("context", "", "")
	if err := fs.Parse(args); err != nil {
		fmt.Fprint(stderr, loginUsage)
		return ExitUsage
	}
	return whoami(ctx, *name, getenv, stdout, stderr)
}

// clientEnvURL is the gateway named by $TOLLGATE_URL, or by the deprecated
// $TOLLGATE_ADDR (with a warning on stderr).
func clientEnvURL(getenv func(string) string, stderr io.Writer) string {
	if u := getenv("TOLLGATE_URL"); u != "" {
		return u
	}
	u := getenv("TOLLGATE_ADDR")
	if u != "" {
		fmt.Fprintln(stderr, "tollgate: $TOLLGATE_ADDR is deprecated for the CLI: set $TOLLGATE_URL")
	}
	return u
}
