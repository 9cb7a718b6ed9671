package storetest

import (
	"testing"

	"github.com/tollgate-dev/tollgate/service/store"
)

func diffProvider(got, want *store.Provider) diffs {
	var d diffs
	d.eq("ID", got.ID, want.ID)
	d.eq("Type", got.Type, want.Type)
	d.eq("BaseURL", got.BaseURL, want.BaseURL)
	d.eq("Settings", got.Settings, want.Settings)
	d.eq("SealedCredential", got.SealedCredential, want.SealedCredential)
	d.eq("CreatedAt", got.CreatedAt, want.CreatedAt)
	d.eq("UpdatedAt", got.UpdatedAt, want.UpdatedAt)
	return d
}

func providerTests() []test {
	return []test{
		{"CreateGet", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			p := &store.Provider{
				ID: "openai-main", Type: "openai", BaseURL: "https://api.example.test/v1",
				Settings:         map[string]string{"organization": "org-1", "timeout": "30s"},
				SealedCredential: []byte{0, 1, 2, 0xff},
			}
			if err := s.CreateProvider(ctx, p); err != nil {
				t.Fatalf("CreateProvider: %v", err)
			}
			if p.CreatedAt.IsZero() || p.UpdatedAt.IsZero() {
				t.Errorf("timestamps not set: created %v updated %v", p.CreatedAt, p.UpdatedAt)
			}
			got, err := s.GetProvider(ctx, p.ID)
			wantErr(t, "GetProvider", err, nil)
			diffProvider(got, p).report(t, "GetProvider")
		}},
		{"CreateWithoutCredential", func(t *testing.T, s store.Store) {
			p := &store.Provider{ID: "local", Type: "openaicompat", BaseURL: "http://localhost:8000/v1"}
			wantErr(t, "CreateProvider", s.CreateProvider(t.Context(), p), nil)
			got, err := s.GetProvider(t.Context(), "local")
			wantErr(t, "GetProvider", err, nil)
			if got.SealedCredential != nil {
				t.Errorf("SealedCredential = %x, want nil", got.SealedCredential)
			}
			diffProvider(got, p).report(t, "GetProvider")
		}},
		{"CreateConflict", func(t *testing.T, s store.Store) {
			mustCreateProvider(t, s, "p1")
			err := s.CreateProvider(t.Context(), &store.Provider{ID: "p1", Type: "anthropic"})
			wantErr(t, "CreateProvider(duplicate)", err, store.ErrConflict)
		}},
		{"GetMissing", func(t *testing.T, s store.Store) {
			_, err := s.GetProvider(t.Context(), "nope")
			wantErr(t, "GetProvider", err, store.ErrNotFound)
		}},
		{"ListOrderedByID", func(t *testing.T, s store.Store) {
			ps, err := s.ListProviders(t.Context())
			wantErr(t, "ListProviders(empty)", err, nil)
			if len(ps) != 0 {
				t.Fatalf("ListProviders on an empty store = %d providers", len(ps))
			}
			for _, id := range []string{"c", "a", "b"} {
				mustCreateProvider(t, s, id)
			}
			ps, err = s.ListProviders(t.Context())
			wantErr(t, "ListProviders", err, nil)
			var ids []string
			for _, p := range ps {
				ids = append(ids, p.ID)
			}
			var d diffs
			d.eq("ids", ids, []string{"a", "b", "c"})
			d.report(t, "ListProviders")
		}},
		{"Update", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			p := mustCreateProvider(t, s, "p1")
			created := p.CreatedAt
			upd := &store.Provider{
				ID: "p1", Type: "anthropic", BaseURL: "https://other.example.test",
				Settings: map[string]string{"region": "eu"}, SealedCredential: []byte("sealed"),
			}
			wantErr(t, "UpdateProvider", s.UpdateProvider(ctx, upd), nil)
			got, err := s.GetProvider(ctx, "p1")
			wantErr(t, "GetProvider", err, nil)
			want := &store.Provider{
				ID: "p1", Type: "openai", BaseURL: upd.BaseURL, Settings: upd.Settings,
				SealedCredential: upd.SealedCredential, CreatedAt: created, UpdatedAt: got.UpdatedAt,
			}
			diffProvider(got, want).report(t, "GetProvider after update")
			if got.UpdatedAt.Before(created) {
				t.Errorf("UpdatedAt %v before CreatedAt %v", got.UpdatedAt, created)
			}
			if !upd.UpdatedAt.Equal(got.UpdatedAt) {
				t.Errorf("UpdateProvider set UpdatedAt %v, stored %v", upd.UpdatedAt, got.UpdatedAt)
			}
		}},
		{"UpdateMissing", func(t *testing.T, s store.Store) {
			err := s.UpdateProvider(t.Context(), &store.Provider{ID: "nope", Type: "openai"})
			wantErr(t, "UpdateProvider", err, store.ErrNotFound)
		}},
		{"Delete", func(t *testing.T, s store.Store) {
			mustCreateProvider(t, s, "p1")
			wantErr(t, "DeleteProvider", s.DeleteProvider(t.Context(), "p1", 0), nil)
			_, err := s.GetProvider(t.Context(), "p1")
			wantErr(t, "GetProvider after delete", err, store.ErrNotFound)
			wantErr(t, "DeleteProvider again", s.DeleteProvider(t.Context(), "p1", 0), store.ErrNotFound)
		}},
		{"DeleteInUse", func(t *testing.T, s store.Store) {
			mustCreateProvider(t, s, "p1")
			m := &store.Model{Name: "gpt", ProviderID: "p1", UpstreamModel: "gpt-4o"}
			wantErr(t, "CreateModel", s.CreateModel(t.Context(), m), nil)
			wantErr(t, "DeleteProvider", s.DeleteProvider(t.Context(), "p1", 0), store.ErrInUse)
			wantErr(t, "DeleteModel", s.DeleteModel(t.Context(), "gpt", 0), nil)
			wantErr(t, "DeleteProvider after DeleteModel", s.DeleteProvider(t.Context(), "p1", 0), nil)
		}},
	}
}

