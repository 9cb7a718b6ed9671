package access

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"

	c "github.com/tollgate-dev/tollgate/gen/tollgate/v1/tollgatev1connect"
)

// Sentinels of refusals. service/edge describes them like every other
// error (Unauthenticated, PermissionDenied, Unavailable).
var (
	// ErrUnauthenticated is a missing, unknown, expired or revoked credential.
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrUnavailable means the credential could not be checked now (the
	// identity provider's keys cannot be had); a retry may succeed.
	ErrUnavailable = errors.New("authentication unavailable")
)

// Request is what an Authenticator sees of a call.
type Request struct {
	// Header holds the request headers (Authorization, Cookie, CSRF token).
	Header http.Header
	// Method is the HTTP method ("POST" for Connect, gRPC and gRPC-Web).
	Method string
	// Procedure is the RPC ("/tollgate.v1.TeamService/CreateKey") or the
	// HTTP path.
	Procedure string
}

// Authenticator turns a call's credential into a principal. It must answer
// from memory. It returns an error wrapping ErrUnauthenticated when the
// credential is missing or invalid; its message is shown to the caller, so
// it never quotes the credential.
type Authenticator interface {
	Authenticate(ctx context.Context, r Request) (*Principal, error)
}

// Event is an authorisation outcome reported to a Recorder.
type Event struct {
	Procedure string
	// Msg is the request message (nil when unknown, e.g. for a refused
	// stream or an HTTP route).
	Msg any
	// Principal is the caller; a TypeAnonymous principal when
	// authentication failed.
	Principal *Principal
	// Err is the refusal (PermissionDenied or Unauthenticated).
	Err error
}

// Recorder receives refused calls, for the audit log.
type Recorder interface {
	RecordRefusal(ctx context.Context, e Event)
}

// Meta is the transport's view of a call: where it came from.
type Meta struct {
	SourceIP  string
	UserAgent string
}

type metaKey struct{}

// MetaFrom returns the call's Meta.
func MetaFrom(ctx context.Context) Meta {
	m, _ := ctx.Value(metaKey{}).(Meta)
	return m
}

// Guard authenticates and authorises every admin call. It is safe for
// concurrent use.
type Guard struct {
	authn   Authenticator
	lookup  Lookup
	rec     Recorder
	log     *slog.Logger
	rules   map[string]Rule
	proxies []netip.Prefix
	render  func(ctx context.Context, err error) error

	// anonymous refusals are recorded at most anonLimit per second, so a
	// flood of bad credentials cannot flood the audit log.
	anonSecond atomic.Int64
	anonCount  atomic.Int64
}

// anonLimit bounds the anonymous refusals recorded per second.
const anonLimit = 20

// GuardOption configures a Guard.
type GuardOption func(*Guard)

// WithRecorder reports refused calls to r.
func WithRecorder(r Recorder) GuardOption { return func(g *Guard) { g.rec = r } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) GuardOption { return func(g *Guard) { g.log = l } }

// WithTrustedProxies makes the guard take the source address from
// X-Forwarded-For when the peer is one of these networks.
func WithTrustedProxies(p []netip.Prefix) GuardOption { return func(g *Guard) { g.proxies = p } }

// WithErrorRenderer renders refusals as Connect errors (the server passes
// service/edge's, so they read like every other error of the API).
func WithErrorRenderer(f func(ctx context.Context, err error) error) GuardOption {
	return func(g *Guard) { g.render = f }
}

// WithRules replaces the rule table (tests).
func WithRules(r map[string]Rule) GuardOption { return func(g *Guard) { g.rules = r } }

// NewGuard returns a guard over Rules.
func NewGuard(authn Authenticator, lookup Lookup, opts ...GuardOption) *Guard {
	g := &Guard{authn: authn, lookup: lookup, rules: Rules, log: slog.New(slog.DiscardHandler),
		render: func(_ context.Context, err error) error { return connectError(err) }}
	for _, o := range opts {
		o(g)
	}
	return g
}

// check authenticates and authorises one call. msg may be nil for a
// stream whose request has not arrived yet (teams are then checked by
// checkTeams once it has).
func (g *Guard) check(ctx context.Context, r Request, rule Rule, msg any) (context.Context, *Principal, error) {
	if rule.Perm == Public {
		return ctx, nil, nil
	}
	p, err := g.authn.Authenticate(ctx, r)
	if err != nil {
		return ctx, nil, err
	}
	if p.Type == TypeVirtualKey && !rule.KeyOK {
		if strings.HasPrefix(r.Procedure, "/"+c.UsageServiceName+"/") {
			return ctx, p, fmt.Errorf("%w: a virtual key may only read its own team's usage and budgets", ErrPermissionDenied)
		}
		// For the admin services a virtual key is no credential at all.
		return ctx, nil, fmt.Errorf("%w: a virtual key cannot make admin calls; use an admin credential", ErrUnauthenticated)
	}
	d, err := Decide(p, rule.Perm)
	if err != nil {
		return ctx, p, err
	}
	ctx = WithPrincipal(ctx, p, d)
	if msg != nil {
		if err := g.checkTeams(ctx, rule, d, msg); err != nil {
			return ctx, p, err
		}
	}
	return ctx, p, nil
}

// checkTeams checks a team-limited decision covers the teams msg touches.
func (g *Guard) checkTeams(ctx context.Context, rule Rule, d Decision, msg any) error {
	if d.All {
		return nil
	}
	var teams []string
	if rule.Teams != nil {
		var err error
		if teams, err = rule.Teams(ctx, g.lookup, msg); err != nil {
			return fmt.Errorf("authorisation lookup: %w", err)
		}
	}
	if len(teams) == 0 {
		if rule.List {
			return nil // the handler narrows the answer to d.Teams
		}
		return fmt.Errorf("%w: this call needs a role for every team; yours covers %s", ErrPermissionDenied, strings.Join(d.Teams, ", "))
	}
	for _, t := range teams {
		if !d.Allows(t) {
			if t == "" {
				return fmt.Errorf("%w: this call touches no team of yours (%s)", ErrPermissionDenied, strings.Join(d.Teams, ", "))
			}
			return fmt.Errorf("%w: your role covers team(s) %s, not %q", ErrPermissionDenied, strings.Join(d.Teams, ", "), t)
		}
	}
	return nil
}

// rule returns the rule of a procedure; procedures without one are refused.
func (g *Guard) rule(procedure string) (Rule, bool) {
	r, ok := g.rules[procedure]
	return r, ok
}

// connectError turns a refusal into a Connect error (the default renderer).
func connectError(err error) error {
	switch {
	case errors.Is(err, ErrUnauthenticated):
		return connect.NewError(connect.CodeUnauthenticated, err)
	case errors.Is(err, ErrPermissionDenied):
		return connect.NewError(connect.CodePermissionDenied, err)
	}
	var ce *connect.Error
	if errors.As(err, &ce) {
		return err
	}
	return connect.NewError(connect.CodeUnavailable, err)
}

// refused reports a refusal to the recorder (anonymous ones rate limited).
func (g *Guard) refused(ctx context.Context, procedure string, msg any, p *Principal, err error) {
	if g.rec == nil {
		return
	}
	if p == nil {
		now := time.Now().Unix()
		if old := g.anonSecond.Load(); old != now && g.anonSecond.CompareAndSwap(old, now) {
			g.anonCount.Store(0)
		}
		if g.anonCount.Add(1) > anonLimit {
			return
		}
		p = &Principal{Type: TypeAnonymous}
	}
	g.rec.RecordRefusal(ctx, Event{Procedure: procedure, Msg: msg, Principal: p, Err: err})
}

// sourceIP returns the caller's address: the peer, or the last address of
// X-Forwarded-For not of a trusted proxy when the peer is one.
func (g *Guard) sourceIP(peer string, h http.Header) string {
	host, _, err := net.SplitHostPort(peer)
	if err != nil {
		host = peer
	}
	addr, err := netip.ParseAddr(host)
	if err != nil || !g.trusted(addr) {
		return host
	}
	hops := strings.Split(strings.Join(h.Values("X-Forwarded-For"), ","), ",")
	for _, hop := range slices.Backward(hops) {
		a, err := netip.ParseAddr(strings.TrimSpace(hop))
		if err != nil {
			break
		}
		if !g.trusted(a) {
			return a.String()
		}
	}
	return host
}

func (g *Guard) trusted(a netip.Addr) bool {
	for _, p := range g.proxies {
		if p.Contains(a.Unmap()) {
			return true
		}
	}
	return false
}

func (g *Guard) withMeta(ctx context.Context, peer string, h http.Header) context.Context {
	return context.WithValue(ctx, metaKey{}, Meta{SourceIP: g.sourceIP(peer, h), UserAgent: h.Get("User-Agent")})
}

// Interceptor returns the Connect interceptor that guards every procedure
// of the services it is installed on. A procedure missing from the rules
// is refused (PermissionDenied): nothing is served unguarded.
func (g *Guard) Interceptor() connect.Interceptor { return guardInterceptor{g} }

type guardInterceptor struct{ g *Guard }

// WrapUnary implements connect.Interceptor.
func (i guardInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if req.Spec().IsClient {
			return next(ctx, req)
		}
		g := i.g
		proc := req.Spec().Procedure
		ctx = g.withMeta(ctx, req.Peer().Addr, req.Header())
		rule, ok := g.rule(proc)
		if !ok {
			return nil, connect.NewError(connect.CodePermissionDenied, fmt.Errorf("%s has no access rule", proc))
		}
		ctx, p, err := g.check(ctx, Request{Header: req.Header(), Method: req.HTTPMethod(), Procedure: proc}, rule, req.Any())
		if err != nil {
			g.refused(ctx, proc, req.Any(), p, err)
			return nil, g.render(ctx, err)
		}
		return next(ctx, req)
	}
}

