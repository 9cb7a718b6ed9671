package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/tollgate-dev/tollgate/service/store"
)

const providerColumns = "id, type, base_url, settings, sealed_credential, credential_ref, created_at, updated_at, version"

func scanProvider(r scanner) (store.Provider, error) {
	var p store.Provider
	var settings string
	var created, updated int64
	if err := r.Scan(&p.ID, &p.Type, &p.BaseURL, &settings, &p.SealedCredential, &p.CredentialRef, &created, &updated, &p.Version); err != nil {
		return p, err
	}
	var err error
	if p.Settings, err = parseMap(settings); err != nil {
		return p, err
	}
	p.CreatedAt, p.UpdatedAt = fromMicros(created), fromMicros(updated)
	return p, nil
}

// CreateProvider stores p and sets its timestamps and Version; ErrConflict
// if the id exists.
func (s *Store) CreateProvider(ctx context.Context, p *store.Provider) error {
	now := s.clock()
	return s.write(ctx, func(t *tx) error {
		v, err := t.nextVersion(ctx)
		if err != nil {
			return err
		}
		if _, err := t.ExecContext(ctx, `INSERT INTO providers (id, type, base_url, settings, sealed_credential, credential_ref, created_at, updated_at, version)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			p.ID, p.Type, p.BaseURL, mapJSON(p.Settings), p.SealedCredential, p.CredentialRef, micros(now), micros(now), v); err != nil {
			return mapErr(fmt.Sprintf("create provider %q", p.ID), err, nil)
		}
		p.CreatedAt, p.UpdatedAt, p.Version = now, now, v
		t.changed(store.ChangeProvider, p.ID)
		return nil
	})
}

// GetProvider returns the provider or ErrNotFound.
func (s *Store) GetProvider(ctx context.Context, id string) (*store.Provider, error) {
	p, err := scanProvider(s.r.QueryRowContext(ctx, "SELECT "+providerColumns+" FROM providers WHERE id = ?", id))
	if err != nil {
		return nil, mapErr(fmt.Sprintf("provider %q", id), err, nil)
	}
	return &p, nil
}

// ListProviders returns all providers ordered by id.
func (s *Store) ListProviders(ctx context.Context) ([]store.Provider, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT "+providerColumns+" FROM providers ORDER BY id")
	ps, err := collect(rows, err, scanProvider)
	if err != nil {
		return nil, fmt.Errorf("list providers: %w", err)
	}
	return ps, nil
}

// PageProviders returns a page of providers ordered by id.
func (s *Store) PageProviders(ctx context.Context, p store.Page) ([]store.Provider, string, error) {
	return pageRows(ctx, s, keyPage{columns: providerColumns, table: "providers", key: "id"}, p, scanProvider,
		func(p store.Provider) string { return p.ID })
}

// UpdateProvider replaces p's base URL, settings and credential if
// p.Version is 0 or the stored version, and sets p's Type, timestamps and
// Version to the stored ones (Type is immutable); ErrNotFound if missing,
// ErrVersionMismatch if changed.
func (s *Store) UpdateProvider(ctx context.Context, p *store.Provider) error {
	entity := fmt.Sprintf("update provider %q", p.ID)
	now := s.clock()
	return s.write(ctx, func(t *tx) error {
		v, err := t.nextVersion(ctx)
		if err != nil {
			return err
		}
		var typ string
		var created int64
		err = t.QueryRowContext(ctx, `
			UPDATE providers SET base_url = ?, settings = ?, sealed_credential = ?, credential_ref = ?, updated_at = ?, version = ?
			WHERE id = ? AND (? = 0 OR version = ?)
			RETURNING type, created_at`,
			p.BaseURL, mapJSON(p.Settings), p.SealedCredential, p.CredentialRef, micros(now), v, p.ID, p.Version, p.Version,
		).Scan(&typ, &created)
		if errors.Is(err, sql.ErrNoRows) {
			return conditionalMiss(ctx, t, "providers", "id", p.ID, entity)
		}
		if err != nil {
			return mapErr(entity, err, nil)
		}
		p.Type, p.CreatedAt, p.UpdatedAt, p.Version = typ, fromMicros(created), now, v
		t.changed(store.ChangeProvider, p.ID)
		return nil
	})
}

// DeleteProvider deletes it if ifVersion is 0 or its version; ErrNotFound
// if missing, ErrVersionMismatch if changed, ErrInUse if a model uses it.
func (s *Store) DeleteProvider(ctx context.Context, id string, ifVersion int64) error {
	return s.deleteIf(ctx, "providers", "id", id, ifVersion, fmt.Sprintf("delete provider %q", id), store.ErrInUse, store.ChangeProvider)
}

const modelColumns = `name, provider_id, upstream_model, context_window, max_output_tokens, embedding,
	price_input_per_mtok_nanos, price_output_per_mtok_nanos, price_cached_input_per_mtok_nanos,
	price_per_request_nanos, created_at, updated_at, version`

func scanModel(r scanner) (store.Model, error) {
	var m store.Model
	var created, updated int64
	err := r.Scan(&m.Name, &m.ProviderID, &m.UpstreamModel, &m.ContextWindow, &m.MaxOutputTokens, &m.Embedding,
		&m.Pricing.InputPerMillion, &m.Pricing.OutputPerMillion, &m.Pricing.CachedInputPerMillion, &m.Pricing.PerRequest,
		&created, &updated, &m.Version)
	m.CreatedAt, m.UpdatedAt = fromMicros(created), fromMicros(updated)
	return m, err
}

// modelArgs returns m's columns from provider_id to price_per_request_nanos.
func modelArgs(m *store.Model) []any {
	return []any{
		m.ProviderID, m.UpstreamModel, m.ContextWindow, m.MaxOutputTokens, m.Embedding,
		m.Pricing.InputPerMillion, m.Pricing.OutputPerMillion, m.Pricing.CachedInputPerMillion, m.Pricing.PerRequest,
	}
}

// CreateModel stores m and sets its timestamps and Version; ErrConflict if
// the name exists, ErrNotFound if its provider does not.
func (s *Store) CreateModel(ctx context.Context, m *store.Model) error {
	now := s.clock()
	return s.write(ctx, func(t *tx) error {
		v, err := t.nextVersion(ctx)
		if err != nil {
			return err
		}
		args := append([]any{m.Name}, modelArgs(m)...)
		args = append(args, micros(now), micros(now), v)
		if _, err := t.ExecContext(ctx, `INSERT INTO models (`+modelColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...); err != nil {
			return mapErr(fmt.Sprintf("create model %q (provider %q)", m.Name, m.ProviderID), err, store.ErrNotFound)
		}
		m.CreatedAt, m.UpdatedAt, m.Version = now, now, v
		t.changed(store.ChangeModel, m.Name)
		return nil
	})
}

// GetModel returns the model or ErrNotFound.
func (s *Store) GetModel(ctx context.Context, name string) (*store.Model, error) {
	m, err := scanModel(s.r.QueryRowContext(ctx, "SELECT "+modelColumns+" FROM models WHERE name = ?", name))
	if err != nil {
		return nil, mapErr(fmt.Sprintf("model %q", name), err, nil)
	}
	return &m, nil
}

// ListModels returns all models ordered by name.
func (s *Store) ListModels(ctx context.Context) ([]store.Model, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT "+modelColumns+" FROM models ORDER BY name")
	ms, err := collect(rows, err, scanModel)
	if err != nil {
		return nil, fmt.Errorf("list models: %w", err)
	}
	return ms, nil
}

// PageModels returns a page of models ordered by name.
func (s *Store) PageModels(ctx context.Context, p store.Page) ([]store.Model, string, error) {
	return pageRows(ctx, s, keyPage{columns: modelColumns, table: "models", key: "name"}, p, scanModel,
		func(m store.Model) string { return m.Name })
}

// UpdateModel replaces every field but the name and creation time if
// m.Version is 0 or the stored version, and sets m's timestamps and
// Version; ErrNotFound if the model or its new provider is missing,
// ErrVersionMismatch if changed.
func (s *Store) UpdateModel(ctx context.Context, m *store.Model) error {
	entity := fmt.Sprintf("update model %q (provider %q)", m.Name, m.ProviderID)
	now := s.clock()
	return s.write(ctx, func(t *tx) error {
		v, err := t.nextVersion(ctx)
		if err != nil {
			return err
		}
		args := append(modelArgs(m), micros(now), v, m.Name, m.Version, m.Version)
		var created int64
		err = t.QueryRowContext(ctx, `
			UPDATE models
			SET provider_id = ?, upstream_model = ?, context_window = ?, max_output_tokens = ?, embedding = ?,
				price_input_per_mtok_nanos = ?, price_output_per_mtok_nanos = ?,
				price_cached_input_per_mtok_nanos = ?, price_per_request_nanos = ?, updated_at = ?, version = ?
			WHERE name = ? AND (? = 0 OR version = ?)
			RETURNING created_at`, args...).Scan(&created)
		if errors.Is(err, sql.ErrNoRows) {
			return conditionalMiss(ctx, t, "models", "name", m.Name, entity)
		}
		if err != nil {
			return mapErr(entity, err, store.ErrNotFound)
		}
		m.CreatedAt, m.UpdatedAt, m.Version = fromMicros(created), now, v
		t.changed(store.ChangeModel, m.Name)
		return nil
	})
}

// DeleteModel deletes it if ifVersion is 0 or its version; ErrNotFound if
// missing, ErrVersionMismatch if changed.
func (s *Store) DeleteModel(ctx context.Context, name string, ifVersion int64) error {
	return s.deleteIf(ctx, "models", "name", name, ifVersion, fmt.Sprintf("delete model %q", name), nil, store.ChangeModel)
}
