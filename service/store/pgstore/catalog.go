package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-dev/tollgate/service/store"
)

// providerRow is a row of providers.
type providerRow struct {
	ID               string            `db:"id"`
	Type             string            `db:"type"`
	BaseURL          string            `db:"base_url"`
	Settings         map[string]string `db:"settings"`
	SealedCredential []byte            `db:"sealed_credential"`
	CredentialRef    string            `db:"credential_ref"`
	CreatedAt        time.Time         `db:"created_at"`
	UpdatedAt        time.Time         `db:"updated_at"`
	Version          int64             `db:"version"`
}

func (r providerRow) provider() store.Provider {
	return store.Provider{
		ID:               r.ID,
		Type:             r.Type,
		BaseURL:          r.BaseURL,
		Settings:         r.Settings,
		SealedCredential: r.SealedCredential,
		CredentialRef:    r.CredentialRef,
		CreatedAt:        r.CreatedAt.UTC(),
		UpdatedAt:        r.UpdatedAt.UTC(),
		Version:          r.Version,
	}
}

const providerColumns = "id, type, base_url, settings, sealed_credential, credential_ref, created_at, updated_at, version"

// CreateProvider stores p and sets its timestamps and Version; ErrConflict
// if the id exists.
func (s *Store) CreateProvider(ctx context.Context, p *store.Provider) error {
	err := s.pool.QueryRow(ctx, `
		INSERT INTO providers (id, type, base_url, settings, sealed_credential, credential_ref)
		VALUES ($1, $2, $3, $4, $5, $6)
		RETURNING created_at, updated_at, version`,
		p.ID, p.Type, p.BaseURL, nonNilMap(p.Settings), p.SealedCredential, p.CredentialRef,
	).Scan(&p.CreatedAt, &p.UpdatedAt, &p.Version)
	if err != nil {
		return mapErr(fmt.Sprintf("create provider %q", p.ID), err, nil)
	}
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	return nil
}

// GetProvider returns the provider or ErrNotFound.
func (s *Store) GetProvider(ctx context.Context, id string) (*store.Provider, error) {
	rows, _ := s.pool.Query(ctx, "SELECT "+providerColumns+" FROM providers WHERE id = $1", id)
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[providerRow])
	if err != nil {
		return nil, mapErr(fmt.Sprintf("provider %q", id), err, nil)
	}
	p := r.provider()
	return &p, nil
}

// ListProviders returns all providers ordered by id.
func (s *Store) ListProviders(ctx context.Context) ([]store.Provider, error) {
	rows, _ := s.pool.Query(ctx, "SELECT "+providerColumns+" FROM providers ORDER BY id")
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByName[providerRow])
	if err != nil {
		return nil, fmt.Errorf("list providers: %w", err)
	}
	ps := make([]store.Provider, len(rs))
	for i, r := range rs {
		ps[i] = r.provider()
	}
	return ps, nil
}

// PageProviders returns a page of providers ordered by id.
func (s *Store) PageProviders(ctx context.Context, p store.Page) ([]store.Provider, string, error) {
	rs, next, err := pageRows(ctx, s, keyPage{columns: providerColumns, table: "providers", key: "id"}, p,
		func(r providerRow) string { return r.ID })
	if err != nil {
		return nil, "", err
	}
	ps := make([]store.Provider, len(rs))
	for i, r := range rs {
		ps[i] = r.provider()
	}
	return ps, next, nil
}

// UpdateProvider replaces p's base URL, settings and credential if
// p.Version is 0 or the stored version, and sets p's Type, timestamps and
// Version to the stored ones (Type is immutable); ErrNotFound if missing,
// ErrVersionMismatch if changed.
func (s *Store) UpdateProvider(ctx context.Context, p *store.Provider) error {
	entity := fmt.Sprintf("update provider %q", p.ID)
	err := s.pool.QueryRow(ctx, `
		UPDATE providers
		SET base_url = $2, settings = $3, sealed_credential = $4, credential_ref = $6, updated_at = now()
		WHERE id = $1 AND ($5::bigint = 0 OR version = $5)
		RETURNING type, created_at, updated_at, version`,
		p.ID, p.BaseURL, nonNilMap(p.Settings), p.SealedCredential, p.Version, p.CredentialRef,
	).Scan(&p.Type, &p.CreatedAt, &p.UpdatedAt, &p.Version)
	if errors.Is(err, pgx.ErrNoRows) {
		return conditionalMiss(ctx, s.pool, "providers", "id", p.ID, entity)
	}
	if err != nil {
		return mapErr(entity, err, nil)
	}
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	return nil
}

// DeleteProvider deletes it if ifVersion is 0 or its version; ErrNotFound
// if missing, ErrVersionMismatch if changed, ErrInUse if a model uses it.
func (s *Store) DeleteProvider(ctx context.Context, id string, ifVersion int64) error {
	return s.deleteIf(ctx, "providers", "id", id, ifVersion, fmt.Sprintf("delete provider %q", id), store.ErrInUse)
}

// modelRow is a row of models.
type modelRow struct {
	Name                  string    `db:"name"`
	ProviderID            string    `db:"provider_id"`
	UpstreamModel         string    `db:"upstream_model"`
	ContextWindow         int       `db:"context_window"`
	MaxOutputTokens       int       `db:"max_output_tokens"`
	Embedding             bool      `db:"embedding"`
	InputPerMillion       int64     `db:"price_input_per_mtok_nanos"`
	OutputPerMillion      int64     `db:"price_output_per_mtok_nanos"`
	CachedInputPerMillion int64     `db:"price_cached_input_per_mtok_nanos"`
	PerRequest            int64     `db:"price_per_request_nanos"`
	CreatedAt             time.Time `db:"created_at"`
	UpdatedAt             time.Time `db:"updated_at"`
	Version               int64     `db:"version"`
}

