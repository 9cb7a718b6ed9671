package storetest

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/tollgate-dev/tollgate/service/store"
)

// jsonEqual reports whether two JSON texts hold the same value (stores may
// normalise whitespace and key order).
func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatalf("stored spec %q is not JSON: %v", a, err)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatalf("spec %q is not JSON: %v", b, err)
	}
	ja, _ := json.Marshal(va)
	jb, _ := json.Marshal(vb)
	return string(ja) == string(jb)
}

func routeTests() []test {
	spec := []byte(`{"targets":[{"provider":"p","model":"m","weight":9},{"provider":"q","model":"m","weight":1}]}`)
	return []test{
		{"CreateGetListUpdateDelete", func(t *testing.T, s store.Store) {
			ctx := context.Background()
			r := &store.Route{Name: "smart", Strategy: "weighted", Spec: spec}
			wantErr(t, "CreateRoute", s.CreateRoute(ctx, r), nil)
			if r.CreatedAt.IsZero() || r.UpdatedAt.IsZero() {
				t.Fatal("CreateRoute did not set timestamps")
			}
			wantErr(t, "CreateRoute again", s.CreateRoute(ctx, &store.Route{Name: "smart", Strategy: "fallback", Spec: spec}), store.ErrConflict)
			got, err := s.GetRoute(ctx, "smart")
			wantErr(t, "GetRoute", err, nil)
			if got.Strategy != "weighted" || !jsonEqual(t, got.Spec, spec) || !got.CreatedAt.Equal(r.CreatedAt) {
				t.Fatalf("GetRoute = %+v (spec %s)", got, got.Spec)
			}
			wantErr(t, "CreateRoute b", s.CreateRoute(ctx, &store.Route{Name: "alpha", Strategy: "fallback"}), nil)
			list, err := s.ListRoutes(ctx)
			wantErr(t, "ListRoutes", err, nil)
			if len(list) != 2 || list[0].Name != "alpha" || list[1].Name != "smart" {
				t.Fatalf("ListRoutes = %+v, want alpha, smart", list)
			}
			if !jsonEqual(t, list[0].Spec, []byte(`{}`)) {
				t.Fatalf("empty spec stored as %s", list[0].Spec)
			}
			upd := []byte(`{"targets":[{"provider":"p","model":"m","weight":1},{"provider":"q","model":"m","weight":1}]}`)
			u := &store.Route{Name: "smart", Strategy: "latency", Spec: upd}
			wantErr(t, "UpdateRoute", s.UpdateRoute(ctx, u), nil)
			if u.UpdatedAt.Before(r.UpdatedAt) || !u.CreatedAt.Equal(r.CreatedAt) {
				t.Fatalf("UpdateRoute timestamps: created %v updated %v", u.CreatedAt, u.UpdatedAt)
			}
			got, err = s.GetRoute(ctx, "smart")
			wantErr(t, "GetRoute after update", err, nil)
			if got.Strategy != "latency" || !jsonEqual(t, got.Spec, upd) {
				t.Fatalf("after update GetRoute = %+v (spec %s)", got, got.Spec)
			}
			wantErr(t, "UpdateRoute missing", s.UpdateRoute(ctx, &store.Route{Name: "nope", Strategy: "fallback"}), store.ErrNotFound)
			wantErr(t, "DeleteRoute", s.DeleteRoute(ctx, "smart", 0), nil)
			wantErr(t, "DeleteRoute again", s.DeleteRoute(ctx, "smart", 0), store.ErrNotFound)
			_, err = s.GetRoute(ctx, "smart")
			wantErr(t, "GetRoute deleted", err, store.ErrNotFound)
		}},
		{"WatchSeesRouteChanges", func(t *testing.T, s store.Store) {
			ctx := context.Background()
			w := StartWatch(t, s)
			w.ExpectResync(t, resyncWait)
			want := store.Change{Kind: store.ChangeRoute, ID: "smart"}
			wantErr(t, "CreateRoute", s.CreateRoute(ctx, &store.Route{Name: "smart", Strategy: "fallback", Spec: spec}), nil)
			w.Expect(t, want, changeWait)
			wantErr(t, "UpdateRoute", s.UpdateRoute(ctx, &store.Route{Name: "smart", Strategy: "weighted", Spec: spec}), nil)
			w.Expect(t, want, changeWait)
			wantErr(t, "DeleteRoute", s.DeleteRoute(ctx, "smart", 0), nil)
			w.Expect(t, want, changeWait)
		}},
	}
}
