// Package store defines Tollgate's persistent state as Go interfaces and
// domain types. The Postgres implementation lives in package pgstore; the
// conformance suite every implementation must pass lives in storetest.
//
// Nothing here is read on the request path: the gateway loads what it needs
// into memory at start and refreshes it from change notifications (Watch).
package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Sentinel errors returned by every implementation, wrapped with %w.
var (
	// ErrNotFound means the named entity does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict means an entity with that id or name already exists.
	ErrConflict = errors.New("already exists")
	// ErrInUse means the entity is still referenced (e.g. a provider with models).
	ErrInUse = errors.New("still in use")
	// ErrVersionMismatch means a conditional write (see Version) found the
	// entity changed or gone since the caller read it.
	ErrVersionMismatch = errors.New("changed since it was read")
	// ErrInvalidCursor means a page cursor was not made by this listing.
	ErrInvalidCursor = errors.New("invalid cursor")
)

// Versions: every stored configuration entity has a Version that the store
// sets on every write from one sequence shared by all tables, so a version
// is never reused, not even by an entity deleted and created again; the
// admin API derives etags from it. A write given a non-zero version (the
// entity's Version field for updates and puts, the ifVersion argument for
// deletes) applies only if the stored version is still that one, and fails
// with ErrVersionMismatch otherwise; a zero version applies unconditionally.

// Page selects one page of a listing in a fixed order.
type Page struct {
	// Size is the page size (> 0).
	Size int
	// After is the cursor returned with the previous page, "" for the first.
	After string
}

// Store is the whole persistent state.
type Store interface {
	Providers
	Models
	Teams
	Keys
	Records
	Budgets
	Counters
	Routes
	GuardrailPolicies
	// Ping reports whether the store is reachable and migrated.
	Ping(ctx context.Context) error
	// Watch calls fn for every change committed by any replica until ctx is
	// done. It calls fn with a Change of Kind ChangeResync whenever
	// notifications may have been missed (at start and after a reconnect):
	// the caller must then reload everything. Watch returns ctx.Err().
	Watch(ctx context.Context, fn func(Change)) error
	// Close releases the store's connections.
	Close()
}

// ChangeKind names what changed.
type ChangeKind string

// The change kinds.
const (
	ChangeResync   ChangeKind = "resync"
	ChangeProvider ChangeKind = "provider"
	ChangeModel    ChangeKind = "model"
	ChangeTeam     ChangeKind = "team"
	ChangeKey      ChangeKind = "key"
)

// Change is a notification that an entity was created, updated or deleted.
type Change struct {
	Kind ChangeKind
	// ID is the entity's id (the name for models).
	ID string
}

// Provider is an upstream endpoint. The credential is stored sealed
// (encrypted); the store never sees it in plain text.
type Provider struct {
	ID       string
	Type     string
	BaseURL  string
	Settings map[string]string
	// SealedCredential is the encrypted credential, nil when none.
	SealedCredential []byte
	// CredentialRef is the credential by reference ("env:NAME",
	// "vault:..."), resolved by every replica into memory; "" when none.
	// Exclusive with SealedCredential.
	CredentialRef string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	// Version changes on every write (see Versions).
	Version int64
}

// Providers stores providers.
type Providers interface {
	// CreateProvider stores p; ErrConflict if the id exists. Timestamps are set by the store.
	CreateProvider(ctx context.Context, p *Provider) error
	// GetProvider returns the provider or ErrNotFound.
	GetProvider(ctx context.Context, id string) (*Provider, error)
	// ListProviders returns all providers ordered by id.
	ListProviders(ctx context.Context) ([]Provider, error)
	// PageProviders returns a page of providers ordered by id and the
	// cursor of the next page ("" at the end).
	PageProviders(ctx context.Context, p Page) ([]Provider, string, error)
	// UpdateProvider replaces the mutable fields (Type is immutable) if
	// p.Version matches (see Versions) and sets p's Type, timestamps and
	// Version; ErrNotFound if missing.
	UpdateProvider(ctx context.Context, p *Provider) error
	// DeleteProvider deletes it if ifVersion matches; ErrNotFound if
	// missing, ErrInUse if a model uses it.
	DeleteProvider(ctx context.Context, id string, ifVersion int64) error
}

// Pricing is a model's price. Amounts are nano-USD (10^-9 dollars).
type Pricing struct {
	InputPerMillion       int64
	OutputPerMillion      int64
	CachedInputPerMillion int64
	PerRequest            int64
}

// Model makes an upstream model available under a name.
type Model struct {
	Name            string
	ProviderID      string
	UpstreamModel   string
	ContextWindow   int
	MaxOutputTokens int
	Embedding       bool
	Pricing         Pricing
	CreatedAt       time.Time
	UpdatedAt       time.Time
	// Version changes on every write (see Versions).
	Version int64
}

