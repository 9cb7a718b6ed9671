package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/service/store"
)

// identityStore is what a store offers package identity and the master-key
// rotation besides store.Store.
type identityStore interface {
	store.Store
	store.Principals
	store.Keyring
	store.KeyCreators
	store.AuditLog
}

// asIdentity returns s as an identityStore, failing t if it is not one.
func asIdentity(t *testing.T, s store.Store) identityStore {
	t.Helper()
	is, ok := s.(identityStore)
	if !ok {
		t.Fatalf("%T does not implement store.Principals, store.Keyring, store.KeyCreators and store.AuditLog", s)
	}
	return is
}

func principalTests() []test {
	return []test{
		{"ServiceAccounts", func(t *testing.T, s store.Store) {
			st := asIdentity(t, s)
			ctx := t.Context()
			a := &store.ServiceAccount{ID: "ci", Description: "deploys", Owner: "ops@example.com", Roles: []string{"admin"}, CreatedBy: "admin-token"}
			wantErr(t, "CreateServiceAccount", st.CreateServiceAccount(ctx, a), nil)
			if a.Version == 0 || a.CreatedAt.IsZero() {
				t.Fatalf("CreateServiceAccount set version %d, created %v", a.Version, a.CreatedAt)
			}
			wantErr(t, "CreateServiceAccount again", st.CreateServiceAccount(ctx, &store.ServiceAccount{ID: "ci"}), store.ErrConflict)
			got, err := st.GetServiceAccount(ctx, "ci")
			wantErr(t, "GetServiceAccount", err, nil)
			var d diffs
			d.eq("Owner", got.Owner, "ops@example.com")
			d.eq("Roles", len(got.Roles), 1)
			d.eq("CreatedBy", got.CreatedBy, "admin-token")
			d.eq("Version", got.Version, a.Version)
			d.report(t, "GetServiceAccount")
			_, err = st.GetServiceAccount(ctx, "nope")
			wantErr(t, "GetServiceAccount(missing)", err, store.ErrNotFound)

			upd := *got
			upd.Disabled, upd.Roles = true, []string{"viewer", "team-admin:search"}
			wantErr(t, "UpdateServiceAccount", st.UpdateServiceAccount(ctx, &upd), nil)
			if upd.Version == got.Version {
				t.Errorf("UpdateServiceAccount kept version %d", upd.Version)
			}
			stale := *got
			wantErr(t, "UpdateServiceAccount(stale)", st.UpdateServiceAccount(ctx, &stale), store.ErrVersionMismatch)
			wantErr(t, "UpdateServiceAccount(missing)", st.UpdateServiceAccount(ctx, &store.ServiceAccount{ID: "nope"}), store.ErrNotFound)

			wantErr(t, "CreateServiceAccount b", st.CreateServiceAccount(ctx, &store.ServiceAccount{ID: "batch"}), nil)
			page, next, err := st.PageServiceAccounts(ctx, store.Page{Size: 1})
			wantErr(t, "PageServiceAccounts", err, nil)
			if len(page) != 1 || page[0].ID != "batch" || next == "" {
				t.Fatalf("PageServiceAccounts = %v, %q; want [batch] and a cursor", page, next)
			}
			page, next, err = st.PageServiceAccounts(ctx, store.Page{Size: 1, After: next})
			wantErr(t, "PageServiceAccounts(2)", err, nil)
			if len(page) != 1 || page[0].ID != "ci" || !page[0].Disabled || len(page[0].Roles) != 2 {
				t.Fatalf("PageServiceAccounts(2) = %+v, %q; want the updated ci", page, next)
			}
			all, err := st.AllServiceAccounts(ctx)
			wantErr(t, "AllServiceAccounts", err, nil)
			d = nil
			d.eq("accounts", len(all), 2)
			d.report(t, "AllServiceAccounts")
			wantErr(t, "DeleteServiceAccount(stale)", st.DeleteServiceAccount(ctx, "ci", got.Version), store.ErrVersionMismatch)
			wantErr(t, "DeleteServiceAccount", st.DeleteServiceAccount(ctx, "ci", upd.Version), nil)
			wantErr(t, "DeleteServiceAccount(again)", st.DeleteServiceAccount(ctx, "ci", 0), store.ErrNotFound)
		}},
		{"ServiceAccountTokens", func(t *testing.T, s store.Store) {
			st := asIdentity(t, s)
			ctx := t.Context()
			at := now()
			wantErr(t, "CreateServiceAccountToken(no account)", st.CreateServiceAccountToken(ctx, &store.ServiceAccountToken{
				ID: "t0", ServiceAccountID: "nope", SecretHash: hash("s0"), ExpiresAt: at.Add(time.Hour)}), store.ErrNotFound)
			wantErr(t, "CreateServiceAccount", st.CreateServiceAccount(ctx, &store.ServiceAccount{ID: "ci"}), nil)
			tok := func(id, secret string, expires time.Time) *store.ServiceAccountToken {
				return &store.ServiceAccountToken{ID: id, ServiceAccountID: "ci", Name: id, SecretHash: hash(secret),
					SecretPrefix: secret[:2], ExpiresAt: expires, CreatedBy: "user:alice"}
			}
			t1 := tok("t1", "s1", at.Add(time.Hour))
			wantErr(t, "CreateServiceAccountToken", st.CreateServiceAccountToken(ctx, t1), nil)
			wantErr(t, "CreateServiceAccountToken(same hash)", st.CreateServiceAccountToken(ctx, tok("t1b", "s1", at.Add(time.Hour))), store.ErrConflict)
			wantErr(t, "CreateServiceAccountToken t2", st.CreateServiceAccountToken(ctx, tok("t2", "s2", at.Add(-time.Minute))), nil) // expired
			wantErr(t, "CreateServiceAccountToken t3", st.CreateServiceAccountToken(ctx, tok("t3", "s3", at.Add(time.Hour))), nil)

			got, err := st.GetServiceAccountToken(ctx, "t1")
			wantErr(t, "GetServiceAccountToken", err, nil)
			var d diffs
			d.eq("SecretHash", got.SecretHash, hash("s1"))
			d.eq("ExpiresAt", got.ExpiresAt, at.Add(time.Hour))
			d.eq("CreatedBy", got.CreatedBy, "user:alice")
			d.eq("RevokedAt", got.RevokedAt, time.Time{})
			d.report(t, "GetServiceAccountToken")

			first := at.Add(time.Second)
			r, err := st.RevokeServiceAccountToken(ctx, "t3", first)
			wantErr(t, "RevokeServiceAccountToken", err, nil)
			d = nil
			d.eq("ID", r.ID, "t3")
			d.eq("RevokedAt", r.RevokedAt, first)
			d.report(t, "RevokeServiceAccountToken")
			r, err = st.RevokeServiceAccountToken(ctx, "t3", first.Add(time.Minute))
			wantErr(t, "RevokeServiceAccountToken(again)", err, nil)
			d = nil
			d.eq("RevokedAt", r.RevokedAt, first)
			d.report(t, "RevokeServiceAccountToken keeps the first time")
			_, err = st.RevokeServiceAccountToken(ctx, "nope", at)
			wantErr(t, "RevokeServiceAccountToken(missing)", err, store.ErrNotFound)

			live, err := st.AllServiceAccountTokens(ctx, at)
			wantErr(t, "AllServiceAccountTokens", err, nil)
			if len(live) != 1 || live[0].ID != "t1" {
				t.Fatalf("AllServiceAccountTokens = %+v, want t1 only (t2 expired, t3 revoked)", live)
			}

			next := tok("t4", "s4", at.Add(2*time.Hour))
			next.RotatedFrom = "t1"
			wantErr(t, "RotateServiceAccountToken", st.RotateServiceAccountToken(ctx, next, at.Add(time.Minute)), nil)
			old, err := st.GetServiceAccountToken(ctx, "t1")
			wantErr(t, "GetServiceAccountToken(t1)", err, nil)
			d = nil
			d.eq("old ExpiresAt", old.ExpiresAt, at.Add(time.Minute))
			d.report(t, "RotateServiceAccountToken")
			bad := tok("t5", "s5", at.Add(time.Hour))
			bad.RotatedFrom = "t3" // revoked
			wantErr(t, "RotateServiceAccountToken(revoked)", st.RotateServiceAccountToken(ctx, bad, at), store.ErrNotFound)

			wantErr(t, "TouchServiceAccountTokens", st.TouchServiceAccountTokens(ctx, map[string]time.Time{"t4": at.Add(time.Minute)}), nil)
			wantErr(t, "TouchServiceAccountTokens(older)", st.TouchServiceAccountTokens(ctx, map[string]time.Time{"t4": at}), nil)
			t4, err := st.GetServiceAccountToken(ctx, "t4")
			wantErr(t, "GetServiceAccountToken(t4)", err, nil)
			d = nil
			d.eq("LastUsedAt", t4.LastUsedAt, at.Add(time.Minute))
			d.eq("RotatedFrom", t4.RotatedFrom, "t1")
			d.report(t, "TouchServiceAccountTokens")

			ts, err := st.ListServiceAccountTokens(ctx, "ci")
			wantErr(t, "ListServiceAccountTokens", err, nil)
			if len(ts) != 4 || ts[0].ID != "t4" {
				t.Fatalf("ListServiceAccountTokens = %d tokens starting %v, want 4 newest first", len(ts), ts)
			}
			wantErr(t, "DeleteServiceAccount", st.DeleteServiceAccount(ctx, "ci", 0), nil)
			_, err = st.GetServiceAccountToken(ctx, "t4")
			wantErr(t, "GetServiceAccountToken(after delete)", err, store.ErrNotFound)
		}},
		{"RoleBindings", func(t *testing.T, s store.Store) {
			st := asIdentity(t, s)
			ctx := t.Context()
			b := &store.RoleBinding{ID: "rb1", SubjectKind: "group", Subject: "platform", Role: "admin", CreatedBy: "admin-token"}
			wantErr(t, "CreateRoleBinding", st.CreateRoleBinding(ctx, b), nil)
			wantErr(t, "CreateRoleBinding(same binding)", st.CreateRoleBinding(ctx,
				&store.RoleBinding{ID: "rb2", SubjectKind: "group", Subject: "platform", Role: "admin"}), store.ErrConflict)
			wantErr(t, "CreateRoleBinding rb3", st.CreateRoleBinding(ctx,
				&store.RoleBinding{ID: "rb3", SubjectKind: "email", Subject: "bob@example.com", Role: "viewer"}), nil)
			page, next, err := st.PageRoleBindings(ctx, store.Page{Size: 1})
			wantErr(t, "PageRoleBindings", err, nil)
			if len(page) != 1 || page[0].ID != "rb1" || page[0].CreatedBy != "admin-token" || next == "" {
				t.Fatalf("PageRoleBindings = %+v, %q", page, next)
			}
			all, err := st.AllRoleBindings(ctx)
			wantErr(t, "AllRoleBindings", err, nil)
			if len(all) != 2 {
				t.Fatalf("AllRoleBindings = %+v, want 2", all)
			}
			wantErr(t, "DeleteRoleBinding", st.DeleteRoleBinding(ctx, "rb1"), nil)
			wantErr(t, "DeleteRoleBinding(again)", st.DeleteRoleBinding(ctx, "rb1"), store.ErrNotFound)
		}},
		{"KeyringAndCreators", func(t *testing.T, s store.Store) {
			st := asIdentity(t, s)
			ctx := t.Context()
			id, err := st.PrimaryKeyID(ctx)
			wantErr(t, "PrimaryKeyID", err, nil)
			if id != "" {
				t.Fatalf("PrimaryKeyID of a new store = %q, want none", id)
			}
			wantErr(t, "SetPrimaryKeyID", st.SetPrimaryKeyID(ctx, "k1"), nil)
			wantErr(t, "SetPrimaryKeyID(k2)", st.SetPrimaryKeyID(ctx, "k2"), nil)
			id, err = st.PrimaryKeyID(ctx)
			wantErr(t, "PrimaryKeyID", err, nil)
			var d diffs
			d.eq("PrimaryKeyID", id, "k2")

			p := &store.Provider{ID: "sealed", Type: "openai", SealedCredential: []byte("v1")}
			wantErr(t, "CreateProvider", s.CreateProvider(ctx, p), nil)
			ref := &store.Provider{ID: "byref", Type: "openai", CredentialRef: "env:OPENAI_KEY"}
			wantErr(t, "CreateProvider(ref)", s.CreateProvider(ctx, ref), nil)
			gotRef, err := s.GetProvider(ctx, "byref")
			wantErr(t, "GetProvider(ref)", err, nil)
			d.eq("CredentialRef", gotRef.CredentialRef, "env:OPENAI_KEY")
			vs, err := st.SealedValues(ctx)
			wantErr(t, "SealedValues", err, nil)
			if len(vs) != 1 || vs[0].Kind != "provider_credential" || vs[0].ID != "sealed" {
				t.Fatalf("SealedValues = %+v, want the provider's credential", vs)
			}
			ok, err := st.ReplaceSealed(ctx, vs[0], []byte("v2"))
			wantErr(t, "ReplaceSealed", err, nil)
			d.eq("replaced", ok, true)
			ok, err = st.ReplaceSealed(ctx, vs[0], []byte("v3")) // no longer v1
			wantErr(t, "ReplaceSealed(stale)", err, nil)
			d.eq("replaced stale", ok, false)
			gotP, err := s.GetProvider(ctx, "sealed")
			wantErr(t, "GetProvider", err, nil)
			d.eq("SealedCredential", gotP.SealedCredential, []byte("v2"))

			mustCreateTeam(t, s, "a")
			k := newKey("k-by", "a")
			k.CreatedBy = "service-account:ci"
			mustCreateKey(t, s, k)
			mustCreateKey(t, s, newKey("k-anon", "a"))
			got, err := s.GetKey(ctx, "k-by")
			wantErr(t, "GetKey", err, nil)
			d.eq("Key.CreatedBy", got.CreatedBy, "service-account:ci")
			cs, err := st.KeyCreators(ctx, []string{"k-by", "k-anon", "k-missing"})
			wantErr(t, "KeyCreators", err, nil)
			d.eq("creators", len(cs), 1)
			d.eq("creator of k-by", cs["k-by"], "service-account:ci")
			d.report(t, "keyring and key creators")
		}},
		{"AuditActors", func(t *testing.T, s store.Store) {
			st := asIdentity(t, s)
			ctx := t.Context()
			at := now()
			events := []store.AuditEvent{
				{Time: at, Actor: "user:alice", Action: "CreateTeam", Outcome: "ok", ActorType: "user", ActorSubject: "alice",
					ActorName: "Alice", ActorIssuer: "https://idp", ActorRole: "admin", SourceIP: "10.0.0.1", UserAgent: "cli/1"},
				{Time: at.Add(time.Second), Actor: "service-account:ci", Action: "CreateKey", Outcome: "permission_denied",
					ActorType: "service_account", ActorSubject: "ci", ActorTokenID: "t1"},
			}
			for i := range events {
				wantErr(t, "AppendAuditEvent", st.AppendAuditEvent(ctx, &events[i]), nil)
			}
			list := func(f store.AuditFilter) []store.AuditEvent {
				t.Helper()
				f.Limit = 10
				es, _, err := st.ListAuditEvents(context.WithoutCancel(ctx), f)
				wantErr(t, "ListAuditEvents", err, nil)
				return es
			}
			var d diffs
			byActor := list(store.AuditFilter{Actor: "user:alice"})
			bySubject := list(store.AuditFilter{Actor: "ci"})
			byOutcome := list(store.AuditFilter{Outcome: "permission_denied"})
			d.eq("by actor id", len(byActor), 1)
			d.eq("by subject", len(bySubject), 1)
			d.eq("by outcome", len(byOutcome), 1)
			if len(byActor) == 1 {
				e := byActor[0]
				d.eq("ActorName", e.ActorName, "Alice")
				d.eq("ActorIssuer", e.ActorIssuer, "https://idp")
				d.eq("ActorRole", e.ActorRole, "admin")
				d.eq("SourceIP", e.SourceIP, "10.0.0.1")
				d.eq("UserAgent", e.UserAgent, "cli/1")
			}
			if len(bySubject) == 1 {
				d.eq("ActorTokenID", bySubject[0].ActorTokenID, "t1")
			}
			d.report(t, "audit actors")
		}},
	}
}