func diffModel(got, want *store.Model) diffs {
	var d diffs
	d.eq("Name", got.Name, want.Name)
	d.eq("ProviderID", got.ProviderID, want.ProviderID)
	d.eq("UpstreamModel", got.UpstreamModel, want.UpstreamModel)
	d.eq("ContextWindow", got.ContextWindow, want.ContextWindow)
	d.eq("MaxOutputTokens", got.MaxOutputTokens, want.MaxOutputTokens)
	d.eq("Embedding", got.Embedding, want.Embedding)
	d.eq("Pricing", got.Pricing, want.Pricing)
	d.eq("CreatedAt", got.CreatedAt, want.CreatedAt)
	d.eq("UpdatedAt", got.UpdatedAt, want.UpdatedAt)
	return d
}

func modelTests() []test {
	return []test{
		{"CreateGet", func(t *testing.T, s store.Store) {
			mustCreateProvider(t, s, "p1")
			m := &store.Model{
				Name: "gpt-4o", ProviderID: "p1", UpstreamModel: "gpt-4o-2024-08-06",
				ContextWindow: 128000, MaxOutputTokens: 16384,
				Pricing: store.Pricing{
					InputPerMillion: 2_500_000_000, OutputPerMillion: 10_000_000_000,
					CachedInputPerMillion: 1_250_000_000, PerRequest: 7,
				},
			}
			wantErr(t, "CreateModel", s.CreateModel(t.Context(), m), nil)
			if m.CreatedAt.IsZero() || m.UpdatedAt.IsZero() {
				t.Errorf("timestamps not set: %v %v", m.CreatedAt, m.UpdatedAt)
			}
			got, err := s.GetModel(t.Context(), "gpt-4o")
			wantErr(t, "GetModel", err, nil)
			diffModel(got, m).report(t, "GetModel")

			e := &store.Model{Name: "embed", ProviderID: "p1", UpstreamModel: "text-embedding-3-small", Embedding: true}
			wantErr(t, "CreateModel(embedding)", s.CreateModel(t.Context(), e), nil)
			got, err = s.GetModel(t.Context(), "embed")
			wantErr(t, "GetModel(embedding)", err, nil)
			diffModel(got, e).report(t, "GetModel(embedding)")
		}},
		{"CreateErrors", func(t *testing.T, s store.Store) {
			mustCreateProvider(t, s, "p1")
			wantErr(t, "CreateModel", s.CreateModel(t.Context(), &store.Model{Name: "m", ProviderID: "p1"}), nil)
			tests := []struct {
				name string
				m    store.Model
				want error
			}{
				{"duplicate name", store.Model{Name: "m", ProviderID: "p1"}, store.ErrConflict},
				{"missing provider", store.Model{Name: "m2", ProviderID: "nope"}, store.ErrNotFound},
			}
			for _, tt := range tests {
				wantErr(t, "CreateModel("+tt.name+")", s.CreateModel(t.Context(), &tt.m), tt.want)
			}
		}},
		{"GetMissing", func(t *testing.T, s store.Store) {
			_, err := s.GetModel(t.Context(), "nope")
			wantErr(t, "GetModel", err, store.ErrNotFound)
		}},
		{"ListOrderedByName", func(t *testing.T, s store.Store) {
			mustCreateProvider(t, s, "p1")
			for _, n := range []string{"zeta", "alpha", "mid"} {
				wantErr(t, "CreateModel", s.CreateModel(t.Context(), &store.Model{Name: n, ProviderID: "p1"}), nil)
			}
			ms, err := s.ListModels(t.Context())
			wantErr(t, "ListModels", err, nil)
			var names []string
			for _, m := range ms {
				names = append(names, m.Name)
			}
			var d diffs
			d.eq("names", names, []string{"alpha", "mid", "zeta"})
			d.report(t, "ListModels")
		}},
		{"Update", func(t *testing.T, s store.Store) {
			mustCreateProvider(t, s, "p1")
			mustCreateProvider(t, s, "p2")
			m := &store.Model{Name: "m", ProviderID: "p1", UpstreamModel: "a", ContextWindow: 1}
			wantErr(t, "CreateModel", s.CreateModel(t.Context(), m), nil)
			upd := &store.Model{
				Name: "m", ProviderID: "p2", UpstreamModel: "b", ContextWindow: 2, MaxOutputTokens: 3,
				Embedding: true, Pricing: store.Pricing{InputPerMillion: 4, OutputPerMillion: 5, CachedInputPerMillion: 6, PerRequest: 7},
			}
			wantErr(t, "UpdateModel", s.UpdateModel(t.Context(), upd), nil)
			got, err := s.GetModel(t.Context(), "m")
			wantErr(t, "GetModel", err, nil)
			want := *upd
			want.CreatedAt = m.CreatedAt
			diffModel(got, &want).report(t, "GetModel after update")
			if got.UpdatedAt.Before(got.CreatedAt) {
				t.Errorf("UpdatedAt %v before CreatedAt %v", got.UpdatedAt, got.CreatedAt)
			}
		}},
		{"UpdateErrors", func(t *testing.T, s store.Store) {
			mustCreateProvider(t, s, "p1")
			wantErr(t, "CreateModel", s.CreateModel(t.Context(), &store.Model{Name: "m", ProviderID: "p1"}), nil)
			tests := []struct {
				name string
				m    store.Model
				want error
			}{
				{"missing model", store.Model{Name: "nope", ProviderID: "p1"}, store.ErrNotFound},
				{"missing provider", store.Model{Name: "m", ProviderID: "nope"}, store.ErrNotFound},
			}
			for _, tt := range tests {
				wantErr(t, "UpdateModel("+tt.name+")", s.UpdateModel(t.Context(), &tt.m), tt.want)
			}
		}},
		{"Delete", func(t *testing.T, s store.Store) {
			mustCreateProvider(t, s, "p1")
			wantErr(t, "CreateModel", s.CreateModel(t.Context(), &store.Model{Name: "m", ProviderID: "p1"}), nil)
			wantErr(t, "DeleteModel", s.DeleteModel(t.Context(), "m", 0), nil)
			_, err := s.GetModel(t.Context(), "m")
			wantErr(t, "GetModel after delete", err, store.ErrNotFound)
			wantErr(t, "DeleteModel again", s.DeleteModel(t.Context(), "m", 0), store.ErrNotFound)
		}},
	}
}

