package storetest

import (
	"encoding/json"
	"testing"

	"github.com/tollgate-dev/tollgate/service/store"
)

// guardrailTests checks GuardrailPolicies, including the change
// notifications replicas rely on to apply policy edits.
func guardrailTests(c config) []test {
	replica := func(t *testing.T, s store.Store) store.Store {
		if c.replica != nil {
			return c.replica(t, s)
		}
		return s
	}
	spec := []byte(`{"guardrails": [{"kind": "pii", "name": "pii", "mode": "mutate"}]}`)
	return []test{
		{"CRUD", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			p := &store.GuardrailPolicy{ID: "g1", Description: "redact", AttachKind: "team", AttachTo: "t1", Spec: spec}
			wantErr(t, "Create", s.CreateGuardrailPolicy(ctx, p), nil)
			if p.CreatedAt.IsZero() || p.UpdatedAt.IsZero() {
				t.Fatalf("Create did not set timestamps: %+v", p)
			}
			wantErr(t, "Create again", s.CreateGuardrailPolicy(ctx, &store.GuardrailPolicy{ID: "g1", AttachKind: "key", AttachTo: "k"}), store.ErrConflict)
			got, err := s.GetGuardrailPolicy(ctx, "g1")
			wantErr(t, "Get", err, nil)
			var d diffs
			d.eq("Description", got.Description, "redact")
			d.eq("AttachKind", got.AttachKind, "team")
			d.eq("AttachTo", got.AttachTo, "t1")
			d.eq("CreatedAt", got.CreatedAt, p.CreatedAt)
			d.eq("Spec", sameJSON(t, got.Spec, spec), true)
			d.report(t, "Get")

			upd := &store.GuardrailPolicy{ID: "g1", AttachKind: "route", AttachTo: "chat", Spec: []byte(`{"guardrails": []}`)}
			wantErr(t, "Update", s.UpdateGuardrailPolicy(ctx, upd), nil)
			got, err = s.GetGuardrailPolicy(ctx, "g1")
			wantErr(t, "Get after update", err, nil)
			d = nil
			d.eq("Description", got.Description, "")
			d.eq("AttachKind", got.AttachKind, "route")
			d.eq("AttachTo", got.AttachTo, "chat")
			d.eq("Spec", sameJSON(t, got.Spec, []byte(`{"guardrails": []}`)), true)
			d.eq("UpdatedAt after CreatedAt", !got.UpdatedAt.Before(got.CreatedAt), true)
			d.report(t, "Get after update")
			wantErr(t, "Update missing", s.UpdateGuardrailPolicy(ctx, &store.GuardrailPolicy{ID: "nope", AttachKind: "team", AttachTo: "t"}), store.ErrNotFound)

			wantErr(t, "Create g0", s.CreateGuardrailPolicy(ctx, &store.GuardrailPolicy{ID: "g0", AttachKind: "key", AttachTo: "k1"}), nil)
			list, err := s.ListGuardrailPolicies(ctx)
			wantErr(t, "List", err, nil)
			if len(list) != 2 || list[0].ID != "g0" || list[1].ID != "g1" {
				t.Fatalf("List = %+v, want g0, g1", list)
			}
			if string(list[0].Spec) != "{}" {
				t.Errorf("empty spec stored as %q, want {}", list[0].Spec)
			}
			wantErr(t, "Delete", s.DeleteGuardrailPolicy(ctx, "g1", 0), nil)
			wantErr(t, "Delete again", s.DeleteGuardrailPolicy(ctx, "g1", 0), store.ErrNotFound)
			_, err = s.GetGuardrailPolicy(ctx, "g1")
			wantErr(t, "Get deleted", err, store.ErrNotFound)
		}},
		{"Watch", func(t *testing.T, s store.Store) {
			w := StartWatch(t, s)
			w.ExpectResync(t, resyncWait)
			r := replica(t, s)
			ctx := t.Context()
			want := store.Change{Kind: store.ChangeGuardrailPolicy, ID: "g1"}
			p := &store.GuardrailPolicy{ID: "g1", AttachKind: "team", AttachTo: "t1", Spec: spec}
			wantErr(t, "Create", r.CreateGuardrailPolicy(ctx, p), nil)
			w.Expect(t, want, changeWait)
			p.AttachTo = "t2"
			wantErr(t, "Update", r.UpdateGuardrailPolicy(ctx, p), nil)
			w.Expect(t, want, changeWait)
			wantErr(t, "Delete", r.DeleteGuardrailPolicy(ctx, "g1", 0), nil)
			w.Expect(t, want, changeWait)
			w.Stop(t)
		}},
	}
}

// sameJSON reports whether a and b hold the same JSON value.
func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatalf("unmarshal %q: %v", a, err)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatalf("unmarshal %q: %v", b, err)
	}
	ja, _ := json.Marshal(va)
	jb, _ := json.Marshal(vb)
	return string(ja) == string(jb)
}
