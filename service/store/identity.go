package store

import (
	"context"
	"time"
)

// The change kinds of admin principals, credentials and the master key.
const (
	ChangeServiceAccount      ChangeKind = "service_account"
	ChangeServiceAccountToken ChangeKind = "sa_token"
	ChangeRoleBinding         ChangeKind = "role_binding"
	// ChangeCredentials asks every replica to re-read credential
	// references: ID is a provider id, or "*" for all.
	ChangeCredentials ChangeKind = "credentials"
	// ChangeMasterKey says the sealing key changed: ID is its key id.
	ChangeMasterKey ChangeKind = "master_key"
)

// ServiceAccount is a named, owned non-human admin principal.
type ServiceAccount struct {
	ID          string
	Description string
	// Owner is who is responsible for it (an e-mail address, say).
	Owner string
	// Roles are role names such as "admin" or "team-admin:search".
	Roles    []string
	Disabled bool
	// CreatedBy is the principal id of its creator.
	CreatedBy string
	CreatedAt time.Time
	UpdatedAt time.Time
	// Version changes on every write (see Versions).
	Version int64
}

// ServiceAccountToken is a service account's credential. Only the SHA-256
// hash of its secret is stored.
type ServiceAccountToken struct {
	ID               string
	ServiceAccountID string
	Name             string
	SecretHash       []byte
	SecretPrefix     string
	ExpiresAt        time.Time
	CreatedAt        time.Time
	// RevokedAt is zero for an unrevoked token.
	RevokedAt time.Time
	// LastUsedAt is zero for a token never used (as far as written).
	LastUsedAt time.Time
	// RotatedFrom is the id of the token this one replaced.
	RotatedFrom string
	// CreatedBy is the principal id of its issuer.
	CreatedBy string
}

// RoleBinding gives a person or a group a role. SubjectKind is "user"
// (the identity provider's sub), "email" or "group".
type RoleBinding struct {
	ID          string
	SubjectKind string
	Subject     string
	Role        string
	CreatedBy   string
	CreatedAt   time.Time
}

// Principals stores admin principals: service accounts, their tokens and
// role bindings. Nothing here is read per request: package identity keeps
// it in memory and follows its change notifications.
type Principals interface {
	// CreateServiceAccount stores a; ErrConflict if the id exists.
	CreateServiceAccount(ctx context.Context, a *ServiceAccount) error
	// GetServiceAccount returns the account or ErrNotFound.
	GetServiceAccount(ctx context.Context, id string) (*ServiceAccount, error)
	// PageServiceAccounts returns a page of accounts by id and the next cursor.
	PageServiceAccounts(ctx context.Context, p Page) ([]ServiceAccount, string, error)
	// AllServiceAccounts returns every account, for loading into memory.
	AllServiceAccounts(ctx context.Context) ([]ServiceAccount, error)
	// UpdateServiceAccount replaces description, owner, roles and disabled
	// if a.Version matches (see Versions); ErrNotFound if missing.
	UpdateServiceAccount(ctx context.Context, a *ServiceAccount) error
	// DeleteServiceAccount deletes it and its tokens if ifVersion matches;
	// ErrNotFound if missing.
	DeleteServiceAccount(ctx context.Context, id string, ifVersion int64) error

	// CreateServiceAccountToken stores t; ErrNotFound if its account does not exist.
	CreateServiceAccountToken(ctx context.Context, t *ServiceAccountToken) error
	// GetServiceAccountToken returns the token or ErrNotFound.
	GetServiceAccountToken(ctx context.Context, id string) (*ServiceAccountToken, error)
	// ListServiceAccountTokens returns an account's tokens, newest first.
	ListServiceAccountTokens(ctx context.Context, accountID string) ([]ServiceAccountToken, error)
	// AllServiceAccountTokens returns every unrevoked, unexpired token, for loading into memory.
	AllServiceAccountTokens(ctx context.Context, now time.Time) ([]ServiceAccountToken, error)
	// RevokeServiceAccountToken sets RevokedAt (keeping the first time) and
	// returns the token; ErrNotFound if missing.
	RevokeServiceAccountToken(ctx context.Context, id string, at time.Time) (*ServiceAccountToken, error)
	// RotateServiceAccountToken stores next and makes the token it replaces
	// (next.RotatedFrom) expire at oldExpiresAt if that is sooner, in one
	// transaction; ErrNotFound if the old token is missing or revoked.
	RotateServiceAccountToken(ctx context.Context, next *ServiceAccountToken, oldExpiresAt time.Time) error
	// TouchServiceAccountTokens records last-use times (a later time wins).
	TouchServiceAccountTokens(ctx context.Context, used map[string]time.Time) error

	// CreateRoleBinding stores b; ErrConflict if the same binding exists.
	CreateRoleBinding(ctx context.Context, b *RoleBinding) error
	// PageRoleBindings returns a page of bindings by id and the next cursor.
	PageRoleBindings(ctx context.Context, p Page) ([]RoleBinding, string, error)
	// AllRoleBindings returns every binding, for loading into memory.
	AllRoleBindings(ctx context.Context) ([]RoleBinding, error)
	// DeleteRoleBinding deletes it; ErrNotFound if missing.
	DeleteRoleBinding(ctx context.Context, id string) error
}

// KeyCreators tells who created keys, revoked ones included (usage by key
// creator is derived from usage by key: a key's creator never changes).
type KeyCreators interface {
	// KeyCreators returns the CreatedBy of each key of ids that has one.
	KeyCreators(ctx context.Context, ids []string) (map[string]string, error)
}

// SealedValue is a sealed secret stored in a column of its own (a
// provider's credential, an alert webhook's URL), as the master-key
// rotation sees it.
type SealedValue struct {
	// Kind names the column, e.g. "provider_credential".
	Kind string
	// ID is the row's id.
	ID string
	// Sealed is the sealed value.
	Sealed []byte
}

// Keyring stores what the master-key rotation needs: the sealing key's id
// and the sealed values, which it rewrites one by one.
type Keyring interface {
	// PrimaryKeyID returns the id recorded by the last rotation, "" if none.
	PrimaryKeyID(ctx context.Context) (string, error)
	// SetPrimaryKeyID records id and notifies every replica (ChangeMasterKey).
	SetPrimaryKeyID(ctx context.Context, id string) error
	// SealedValues returns every sealed value stored in a column of its
	// own (values inside documents, such as guardrail webhook secrets, are
	// their owners' to enumerate).
	SealedValues(ctx context.Context) ([]SealedValue, error)
	// ReplaceSealed replaces a sealed value if it is still v.Sealed, and
	// reports whether it was.
	ReplaceSealed(ctx context.Context, v SealedValue, sealed []byte) (bool, error)
	// NotifyCredentials asks every replica to re-read the credential
	// reference of provider id ("*": all of them).
	NotifyCredentials(ctx context.Context, id string) error
}