func teamTests() []test {
	return []test{
		{"CreateGet", func(t *testing.T, s store.Store) {
			team := &store.Team{ID: "t1", DisplayName: "Search", Labels: map[string]string{"cost-center": "42"}}
			wantErr(t, "CreateTeam", s.CreateTeam(t.Context(), team), nil)
			if team.CreatedAt.IsZero() {
				t.Error("CreatedAt not set")
			}
			got, err := s.GetTeam(t.Context(), "t1")
			wantErr(t, "GetTeam", err, nil)
			var d diffs
			d.eq("ID", got.ID, team.ID)
			d.eq("DisplayName", got.DisplayName, team.DisplayName)
			d.eq("Labels", got.Labels, team.Labels)
			d.eq("CreatedAt", got.CreatedAt, team.CreatedAt)
			d.report(t, "GetTeam")
		}},
		{"CreateConflict", func(t *testing.T, s store.Store) {
			mustCreateTeam(t, s, "t1")
			wantErr(t, "CreateTeam(duplicate)", s.CreateTeam(t.Context(), &store.Team{ID: "t1"}), store.ErrConflict)
		}},
		{"GetMissing", func(t *testing.T, s store.Store) {
			_, err := s.GetTeam(t.Context(), "nope")
			wantErr(t, "GetTeam", err, store.ErrNotFound)
		}},
		{"ListOrderedByID", func(t *testing.T, s store.Store) {
			for _, id := range []string{"t3", "t1", "t2"} {
				mustCreateTeam(t, s, id)
			}
			ts, err := s.ListTeams(t.Context())
			wantErr(t, "ListTeams", err, nil)
			var ids []string
			for _, team := range ts {
				ids = append(ids, team.ID)
			}
			var d diffs
			d.eq("ids", ids, []string{"t1", "t2", "t3"})
			d.report(t, "ListTeams")
		}},
		{"Delete", func(t *testing.T, s store.Store) {
			mustCreateTeam(t, s, "t1")
			wantErr(t, "DeleteTeam", s.DeleteTeam(t.Context(), "t1", 0), nil)
			_, err := s.GetTeam(t.Context(), "t1")
			wantErr(t, "GetTeam after delete", err, store.ErrNotFound)
			wantErr(t, "DeleteTeam again", s.DeleteTeam(t.Context(), "t1", 0), store.ErrNotFound)
		}},
		{"DeleteWithKeys", func(t *testing.T, s store.Store) {
			mustCreateTeam(t, s, "t1")
			mustCreateKey(t, s, newKey("k1", "t1"))
			wantErr(t, "DeleteTeam(unrevoked key)", s.DeleteTeam(t.Context(), "t1", 0), store.ErrInUse)
			if _, err := s.RevokeKey(t.Context(), "k1", now()); err != nil {
				t.Fatalf("RevokeKey: %v", err)
			}
			wantErr(t, "DeleteTeam(revoked keys only)", s.DeleteTeam(t.Context(), "t1", 0), nil)
			_, err := s.GetTeam(t.Context(), "t1")
			wantErr(t, "GetTeam after delete", err, store.ErrNotFound)
		}},
	}
}