// WrapStreamingClient implements connect.Interceptor.
func (guardInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

// WrapStreamingHandler implements connect.Interceptor: the credential is
// checked before the handler runs, the teams once the request arrives.
func (i guardInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		g := i.g
		proc := conn.Spec().Procedure
		ctx = g.withMeta(ctx, conn.Peer().Addr, conn.RequestHeader())
		rule, ok := g.rule(proc)
		if !ok {
			return connect.NewError(connect.CodePermissionDenied, fmt.Errorf("%s has no access rule", proc))
		}
		ctx, p, err := g.check(ctx, Request{Header: conn.RequestHeader(), Method: http.MethodPost, Procedure: proc}, rule, nil)
		if err != nil {
			g.refused(ctx, proc, nil, p, err)
			return g.render(ctx, err)
		}
		checkMsg := func(msg any) error {
			if err := g.checkTeams(ctx, rule, DecisionFrom(ctx), msg); err != nil {
				g.refused(ctx, proc, msg, p, err)
				return g.render(ctx, err)
			}
			return nil
		}
		return next(ctx, &guardedConn{StreamingHandlerConn: conn, checkMsg: checkMsg})
	}
}

// guardedConn checks the teams of a streamed call's request as it arrives.
type guardedConn struct {
	connect.StreamingHandlerConn
	checkMsg func(msg any) error
}

// Receive implements connect.StreamingHandlerConn.
func (c *guardedConn) Receive(msg any) error {
	if err := c.StreamingHandlerConn.Receive(msg); err != nil {
		return err
	}
	return c.checkMsg(msg)
}

// Middleware guards an admin HTTP route: the caller needs perm (for every
// team). Refusals are answered 401 or 403 with a JSON body.
func (g *Guard) Middleware(perm Permission, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := g.withMeta(r.Context(), r.RemoteAddr, r.Header)
		ctx, p, err := g.check(ctx, Request{Header: r.Header, Method: r.Method, Procedure: r.URL.Path}, Rule{Perm: perm}, struct{}{})
		if err != nil {
			g.refused(ctx, r.Method+" "+r.URL.Path, nil, p, err)
			status, code := http.StatusForbidden, "permission_denied"
			if errors.Is(err, ErrUnauthenticated) {
				status, code = http.StatusUnauthorized, "unauthenticated"
				w.Header().Set("WWW-Authenticate", `Bearer realm="tollgate"`)
			} else if !errors.Is(err, ErrPermissionDenied) {
				status, code = http.StatusServiceUnavailable, "unavailable"
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"code":%q,"message":%q}`+"\n", code, err.Error())
			return
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}