// Models stores models.
type Models interface {
	// CreateModel stores m; ErrConflict if the name exists, ErrNotFound if its provider does not.
	CreateModel(ctx context.Context, m *Model) error
	// GetModel returns the model or ErrNotFound.
	GetModel(ctx context.Context, name string) (*Model, error)
	// ListModels returns all models ordered by name.
	ListModels(ctx context.Context) ([]Model, error)
	// PageModels returns a page of models ordered by name and the cursor
	// of the next page ("" at the end).
	PageModels(ctx context.Context, p Page) ([]Model, string, error)
	// UpdateModel replaces the mutable fields if m.Version matches (see
	// Versions) and sets m's timestamps and Version; ErrNotFound if missing.
	UpdateModel(ctx context.Context, m *Model) error
	// DeleteModel deletes it if ifVersion matches; ErrNotFound if missing.
	DeleteModel(ctx context.Context, name string, ifVersion int64) error
}

// Team owns keys and spend.
type Team struct {
	ID          string
	DisplayName string
	Labels      map[string]string
	CreatedAt   time.Time
	// Version changes on every write (see Versions).
	Version int64
}

// Teams stores teams.
type Teams interface {
	// CreateTeam stores t; ErrConflict if the id exists.
	CreateTeam(ctx context.Context, t *Team) error
	// GetTeam returns the team or ErrNotFound.
	GetTeam(ctx context.Context, id string) (*Team, error)
	// ListTeams returns all teams ordered by id.
	ListTeams(ctx context.Context) ([]Team, error)
	// PageTeams returns a page of teams ordered by id and the cursor of
	// the next page ("" at the end).
	PageTeams(ctx context.Context, p Page) ([]Team, string, error)
	// DeleteTeam deletes it if ifVersion matches (see Versions);
	// ErrNotFound if missing, ErrInUse if it has unrevoked keys.
	DeleteTeam(ctx context.Context, id string, ifVersion int64) error
}

// Key is a virtual key. Only the SHA-256 hash of its secret is stored.
type Key struct {
	ID            string
	Name          string
	TeamID        string
	ServiceID     string
	AllowedModels []string
	Tags          map[string]string
	// ExpiresAt is zero for a key that never expires.
	ExpiresAt time.Time
	// SecretHash is SHA-256 of the secret.
	SecretHash []byte
	// SecretPrefix is the first characters of the secret, for display.
	SecretPrefix string
	// PrevSecretHash is the hash of the secret replaced by the last
	// rotation, valid until PrevSecretExpiresAt.
	PrevSecretHash      []byte
	PrevSecretExpiresAt time.Time
	CreatedAt           time.Time
	// RevokedAt is zero for an unrevoked key.
	RevokedAt time.Time
	// RotatedAt is zero for a never-rotated key.
	RotatedAt time.Time
	// CachePolicy is the key's response-cache policy, the JSON of a
	// routing.Cache (validated by the admin API, decoded by the registry);
	// nil for none. It is set at creation only.
	CachePolicy json.RawMessage
	// DropParams lets the gateway leave out request parameters an
	// upstream cannot honour instead of refusing the request.
	DropParams bool
	// Version changes on every write (see Versions): revocation, rotation.
	Version int64
	// CreatedBy is the id of the admin principal that created the key
	// ("user:<sub>", "service-account:<id>", "admin-token"); "" for keys
	// created before it was recorded.
	CreatedBy string
}

// KeyFilter selects keys to list.
type KeyFilter struct {
	TeamID         string
	IncludeRevoked bool
	// Limit is the page size (> 0).
	Limit int
	// After is the cursor returned by the previous page, "" for the first.
	After string
}

// Keys stores virtual keys.
type Keys interface {
	// CreateKey stores k; ErrConflict if the id or hash exists, ErrNotFound if the team does not.
	CreateKey(ctx context.Context, k *Key) error
	// GetKey returns the key or ErrNotFound.
	GetKey(ctx context.Context, id string) (*Key, error)
	// ListKeys returns a page of keys, newest first, and the cursor of the next page ("" at the end).
	ListKeys(ctx context.Context, f KeyFilter) ([]Key, string, error)
	// AllKeys returns every key, revoked ones included, for loading into memory.
	AllKeys(ctx context.Context) ([]Key, error)
	// RevokeKey sets RevokedAt (idempotent: keeps the first time) and returns the key; ErrNotFound if missing.
	RevokeKey(ctx context.Context, id string, at time.Time) (*Key, error)
	// RotateKey replaces the secret hash, keeping the old one valid until
	// graceUntil, and returns the key; ErrNotFound if missing or revoked.
	RotateKey(ctx context.Context, id string, newHash []byte, newPrefix string, at, graceUntil time.Time) (*Key, error)
}

// Status is the outcome of a request. The values match the API's RequestStatus.
type Status int16

// The statuses.
const (
	StatusUnspecified Status = iota
	StatusOK
	StatusUpstreamError
	StatusUnauthenticated
	StatusForbidden
	StatusInvalid
	StatusLimited
	StatusCanceled
	StatusInternalError
)

