package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/service/store"
)

// entity adapts one kind of configuration entity for the version and
// page tests: each function works on the entity named id.
type entity struct {
	name string
	// setup creates what the entity depends on.
	setup  func(ctx context.Context, s store.Store) error
	create func(ctx context.Context, s store.Store, id string) (version int64, err error)
	get    func(ctx context.Context, s store.Store, id string) (version int64, err error)
	// update writes the entity, conditional on ifVersion, and returns the
	// version it set.
	update func(ctx context.Context, s store.Store, id string, ifVersion int64) (version int64, err error)
	delete func(ctx context.Context, s store.Store, id string, ifVersion int64) error
	page   func(ctx context.Context, s store.Store, p store.Page) (ids []string, next string, err error)
	list   func(ctx context.Context, s store.Store) (ids []string, err error)
}

func ids[T any](ts []T, id func(*T) string) []string {
	out := make([]string, len(ts))
	for i := range ts {
		out[i] = id(&ts[i])
	}
	return out
}

func entities() []entity {
	nop := func(context.Context, store.Store) error { return nil }
	withProvider := func(ctx context.Context, s store.Store) error {
		return s.CreateProvider(ctx, &store.Provider{ID: "prov", Type: "openai"})
	}
	withTeam := func(ctx context.Context, s store.Store) error { return s.CreateTeam(ctx, &store.Team{ID: "team"}) }
	spec := []byte(`{"targets":[{"provider":"p","model":"m"}]}`)
	return []entity{
		{
			name:  "Provider",
			setup: nop,
			create: func(ctx context.Context, s store.Store, id string) (int64, error) {
				p := &store.Provider{ID: id, Type: "openai"}
				return p.Version, s.CreateProvider(ctx, p)
			},
			get: func(ctx context.Context, s store.Store, id string) (int64, error) {
				p, err := s.GetProvider(ctx, id)
				if err != nil {
					return 0, err
				}
				return p.Version, nil
			},
			update: func(ctx context.Context, s store.Store, id string, v int64) (int64, error) {
				p := &store.Provider{ID: id, BaseURL: fmt.Sprintf("https://%d.example", time.Now().UnixNano()), Version: v}
				err := s.UpdateProvider(ctx, p)
				return p.Version, err
			},
			delete: func(ctx context.Context, s store.Store, id string, v int64) error {
				return s.DeleteProvider(ctx, id, v)
			},
			page: func(ctx context.Context, s store.Store, p store.Page) ([]string, string, error) {
				ps, next, err := s.PageProviders(ctx, p)
				return ids(ps, func(p *store.Provider) string { return p.ID }), next, err
			},
			list: func(ctx context.Context, s store.Store) ([]string, error) {
				ps, err := s.ListProviders(ctx)
				return ids(ps, func(p *store.Provider) string { return p.ID }), err
			},
		},
		{
			name:  "Model",
			setup: withProvider,
			create: func(ctx context.Context, s store.Store, id string) (int64, error) {
				m := &store.Model{Name: id, ProviderID: "prov"}
				err := s.CreateModel(ctx, m)
				return m.Version, err
			},
			get: func(ctx context.Context, s store.Store, id string) (int64, error) {
				m, err := s.GetModel(ctx, id)
				if err != nil {
					return 0, err
				}
				return m.Version, nil
			},
			update: func(ctx context.Context, s store.Store, id string, v int64) (int64, error) {
				m := &store.Model{Name: id, ProviderID: "prov", ContextWindow: int(time.Now().UnixNano() % 100000), Version: v}
				err := s.UpdateModel(ctx, m)
				return m.Version, err
			},
			delete: func(ctx context.Context, s store.Store, id string, v int64) error { return s.DeleteModel(ctx, id, v) },
			page: func(ctx context.Context, s store.Store, p store.Page) ([]string, string, error) {
				ms, next, err := s.PageModels(ctx, p)
				return ids(ms, func(m *store.Model) string { return m.Name }), next, err
			},
			list: func(ctx context.Context, s store.Store) ([]string, error) {
				ms, err := s.ListModels(ctx)
				return ids(ms, func(m *store.Model) string { return m.Name }), err
			},
		},
		{
			name:  "Team",
			setup: nop,
			create: func(ctx context.Context, s store.Store, id string) (int64, error) {
				t := &store.Team{ID: id}
				err := s.CreateTeam(ctx, t)
				return t.Version, err
			},
			get: func(ctx context.Context, s store.Store, id string) (int64, error) {
				t, err := s.GetTeam(ctx, id)
				if err != nil {
					return 0, err
				}
				return t.Version, nil
			},
			// Teams have no update: revoking a key of the team is no write
			// of the team either.
			delete: func(ctx context.Context, s store.Store, id string, v int64) error { return s.DeleteTeam(ctx, id, v) },
			page: func(ctx context.Context, s store.Store, p store.Page) ([]string, string, error) {
				ts, next, err := s.PageTeams(ctx, p)
				return ids(ts, func(t *store.Team) string { return t.ID }), next, err
			},
			list: func(ctx context.Context, s store.Store) ([]string, error) {
				ts, err := s.ListTeams(ctx)
				return ids(ts, func(t *store.Team) string { return t.ID }), err
			},
		},
		{
			name:  "Route",
			setup: nop,
			create: func(ctx context.Context, s store.Store, id string) (int64, error) {
				r := &store.Route{Name: id, Strategy: "fallback", Spec: spec}
				err := s.CreateRoute(ctx, r)
				return r.Version, err
			},
			get: func(ctx context.Context, s store.Store, id string) (int64, error) {
				r, err := s.GetRoute(ctx, id)
				if err != nil {
					return 0, err
				}
				return r.Version, nil
			},
			update: func(ctx context.Context, s store.Store, id string, v int64) (int64, error) {
				r := &store.Route{Name: id, Strategy: fmt.Sprint("s", time.Now().UnixNano()), Spec: spec, Version: v}
				err := s.UpdateRoute(ctx, r)
				return r.Version, err
			},
			delete: func(ctx context.Context, s store.Store, id string, v int64) error { return s.DeleteRoute(ctx, id, v) },
			page: func(ctx context.Context, s store.Store, p store.Page) ([]string, string, error) {
				rs, next, err := s.PageRoutes(ctx, p)
				return ids(rs, func(r *store.Route) string { return r.Name }), next, err
			},
			list: func(ctx context.Context, s store.Store) ([]string, error) {
				rs, err := s.ListRoutes(ctx)
				return ids(rs, func(r *store.Route) string { return r.Name }), err
			},
		},
		{
			name:  "GuardrailPolicy",
			setup: nop,
			create: func(ctx context.Context, s store.Store, id string) (int64, error) {
				p := &store.GuardrailPolicy{ID: id, AttachKind: "team", AttachTo: "t"}
				err := s.CreateGuardrailPolicy(ctx, p)
				return p.Version, err
			},
			get: func(ctx context.Context, s store.Store, id string) (int64, error) {
				p, err := s.GetGuardrailPolicy(ctx, id)
				if err != nil {
					return 0, err
				}
				return p.Version, nil
			},
			update: func(ctx context.Context, s store.Store, id string, v int64) (int64, error) {
				p := &store.GuardrailPolicy{ID: id, AttachKind: "team", AttachTo: "t", Description: fmt.Sprint(time.Now().UnixNano()), Version: v}
				err := s.UpdateGuardrailPolicy(ctx, p)
				return p.Version, err
			},
			delete: func(ctx context.Context, s store.Store, id string, v int64) error {
				return s.DeleteGuardrailPolicy(ctx, id, v)
			},
			page: func(ctx context.Context, s store.Store, p store.Page) ([]string, string, error) {
				ps, next, err := s.PageGuardrailPolicies(ctx, p)
				return ids(ps, func(p *store.GuardrailPolicy) string { return p.ID }), next, err
			},
			list: func(ctx context.Context, s store.Store) ([]string, error) {
				ps, err := s.ListGuardrailPolicies(ctx)
				return ids(ps, func(p *store.GuardrailPolicy) string { return p.ID }), err
			},
		},
		{
			name:  "Budget",
			setup: withTeam,
			create: func(ctx context.Context, s store.Store, id string) (int64, error) {
				b := &store.Budget{ID: id, Scope: store.ScopeTeam, TeamID: "team", Period: store.PeriodDaily, LimitNanos: 1}
				err := s.PutBudget(ctx, b)
				return b.Version, err
			},
			get: func(ctx context.Context, s store.Store, id string) (int64, error) {
				b, err := s.GetBudget(ctx, id)
				if err != nil {
					return 0, err
				}
				return b.Version, nil
			},
			update: func(ctx context.Context, s store.Store, id string, v int64) (int64, error) {
				b := &store.Budget{ID: id, Scope: store.ScopeTeam, TeamID: "team", Period: store.PeriodDaily,
					LimitNanos: time.Now().UnixNano(), Version: v}
				err := s.PutBudget(ctx, b)
				return b.Version, err
			},
			delete: func(ctx context.Context, s store.Store, id string, v int64) error { return s.DeleteBudget(ctx, id, v) },
			page: func(ctx context.Context, s store.Store, p store.Page) ([]string, string, error) {
				bs, next, err := s.PageBudgets(ctx, "team", p)
				return ids(bs, func(b *store.Budget) string { return b.ID }), next, err
			},
			list: func(ctx context.Context, s store.Store) ([]string, error) {
				bs, err := s.ListBudgets(ctx, "team")
				return ids(bs, func(b *store.Budget) string { return b.ID }), err
			},
		},
		{
			name:  "RateLimit",
			setup: withTeam,
			create: func(ctx context.Context, s store.Store, id string) (int64, error) {
				l := &store.RateLimit{ID: id, Scope: store.ScopeTeam, TeamID: "team", RequestsPerMinute: 1}
				err := s.PutRateLimit(ctx, l)
				return l.Version, err
			},
			get: func(ctx context.Context, s store.Store, id string) (int64, error) {
				l, err := s.GetRateLimit(ctx, id)
				if err != nil {
					return 0, err
				}
				return l.Version, nil
			},
			update: func(ctx context.Context, s store.Store, id string, v int64) (int64, error) {
				l := &store.RateLimit{ID: id, Scope: store.ScopeTeam, TeamID: "team", RequestsPerMinute: time.Now().UnixNano(), Version: v}
				err := s.PutRateLimit(ctx, l)
				return l.Version, err
			},
			delete: func(ctx context.Context, s store.Store, id string, v int64) error {
				return s.DeleteRateLimit(ctx, id, v)
			},
			page: func(ctx context.Context, s store.Store, p store.Page) ([]string, string, error) {
				ls, next, err := s.PageRateLimits(ctx, "team", p)
				return ids(ls, func(l *store.RateLimit) string { return l.ID }), next, err
			},
			list: func(ctx context.Context, s store.Store) ([]string, error) {
				ls, err := s.ListRateLimits(ctx, "team")
				return ids(ls, func(l *store.RateLimit) string { return l.ID }), err
			},
		},
	}
}