func (r modelRow) model() store.Model {
	return store.Model{
		Name:            r.Name,
		ProviderID:      r.ProviderID,
		UpstreamModel:   r.UpstreamModel,
		ContextWindow:   r.ContextWindow,
		MaxOutputTokens: r.MaxOutputTokens,
		Embedding:       r.Embedding,
		Pricing: store.Pricing{
			InputPerMillion:       r.InputPerMillion,
			OutputPerMillion:      r.OutputPerMillion,
			CachedInputPerMillion: r.CachedInputPerMillion,
			PerRequest:            r.PerRequest,
		},
		CreatedAt: r.CreatedAt.UTC(),
		UpdatedAt: r.UpdatedAt.UTC(),
		Version:   r.Version,
	}
}

const modelColumns = `name, provider_id, upstream_model, context_window, max_output_tokens, embedding,
	price_input_per_mtok_nanos, price_output_per_mtok_nanos, price_cached_input_per_mtok_nanos,
	price_per_request_nanos, created_at, updated_at, version`

// modelArgs returns m's columns after name, in modelColumns order.
func modelArgs(m *store.Model) []any {
	return []any{
		m.Name, m.ProviderID, m.UpstreamModel, m.ContextWindow, m.MaxOutputTokens, m.Embedding,
		m.Pricing.InputPerMillion, m.Pricing.OutputPerMillion, m.Pricing.CachedInputPerMillion,
		m.Pricing.PerRequest,
	}
}

// CreateModel stores m and sets its timestamps and Version; ErrConflict if
// the name exists, ErrNotFound if its provider does not.
func (s *Store) CreateModel(ctx context.Context, m *store.Model) error {
	err := s.pool.QueryRow(ctx, `
		INSERT INTO models (name, provider_id, upstream_model, context_window, max_output_tokens, embedding,
			price_input_per_mtok_nanos, price_output_per_mtok_nanos, price_cached_input_per_mtok_nanos,
			price_per_request_nanos)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		RETURNING created_at, updated_at, version`,
		modelArgs(m)...,
	).Scan(&m.CreatedAt, &m.UpdatedAt, &m.Version)
	if err != nil {
		return mapErr(fmt.Sprintf("create model %q (provider %q)", m.Name, m.ProviderID), err, store.ErrNotFound)
	}
	m.CreatedAt, m.UpdatedAt = m.CreatedAt.UTC(), m.UpdatedAt.UTC()
	return nil
}

// GetModel returns the model or ErrNotFound.
func (s *Store) GetModel(ctx context.Context, name string) (*store.Model, error) {
	rows, _ := s.pool.Query(ctx, "SELECT "+modelColumns+" FROM models WHERE name = $1", name)
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[modelRow])
	if err != nil {
		return nil, mapErr(fmt.Sprintf("model %q", name), err, nil)
	}
	m := r.model()
	return &m, nil
}

// ListModels returns all models ordered by name.
func (s *Store) ListModels(ctx context.Context) ([]store.Model, error) {
	rows, _ := s.pool.Query(ctx, "SELECT "+modelColumns+" FROM models ORDER BY name")
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByName[modelRow])
	if err != nil {
		return nil, fmt.Errorf("list models: %w", err)
	}
	ms := make([]store.Model, len(rs))
	for i, r := range rs {
		ms[i] = r.model()
	}
	return ms, nil
}

// PageModels returns a page of models ordered by name.
func (s *Store) PageModels(ctx context.Context, p store.Page) ([]store.Model, string, error) {
	rs, next, err := pageRows(ctx, s, keyPage{columns: modelColumns, table: "models", key: "name"}, p,
		func(r modelRow) string { return r.Name })
	if err != nil {
		return nil, "", err
	}
	ms := make([]store.Model, len(rs))
	for i, r := range rs {
		ms[i] = r.model()
	}
	return ms, next, nil
}

// UpdateModel replaces every field but the name and creation time if
// m.Version is 0 or the stored version, and sets m's timestamps and
// Version; ErrNotFound if the model or its new provider is missing,
// ErrVersionMismatch if changed.
func (s *Store) UpdateModel(ctx context.Context, m *store.Model) error {
	entity := fmt.Sprintf("update model %q (provider %q)", m.Name, m.ProviderID)
	err := s.pool.QueryRow(ctx, `
		UPDATE models
		SET provider_id = $2, upstream_model = $3, context_window = $4, max_output_tokens = $5,
			embedding = $6, price_input_per_mtok_nanos = $7, price_output_per_mtok_nanos = $8,
			price_cached_input_per_mtok_nanos = $9, price_per_request_nanos = $10, updated_at = now()
		WHERE name = $1 AND ($11::bigint = 0 OR version = $11)
		RETURNING created_at, updated_at, version`,
		append(modelArgs(m), m.Version)...,
	).Scan(&m.CreatedAt, &m.UpdatedAt, &m.Version)
	if errors.Is(err, pgx.ErrNoRows) {
		return conditionalMiss(ctx, s.pool, "models", "name", m.Name, entity)
	}
	if err != nil {
		return mapErr(entity, err, store.ErrNotFound)
	}
	m.CreatedAt, m.UpdatedAt = m.CreatedAt.UTC(), m.UpdatedAt.UTC()
	return nil
}

// DeleteModel deletes it if ifVersion is 0 or its version; ErrNotFound if
// missing, ErrVersionMismatch if changed.
func (s *Store) DeleteModel(ctx context.Context, name string, ifVersion int64) error {
	return s.deleteIf(ctx, "models", "name", name, ifVersion, fmt.Sprintf("delete model %q", name), nil)
}
