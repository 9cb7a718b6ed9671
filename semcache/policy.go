package semcache

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Mode says which lookups a policy allows.
type Mode uint8

// The modes.
const (
	// ModeOff neither looks up nor stores.
	ModeOff Mode = iota
	// ModeExact serves only byte-for-byte equivalent requests.
	ModeExact
	// ModeSemantic serves exact hits and, failing those, semantically
	// similar questions (it needs an embedder; see [WithEmbedder]).
	ModeSemantic
)

// String returns "off", "exact" or "semantic".
func (m Mode) String() string {
	switch m {
	case ModeOff:
		return "off"
	case ModeExact:
		return "exact"
	case ModeSemantic:
		return "semantic"
	}
	return "Mode(" + strconv.Itoa(int(m)) + ")"
}

// ParseMode parses "off", "exact" or "semantic".
func ParseMode(s string) (Mode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "off", "":
		return ModeOff, nil
	case "exact":
		return ModeExact, nil
	case "semantic":
		return ModeSemantic, nil
	}
	return ModeOff, fmt.Errorf("semcache: mode %q: %w", s, ErrBadDirective)
}

// Defaults of a [Policy]'s zero fields.
const (
	DefaultThreshold = 0.95
	DefaultTTL       = time.Hour
)

// Policy is the cache configuration of a route or key. The zero value is
// ModeOff.
type Policy struct {
	// Mode selects exact and semantic lookups.
	Mode Mode
	// Threshold is the minimum cosine similarity of a semantic hit, in
	// (0, 1]; zero means DefaultThreshold.
	Threshold float64
	// TTL is how long entries live; zero means DefaultTTL.
	TTL time.Duration
	// MaxTTL caps a TTL asked for by the x-tollgate-cache-ttl directive;
	// zero means no cap.
	MaxTTL time.Duration
	// MaxTemperature is the highest temperature a request may have to be
	// eligible for semantic hits (exact hits are always allowed). A request
	// without a temperature counts as 1, the default of the major
	// providers. The zero value allows only greedy (temperature 0) requests.
	MaxTemperature float64
	// AllowToolResults makes requests carrying tool results eligible for
	// semantic hits; by default they are not, because a tool result is data
	// the answer depends on exactly.
	AllowToolResults bool
}

func (p Policy) threshold() float64 {
	if p.Threshold <= 0 {
		return DefaultThreshold
	}
	return p.Threshold
}

// ttl returns the TTL for a request with directives d.
func (p Policy) ttl(d Directives) time.Duration {
	ttl := p.TTL
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	if d.TTL > 0 {
		ttl = d.TTL
		if p.MaxTTL > 0 && ttl > p.MaxTTL {
			ttl = p.MaxTTL
		}
	}
	return ttl
}

// Directives are a request's own cache instructions; see [ParseDirectives].
type Directives struct {
	// NoCache skips the lookup but stores the response.
	NoCache bool
	// NoStore does not store the response.
	NoStore bool
	// Refresh skips the lookup, drops this replica's copy at once and
	// stores the new response over the old one.
	Refresh bool
	// TTL overrides the policy's TTL (capped by Policy.MaxTTL); zero keeps it.
	TTL time.Duration
}

// The request headers that [ParseDirectives] reads.
const (
	HeaderCacheControl = "Cache-Control"
	HeaderRefresh      = "X-Tollgate-Cache-Refresh"
	HeaderTTL          = "X-Tollgate-Cache-Ttl"
	// HeaderStatus is the response header that edges should set to the
	// lookup's [Status]; HeaderScore carries a semantic hit's similarity.
	HeaderStatus = "X-Tollgate-Cache"
	HeaderScore  = "X-Tollgate-Cache-Score"
)

// ErrBadDirective reports an unparsable cache header or mode.
var ErrBadDirective = errors.New("semcache: invalid cache directive")

// ParseDirectives reads Cache-Control (no-cache, no-store),
// x-tollgate-cache-refresh (a boolean) and x-tollgate-cache-ttl (whole
// seconds). It returns the directives it could parse and, if any header was
// invalid, an error wrapping ErrBadDirective; an edge may reject the request
// or ignore the error.
func ParseDirectives(h http.Header) (Directives, error) {
	var d Directives
	var errs []error
	for _, v := range h.Values(HeaderCacheControl) {
		for tok := range strings.SplitSeq(v, ",") {
			name, _, _ := strings.Cut(strings.TrimSpace(tok), "=")
			switch strings.ToLower(name) {
			case "no-cache":
				d.NoCache = true
			case "no-store":
				d.NoStore = true
			}
		}
	}
	if v := h.Get(HeaderRefresh); v != "" {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %q: %w", HeaderRefresh, v, ErrBadDirective))
		}
		d.Refresh = b
	}
	if v := h.Get(HeaderTTL); v != "" {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n <= 0 || n > int64(365*24*time.Hour/time.Second) {
			errs = append(errs, fmt.Errorf("%s %q: %w", HeaderTTL, v, ErrBadDirective))
		} else {
			d.TTL = time.Duration(n) * time.Second
		}
	}
	return d, errors.Join(errs...)
}

// Namespaces keep tenants apart: no lookup ever returns an entry of another
// namespace. The helpers below prefix the scope's kind so that a team and a
// key with the same id never share a namespace.

// TeamNamespace is the default scope: all keys of a team share entries.
func TeamNamespace(teamID string) string { return "team:" + teamID }

// KeyNamespace is the narrower scope of one virtual key.
func KeyNamespace(keyID string) string { return "key:" + keyID }

// SharedNamespace is a scope named by an admin and shared by whoever the
// admin assigns it to.
func SharedNamespace(name string) string { return "shared:" + name }

// Status is the outcome of a lookup, as reported to clients.
type Status string

// The statuses.
const (
	StatusHitExact    Status = "hit-exact"
	StatusHitSemantic Status = "hit-semantic"
	StatusMiss        Status = "miss"
	// StatusBypass means no lookup was made: the policy is off or the
	// request said no-cache or refresh.
	StatusBypass Status = "bypass"
)

// Hit reports whether s is a hit of either kind.
func (s Status) Hit() bool { return s == StatusHitExact || s == StatusHitSemantic }