// versionAndPageTests check, for every kind of configuration entity, that
// every write sets a new version, that conditional writes check it, that
// versions never repeat (not even for an entity deleted and created
// again), and that pages of every size add up to the whole listing.
func versionAndPageTests() []test {
	var tests []test
	for _, e := range entities() {
		tests = append(tests, test{e.name, func(t *testing.T, s store.Store) {
			ctx := t.Context()
			wantErr(t, "setup", e.setup(ctx, s), nil)
			checkVersions(t, s, e)
			checkPages(t, s, e)
		}})
	}
	return tests
}

func checkVersions(t *testing.T, s store.Store, e entity) {
	t.Helper()
	ctx := t.Context()
	seen := map[int64]bool{}
	fresh := func(what string, v int64) {
		t.Helper()
		if v <= 0 || seen[v] {
			t.Fatalf("%s: version %d, want a new positive one (seen %v)", what, v, seen)
		}
		seen[v] = true
	}
	v1, err := e.create(ctx, s, "x")
	wantErr(t, "create", err, nil)
	fresh("create", v1)
	if got, err := e.get(ctx, s, "x"); err != nil || got != v1 {
		t.Fatalf("get = %d, %v; want %d", got, err, v1)
	}
	current := v1
	if e.update != nil {
		v2, err := e.update(ctx, s, "x", 0)
		wantErr(t, "unconditional update", err, nil)
		fresh("update", v2)
		_, err = e.update(ctx, s, "x", v1)
		wantErr(t, "update with a stale version", err, store.ErrVersionMismatch)
		v3, err := e.update(ctx, s, "x", v2)
		wantErr(t, "update with the current version", err, nil)
		fresh("conditional update", v3)
		if got, err := e.get(ctx, s, "x"); err != nil || got != v3 {
			t.Fatalf("get after updates = %d, %v; want %d", got, err, v3)
		}
		_, err = e.update(ctx, s, "missing", v3)
		wantErr(t, "conditional update of a missing entity", err, store.ErrNotFound)
		current = v3
	}
	wantErr(t, "delete with a stale version", e.delete(ctx, s, "x", current+1000), store.ErrVersionMismatch)
	wantErr(t, "delete with the current version", e.delete(ctx, s, "x", current), nil)
	wantErr(t, "delete again", e.delete(ctx, s, "x", current), store.ErrNotFound)
	v4, err := e.create(ctx, s, "x")
	wantErr(t, "create again", err, nil)
	fresh("create again", v4)
	wantErr(t, "delete unconditionally", e.delete(ctx, s, "x", 0), nil)
}

func checkPages(t *testing.T, s store.Store, e entity) {
	t.Helper()
	ctx := t.Context()
	for _, id := range []string{"e3", "a1", "c2", "b9", "d0"} {
		_, err := e.create(ctx, s, id)
		wantErr(t, "create "+id, err, nil)
	}
	all, err := e.list(ctx, s)
	wantErr(t, "list", err, nil)
	for _, size := range []int{1, 2, 3, 5, 6} {
		var got []string
		after := ""
		for pages := 0; ; pages++ {
			ids, next, err := e.page(ctx, s, store.Page{Size: size, After: after})
			wantErr(t, "page", err, nil)
			if len(ids) > size {
				t.Fatalf("page of %d has %d entries", size, len(ids))
			}
			got = append(got, ids...)
			if next == "" {
				break
			}
			if pages > len(all) {
				t.Fatalf("pages of %d never end", size)
			}
			after = next
		}
		if !slices.Equal(got, all) {
			t.Fatalf("pages of %d = %v, list = %v", size, got, all)
		}
	}
}