// Record is the usage and audit record of one request.
type Record struct {
	RequestID         string
	Time              time.Time
	KeyID             string
	TeamID            string
	ServiceID         string
	EndUser           string
	Tags              []string
	Surface           string
	Operation         string
	Stream            bool
	RequestedModel    string
	Provider          string
	Model             string
	Status            Status
	ErrorCode         string
	InputTokens       int64
	OutputTokens      int64
	CachedInputTokens int64
	CacheWriteTokens  int64
	ReasoningTokens   int64
	UsageEstimated    bool
	// CostNanos is the cost in nano-USD.
	CostNanos int64
	Latency   time.Duration
	// TTFT is the time to the first streamed token, 0 if not streamed.
	TTFT     time.Duration
	Attempts int
	// Partial is true for a stream that ended with an error (or was
	// closed) after part of the answer had reached the client.
	Partial bool
	// CacheStatus is the response cache's outcome ("hit-exact",
	// "hit-semantic", "miss", "bypass"), "" when no lookup applied. A hit
	// has no provider cost and no token usage.
	CacheStatus string
	// SavedNanos is the upstream cost, in nano-USD, a cache hit saved.
	SavedNanos int64
	// Guardrails lists what the guardrails did to the request, in the
	// order they ran; nil when none acted.
	Guardrails []GuardrailVerdict
	// DroppedParams lists the request parameters the gateway left out
	// because the upstream cannot honour them and dropping was allowed.
	DroppedParams []string
	// Truncated is set when Sanitize had to change the record: a string
	// cut to its bound or with invalid UTF-8 or NUL replaced, a list cut
	// short, or a number out of range clamped.
	Truncated bool
}

// RecordFilter selects records to list.
type RecordFilter struct {
	Start, End time.Time
	TeamID     string
	KeyID      string
	Model      string
	EndUser    string
	// ServiceID, Status, Tag and RequestID narrow further when set
	// (Status when not StatusUnspecified; Tag matches one of a record's tags).
	ServiceID string
	Status    Status
	Tag       string
	RequestID string
	// Limit is the page size (> 0).
	Limit int
	// After is the cursor returned by the previous page, "" for the first.
	After string
}

// Dimension is a record field usage can be grouped by.
type Dimension string

// The dimensions.
const (
	DimTeam     Dimension = "team"
	DimService  Dimension = "service"
	DimKey      Dimension = "key"
	DimModel    Dimension = "model"
	DimProvider Dimension = "provider"
	DimEndUser  Dimension = "end_user"
	// DimTag groups by tag: a record counts once in each of its tags'
	// groups; untagged records form the group "".
	DimTag Dimension = "tag"
	// DimGuardrail groups by what a guardrail did, as
	// "policy/guardrail:action": a record counts once in each of its
	// verdicts' groups; records no guardrail acted on are left out.
	DimGuardrail Dimension = "guardrail"
)

// Bucket is the width of a summary's time buckets.
type Bucket string

// The buckets (UTC); BucketNone gives no time buckets.
const (
	BucketNone Bucket = ""
	BucketHour Bucket = "hour"
	BucketDay  Bucket = "day"
)

// SummaryQuery asks for usage totals.
type SummaryQuery struct {
	Start, End time.Time
	TeamID     string
	GroupBy    []Dimension
	// Bucket splits the groups into time buckets.
	Bucket Bucket
}

// UsageGroup is the total of one group.
type UsageGroup struct {
	// Keys holds the group's value per GroupBy dimension, in order.
	Keys []string
	// BucketStart is the start of the group's time bucket (zero without
	// buckets).
	BucketStart       time.Time
	Requests          int64
	Errors            int64
	InputTokens       int64
	OutputTokens      int64
	CachedInputTokens int64
	CostNanos         int64
	// CacheHits counts the group's requests served from the response
	// cache; SavedNanos sums what they saved.
	CacheHits  int64
	SavedNanos int64
}

// Records stores request records.
type Records interface {
	// InsertRecords stores a batch in one transaction. It is idempotent
	// per line of the batch's segment (see RecordBatch): lines already
	// stored are skipped, so a batch may be retried or replayed as it is.
	// A batch the store rejects for its data wraps ErrInvalidRecord and
	// stores nothing.
	InsertRecords(ctx context.Context, b RecordBatch) error
	// InsertDeadLetter stores a record the store rejected, with the
	// reason, in place of the record, and marks its line as stored.
	InsertDeadLetter(ctx context.Context, d DeadLetter) error
	// ListRecords returns a page of records, newest first, and the cursor of the next page.
	ListRecords(ctx context.Context, f RecordFilter) ([]Record, string, error)
	// SummarizeUsage returns one group per distinct GroupBy value, most expensive first.
	SummarizeUsage(ctx context.Context, q SummaryQuery) ([]UsageGroup, error)
	// ExportRecords calls fn for every record matching f (Limit and After
	// are ignored), oldest first, stopping at fn's first error.
	ExportRecords(ctx context.Context, f RecordFilter, fn func(*Record) error) error
}
