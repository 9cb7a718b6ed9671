package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/service/store"
)

func diffKey(got, want *store.Key) diffs {
	var d diffs
	d.eq("ID", got.ID, want.ID)
	d.eq("Name", got.Name, want.Name)
	d.eq("TeamID", got.TeamID, want.TeamID)
	d.eq("ServiceID", got.ServiceID, want.ServiceID)
	d.eq("AllowedModels", got.AllowedModels, want.AllowedModels)
	d.eq("Tags", got.Tags, want.Tags)
	d.eq("ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	d.eq("SecretHash", got.SecretHash, want.SecretHash)
	d.eq("SecretPrefix", got.SecretPrefix, want.SecretPrefix)
	d.eq("PrevSecretHash", got.PrevSecretHash, want.PrevSecretHash)
	d.eq("PrevSecretExpiresAt", got.PrevSecretExpiresAt, want.PrevSecretExpiresAt)
	d.eq("CreatedAt", got.CreatedAt, want.CreatedAt)
	d.eq("RevokedAt", got.RevokedAt, want.RevokedAt)
	d.eq("RotatedAt", got.RotatedAt, want.RotatedAt)
	return d
}

// keyIDs returns the ids of ks.
func keyIDs(ks []store.Key) []string {
	ids := make([]string, 0, len(ks))
	for _, k := range ks {
		ids = append(ids, k.ID)
	}
	return ids
}

// listAllKeys follows ListKeys' cursors from the first page to the last and
// returns the keys and the size of each page.
func listAllKeys(t *testing.T, s store.Store, f store.KeyFilter) (ids []string, pages []int) {
	t.Helper()
	for i := 0; ; i++ {
		if i > 100 {
			t.Fatalf("ListKeys(%+v): no last page after 100 pages", f)
		}
		ks, next, err := s.ListKeys(t.Context(), f)
		if err != nil {
			t.Fatalf("ListKeys(%+v): %v", f, err)
		}
		ids = append(ids, keyIDs(ks)...)
		pages = append(pages, len(ks))
		if next == "" {
			return ids, pages
		}
		f.After = next
	}
}

func keyTests() []test {
	return []test{
		{"CreateGet", func(t *testing.T, s store.Store) {
			mustCreateTeam(t, s, "t1")
			k := &store.Key{
				ID: "k1", Name: "ci", TeamID: "t1", ServiceID: "svc-build",
				AllowedModels: []string{"gpt-4o", "claude"},
				Tags:          map[string]string{"env": "prod"},
				ExpiresAt:     now().Add(30 * 24 * time.Hour),
				SecretHash:    hash("sk-secret"), SecretPrefix: "sk-sec",
			}
			wantErr(t, "CreateKey", s.CreateKey(t.Context(), k), nil)
			if k.CreatedAt.IsZero() {
				t.Error("CreatedAt not set")
			}
			got, err := s.GetKey(t.Context(), "k1")
			wantErr(t, "GetKey", err, nil)
			diffKey(got, k).report(t, "GetKey")

			never := newKey("k2", "t1")
			mustCreateKey(t, s, never)
			got, err = s.GetKey(t.Context(), "k2")
			wantErr(t, "GetKey(no expiry)", err, nil)
			diffKey(got, never).report(t, "GetKey(no expiry)")
		}},
		{"CreateErrors", func(t *testing.T, s store.Store) {
			mustCreateTeam(t, s, "t1")
			mustCreateKey(t, s, newKey("k1", "t1"))
			sameHash := newKey("k2", "t1")
			sameHash.SecretHash = hash("sk-k1")
			tests := []struct {
				name string
				k    *store.Key
				want error
			}{
				{"duplicate id", newKey("k1", "t1"), store.ErrConflict},
				{"duplicate hash", sameHash, store.ErrConflict},
				{"missing team", newKey("k3", "nope"), store.ErrNotFound},
			}
			for _, tt := range tests {
				wantErr(t, "CreateKey("+tt.name+")", s.CreateKey(t.Context(), tt.k), tt.want)
			}
		}},
		{"CachePolicy", func(t *testing.T, s store.Store) {
			mustCreateTeam(t, s, "t1")
			policy := []byte(`{"mode":"semantic","threshold":0.95,"ttl":"1m0s","namespace":"key"}`)
			with := newKey("k1", "t1")
			with.CachePolicy = policy
			mustCreateKey(t, s, with)
			mustCreateKey(t, s, newKey("k2", "t1"))
			got, err := s.GetKey(t.Context(), "k1")
			wantErr(t, "GetKey(k1)", err, nil)
			if !jsonEqual(t, got.CachePolicy, policy) {
				t.Errorf("GetKey(k1).CachePolicy = %s, want %s", got.CachePolicy, policy)
			}
			got, err = s.GetKey(t.Context(), "k2")
			wantErr(t, "GetKey(k2)", err, nil)
			if got.CachePolicy != nil {
				t.Errorf("GetKey(k2).CachePolicy = %s, want nil", got.CachePolicy)
			}
			all, err := s.AllKeys(t.Context())
			wantErr(t, "AllKeys", err, nil)
			for _, k := range all {
				if want := map[string][]byte{"k1": policy}[k.ID]; (want == nil) != (k.CachePolicy == nil) || (want != nil && !jsonEqual(t, k.CachePolicy, want)) {
					t.Errorf("AllKeys: %s.CachePolicy = %s, want %s", k.ID, k.CachePolicy, want)
				}
			}
			revoked, err := s.RevokeKey(t.Context(), "k1", time.Time{})
			wantErr(t, "RevokeKey", err, nil)
			if !jsonEqual(t, revoked.CachePolicy, policy) {
				t.Errorf("RevokeKey(k1).CachePolicy = %s, want %s", revoked.CachePolicy, policy)
			}
		}},
		{"GetMissing", func(t *testing.T, s store.Store) {
			_, err := s.GetKey(t.Context(), "nope")
			wantErr(t, "GetKey", err, store.ErrNotFound)
		}},
		{"ListPagination", func(t *testing.T, s store.Store) {
			mustCreateTeam(t, s, "a")
			mustCreateTeam(t, s, "b")
			// Created in id order, so newest first is descending ids
			// whatever the resolution of the store's clock.
			for i := 1; i <= 7; i++ {
				team := "a"
				if i%3 == 0 {
					team = "b"
				}
				mustCreateKey(t, s, newKey(fmt.Sprintf("k%02d", i), team))
			}
			if _, err := s.RevokeKey(t.Context(), "k05", now()); err != nil {
				t.Fatalf("RevokeKey: %v", err)
			}
			tests := []struct {
				name      string
				f         store.KeyFilter
				wantIDs   []string
				wantPages []int
			}{
				{"all live", store.KeyFilter{Limit: 2},
					[]string{"k07", "k06", "k04", "k03", "k02", "k01"}, []int{2, 2, 2}},
				{"with revoked", store.KeyFilter{Limit: 3, IncludeRevoked: true},
					[]string{"k07", "k06", "k05", "k04", "k03", "k02", "k01"}, []int{3, 3, 1}},
				{"team a", store.KeyFilter{TeamID: "a", Limit: 3},
					[]string{"k07", "k04", "k02", "k01"}, []int{3, 1}},
				{"team a with revoked", store.KeyFilter{TeamID: "a", Limit: 10, IncludeRevoked: true},
					[]string{"k07", "k05", "k04", "k02", "k01"}, []int{5}},
				{"team b", store.KeyFilter{TeamID: "b", Limit: 1},
					[]string{"k06", "k03"}, []int{1, 1}},
				{"unknown team", store.KeyFilter{TeamID: "zz", Limit: 5}, nil, []int{0}},
			}
			for _, tt := range tests {
				ids, pages := listAllKeys(t, s, tt.f)
				var d diffs
				d.eq("ids", ids, tt.wantIDs)
				if fmt.Sprint(pages) != fmt.Sprint(tt.wantPages) {
					d = append(d, fmt.Sprintf("page sizes = %v, want %v", pages, tt.wantPages))
				}
				d.report(t, "ListKeys("+tt.name+")")
			}
		}},
		{"AllKeysExcludesRevoked", func(t *testing.T, s store.Store) {
			mustCreateTeam(t, s, "t1")
			for _, id := range []string{"k1", "k2", "k3"} {
				mustCreateKey(t, s, newKey(id, "t1"))
			}
			if _, err := s.RevokeKey(t.Context(), "k2", now()); err != nil {
				t.Fatalf("RevokeKey: %v", err)
			}
			ks, err := s.AllKeys(t.Context())
			wantErr(t, "AllKeys", err, nil)
			got := map[string]bool{}
			for _, k := range ks {
				got[k.ID] = true
				if len(k.SecretHash) == 0 {
					t.Errorf("AllKeys: key %s without SecretHash", k.ID)
				}
			}
			if len(ks) != 2 || !got["k1"] || !got["k3"] {
				t.Errorf("AllKeys = %v, want k1 and k3", keyIDs(ks))
			}
		}},
		{"RevokeIdempotent", func(t *testing.T, s store.Store) {
			mustCreateTeam(t, s, "t1")
			k := mustCreateKey(t, s, newKey("k1", "t1"))
			first := now().Add(-time.Minute)
			got, err := s.RevokeKey(t.Context(), "k1", first)
			wantErr(t, "RevokeKey", err, nil)
			want := *k
			want.RevokedAt = first
			diffKey(got, &want).report(t, "RevokeKey")
			got, err = s.RevokeKey(t.Context(), "k1", now())
			wantErr(t, "RevokeKey again", err, nil)
			diffKey(got, &want).report(t, "RevokeKey again (keeps the first time)")
			got, err = s.GetKey(t.Context(), "k1")
			wantErr(t, "GetKey", err, nil)
			diffKey(got, &want).report(t, "GetKey after revoke")
			_, err = s.RevokeKey(t.Context(), "nope", now())
			wantErr(t, "RevokeKey(missing)", err, store.ErrNotFound)
		}},
		{"Rotate", func(t *testing.T, s store.Store) {
			mustCreateTeam(t, s, "t1")
			k := mustCreateKey(t, s, newKey("k1", "t1"))
			at := now()
			grace := at.Add(time.Hour)
			got, err := s.RotateKey(t.Context(), "k1", hash("sk-new"), "sk-new", at, grace)
			wantErr(t, "RotateKey", err, nil)
			want := *k
			want.SecretHash, want.SecretPrefix = hash("sk-new"), "sk-new"
			want.PrevSecretHash, want.PrevSecretExpiresAt = k.SecretHash, grace
			want.RotatedAt = at
			diffKey(got, &want).report(t, "RotateKey")
			stored, err := s.GetKey(t.Context(), "k1")
			wantErr(t, "GetKey", err, nil)
			diffKey(stored, &want).report(t, "GetKey after rotate")

			// A second rotation keeps the hash it replaces, not the older one.
			at2 := at.Add(time.Minute)
			got, err = s.RotateKey(t.Context(), "k1", hash("sk-newer"), "sk-nwr", at2, at2.Add(time.Minute))
			wantErr(t, "RotateKey again", err, nil)
			want.SecretHash, want.SecretPrefix = hash("sk-newer"), "sk-nwr"
			want.PrevSecretHash, want.PrevSecretExpiresAt = hash("sk-new"), at2.Add(time.Minute)
			want.RotatedAt = at2
			diffKey(got, &want).report(t, "RotateKey again")
		}},
		{"RotateWithoutGrace", func(t *testing.T, s store.Store) {
			mustCreateTeam(t, s, "t1")
			k := mustCreateKey(t, s, newKey("k1", "t1"))
			at := now()
			if _, err := s.RotateKey(t.Context(), "k1", hash("sk-a"), "sk-a", at, at.Add(time.Hour)); err != nil {
				t.Fatalf("RotateKey: %v", err)
			}
			tests := []struct {
				name  string
				grace time.Time
			}{
				{"grace equal to rotation time", at.Add(time.Second)},
				{"grace before rotation time", at},
				{"zero grace", time.Time{}},
			}
			for i, tt := range tests {
				rotAt := at.Add(time.Second)
				secret := fmt.Sprintf("sk-b%d", i)
				got, err := s.RotateKey(t.Context(), "k1", hash(secret), secret, rotAt, tt.grace)
				wantErr(t, "RotateKey("+tt.name+")", err, nil)
				want := *k
				want.SecretHash, want.SecretPrefix, want.RotatedAt = hash(secret), secret, rotAt
				diffKey(got, &want).report(t, "RotateKey("+tt.name+")")
			}
		}},
		{"RotateErrors", func(t *testing.T, s store.Store) {
			mustCreateTeam(t, s, "t1")
			mustCreateKey(t, s, newKey("k1", "t1"))
			mustCreateKey(t, s, newKey("k2", "t1"))
			if _, err := s.RevokeKey(t.Context(), "k2", now()); err != nil {
				t.Fatalf("RevokeKey: %v", err)
			}
			mustCreateKey(t, s, newKey("k3", "t1"))
			at := now()
			tests := []struct {
				name string
				id   string
				hash []byte
				want error
			}{
				{"missing", "nope", hash("x"), store.ErrNotFound},
				{"revoked", "k2", hash("y"), store.ErrNotFound},
				{"hash of another key", "k1", hash("sk-k3"), store.ErrConflict},
			}
			for _, tt := range tests {
				_, err := s.RotateKey(t.Context(), tt.id, tt.hash, "sk-x", at, at.Add(time.Hour))
				wantErr(t, "RotateKey("+tt.name+")", err, tt.want)
			}
		}},
	}
}
