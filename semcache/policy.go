package semcache

import (
	"errors"
	"fmt"
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

// Directives are a request's own cache instructions (package edge reads
// them from a request's headers).
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

// headerStatus is the header a replayed hit's stream carries, as an
// upstream's would: the lookup's [Status]. The surfaces set their own
// response headers (package edge).
const headerStatus = "X-Tollgate-Cache"

// ErrBadDirective reports an unparsable cache mode.
var ErrBadDirective = errors.New("semcache: invalid cache directive")

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
