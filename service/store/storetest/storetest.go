// Package storetest is the conformance suite of store.Store: every
// implementation runs it from its own tests.
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store {
//			s := openFreshStore(t) // empty; closed in t.Cleanup
//			return s
//		})
//	}
//
// Each subtest asks the factory for its own store and runs in parallel
// with the others, so the factory must return an empty store that nothing
// else uses (for a database-backed store: a fresh database). With
// [WithReplica], the Watch tests write through a second instance on the
// same data, as another gateway replica would. [StartWatch] is exported
// for implementations' own Watch tests (reconnects, outages).
package storetest

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/service/store"
)

// Option adjusts Run.
type Option func(*config)

type config struct {
	replica func(t *testing.T, s store.Store) store.Store
}

// WithReplica gives Run a way to open a second store on the same data as s
// (for a database-backed store: another instance on the same database),
// closed in t.Cleanup. The Watch tests then make their changes through the
// replica, as another gateway replica would. Without it they use s itself.
func WithReplica(replica func(t *testing.T, s store.Store) store.Store) Option {
	return func(c *config) { c.replica = replica }
}

// Run runs the conformance suite. newStore must return a fresh, empty store
// for the calling (sub)test and close it in t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) store.Store, opts ...Option) {
	t.Helper()
	var c config
	for _, opt := range opts {
		opt(&c)
	}
	groups := []struct {
		name  string
		tests []test
	}{
		{"Providers", providerTests()},
		{"Models", modelTests()},
		{"Teams", teamTests()},
		{"Keys", keyTests()},
		{"Records", recordTests()},
		{"Summary", summaryTests()},
		{"Watch", watchTests(c)},
		{"Routes", routeTests()},
		{"Governance", governanceTests()},
		{"Guardrails", guardrailTests(c)},
		{"VersionsAndPages", versionAndPageTests()},
		{"Principals", principalTests()},
		{"Console", consoleTests()},
		{"Managed", managedTests()},
		{"Responses", responseTests()},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			for _, tt := range g.tests {
				t.Run(tt.name, func(t *testing.T) {
					t.Parallel()
					tt.run(t, newStore(t))
				})
			}
		})
	}
}

// test is one conformance test, run against a fresh store.
type test struct {
	name string
	run  func(t *testing.T, s store.Store)
}

// wantErr fails t unless errors.Is(err, want); want nil means no error.
func wantErr(t *testing.T, op string, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("%s: unexpected error: %v", op, err)
	case want != nil && !errors.Is(err, want):
		t.Fatalf("%s: error = %v, want errors.Is(err, %v)", op, err, want)
	}
}

// now returns the current time at the microsecond precision stores keep.
func now() time.Time {
	return time.Now().UTC().Truncate(time.Microsecond)
}

// hash returns a deterministic SHA-256 for a test secret.
func hash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// diffs collects field mismatches.
type diffs []string

func (d *diffs) eq(field string, got, want any) {
	switch g := got.(type) {
	case time.Time:
		if w := want.(time.Time); !g.Equal(w) {
			*d = append(*d, fmt.Sprintf("%s = %v, want %v", field, g, w))
		}
		return
	case map[string]string:
		if w := want.(map[string]string); !maps.Equal(g, w) {
			*d = append(*d, fmt.Sprintf("%s = %v, want %v", field, g, w))
		}
		return
	case []string:
		if w := want.([]string); !slices.Equal(g, w) {
			*d = append(*d, fmt.Sprintf("%s = %q, want %q", field, g, w))
		}
		return
	case []byte:
		if w := want.([]byte); !slices.Equal(g, w) {
			*d = append(*d, fmt.Sprintf("%s = %x, want %x", field, g, w))
		}
		return
	case []store.GuardrailVerdict:
		if w := want.([]store.GuardrailVerdict); !reflect.DeepEqual(g, w) {
			*d = append(*d, fmt.Sprintf("%s = %+v, want %+v", field, g, w))
		}
		return
	}
	if got != want {
		*d = append(*d, fmt.Sprintf("%s = %v, want %v", field, got, want))
	}
}

// report fails t with the mismatches, if any.
func (d diffs) report(t *testing.T, what string) {
	t.Helper()
	for _, s := range d {
		t.Errorf("%s: %s", what, s)
	}
}

// mustCreateTeam creates team id.
func mustCreateTeam(t *testing.T, s store.Store, id string) *store.Team {
	t.Helper()
	team := &store.Team{ID: id, DisplayName: "Team " + id}
	if err := s.CreateTeam(t.Context(), team); err != nil {
		t.Fatalf("CreateTeam(%q): %v", id, err)
	}
	return team
}

// mustCreateProvider creates an openai provider id.
func mustCreateProvider(t *testing.T, s store.Store, id string) *store.Provider {
	t.Helper()
	p := &store.Provider{ID: id, Type: "openai", BaseURL: "https://" + id + ".example.test/v1"}
	if err := s.CreateProvider(t.Context(), p); err != nil {
		t.Fatalf("CreateProvider(%q): %v", id, err)
	}
	return p
}

// newKey returns an unsaved key id of team whose secret is "sk-"+id.
func newKey(id, team string) *store.Key {
	return &store.Key{
		ID:           id,
		Name:         "key " + id,
		TeamID:       team,
		SecretHash:   hash("sk-" + id),
		SecretPrefix: "sk-" + id[:min(len(id), 4)],
	}
}

// mustCreateKey creates k.
func mustCreateKey(t *testing.T, s store.Store, k *store.Key) *store.Key {
	t.Helper()
	if err := s.CreateKey(t.Context(), k); err != nil {
		t.Fatalf("CreateKey(%q): %v", k.ID, err)
	}
	return k
}
