package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tollgate-dev/tollgate/service/access"
	"github.com/tollgate-dev/tollgate/service/store"
)

// TokenPrefix starts every service-account token, so that leaked tokens
// are recognisable by secret scanners (virtual keys start with "tg-").
const TokenPrefix = "tga-"

var encoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Secret is a freshly minted service-account token.
type Secret struct {
	// Plain is the token to hand out once. Never store or log it.
	Plain string
	// Hash is SHA-256 of Plain, the only form stored.
	Hash [32]byte
	// Prefix is the start of Plain, for recognising it in lists.
	Prefix string
}

// NewSecret mints a token with 256 bits of entropy.
func NewSecret() (Secret, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return Secret{}, fmt.Errorf("identity: random: %w", err)
	}
	plain := TokenPrefix + encoding.EncodeToString(b[:])
	return Secret{Plain: plain, Hash: sha256.Sum256([]byte(plain)), Prefix: plain[:len(TokenPrefix)+6]}, nil
}

// NewID returns a random id with a prefix, e.g. "sat_k3m9x2b7q4tz8w5n".
func NewID(prefix string) (string, error) {
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("identity: random: %w", err)
	}
	return prefix + "_" + encoding.EncodeToString(b[:]), nil
}

// account is a service account as the request path sees it.
type account struct {
	store.ServiceAccount
	roles []access.Role
}

// snapshot is the in-memory directory; readers take no lock.
type snapshot struct {
	accounts map[string]*account
	tokens   map[[32]byte]*store.ServiceAccountToken
	// bindings by subject kind ("user", "email", "group") and subject.
	bindings map[string]map[string][]access.Role
	// owners counts the principals holding the owner role (other than the
	// admin token): enabled accounts with a live token, and bindings.
	owners int
}

// Directory holds service accounts, their tokens and role bindings in
// memory. It is safe for concurrent use.
type Directory struct {
	src  store.Principals
	log  *slog.Logger
	now  func() time.Time
	snap atomic.Pointer[snapshot]
	mu   sync.Mutex // serialises loads

	usedMu sync.Mutex
	used   map[string]time.Time // token id → last use, not yet written
}

// NewDirectory returns an empty directory over src; call Load.
func NewDirectory(src store.Principals, log *slog.Logger, now func() time.Time) *Directory {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	d := &Directory{src: src, log: log, now: now, used: map[string]time.Time{}}
	d.snap.Store(&snapshot{accounts: map[string]*account{}, tokens: map[[32]byte]*store.ServiceAccountToken{}, bindings: map[string]map[string][]access.Role{}})
	return d
}

// Load replaces the directory with the store's state.
func (d *Directory) Load(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	as, err := d.src.AllServiceAccounts(ctx)
	if err != nil {
		return fmt.Errorf("load service accounts: %w", err)
	}
	ts, err := d.src.AllServiceAccountTokens(ctx, d.now())
	if err != nil {
		return fmt.Errorf("load service account tokens: %w", err)
	}
	bs, err := d.src.AllRoleBindings(ctx)
	if err != nil {
		return fmt.Errorf("load role bindings: %w", err)
	}
	s := &snapshot{accounts: make(map[string]*account, len(as)), tokens: make(map[[32]byte]*store.ServiceAccountToken, len(ts)),
		bindings: map[string]map[string][]access.Role{}}
	for _, a := range as {
		roles, err := access.ParseRoles(a.Roles)
		if err != nil {
			d.log.Error("identity: service account has an unknown role; it gets none", "service_account", a.ID, "err", err)
			roles = nil
		}
		s.accounts[a.ID] = &account{ServiceAccount: a, roles: roles}
	}
	live := map[string]bool{}
	for i := range ts {
		var h [32]byte
		copy(h[:], ts[i].SecretHash)
		s.tokens[h] = &ts[i]
		live[ts[i].ServiceAccountID] = true
	}
	for _, a := range s.accounts {
		if !a.Disabled && live[a.ID] && hasRole(a.roles, access.RoleOwner) {
			s.owners++
		}
	}
	for _, b := range bs {
		r, err := access.ParseRole(b.Role)
		if err != nil {
			d.log.Error("identity: role binding has an unknown role; ignored", "role_binding", b.ID, "err", err)
			continue
		}
		subj := b.Subject
		if b.SubjectKind == "email" {
			subj = strings.ToLower(subj)
		}
		if s.bindings[b.SubjectKind] == nil {
			s.bindings[b.SubjectKind] = map[string][]access.Role{}
		}
		s.bindings[b.SubjectKind][subj] = append(s.bindings[b.SubjectKind][subj], r)
		if r.Name == access.RoleOwner {
			s.owners++
		}
	}
	d.snap.Store(s)
	d.log.Debug("identity: directory loaded", "service_accounts", len(as), "tokens", len(ts), "role_bindings", len(bs))
	return nil
}

func hasRole(rs []access.Role, name access.RoleName) bool {
	for _, r := range rs {
		if r.Name == name {
			return true
		}
	}
	return false
}

// Apply follows a change notification (or a local write): any change of a
// principal reloads the directory, which is small.
func (d *Directory) Apply(ctx context.Context, c store.Change) error {
	switch c.Kind {
	case store.ChangeResync, store.ChangeServiceAccount, store.ChangeServiceAccountToken, store.ChangeRoleBinding:
		return d.Load(ctx)
	}
	return nil
}

// lookup returns the token with hash h and its account.
func (d *Directory) lookup(h [32]byte) (*store.ServiceAccountToken, *account, bool) {
	s := d.snap.Load()
	t, ok := s.tokens[h]
	if !ok {
		return nil, nil, false
	}
	return t, s.accounts[t.ServiceAccountID], true
}

// bound returns the roles bound to a user by sub, verified e-mail and groups.
func (d *Directory) bound(sub, email string, groups []string) []access.Role {
	s := d.snap.Load()
	out := append([]access.Role(nil), s.bindings["user"][sub]...)
	if email != "" {
		out = append(out, s.bindings["email"][strings.ToLower(email)]...)
	}
	for _, g := range groups {
		out = append(out, s.bindings["group"][g]...)
	}
	return out
}

// ownerExists reports whether a principal other than the admin token holds
// the owner role.
func (d *Directory) ownerExists() bool { return d.snap.Load().owners > 0 }

// touch notes that a token was used.
func (d *Directory) touch(id string, at time.Time) {
	d.usedMu.Lock()
	if at.After(d.used[id]) {
		d.used[id] = at
	}
	d.usedMu.Unlock()
}

// Flush writes the noted last-use times. On failure they are kept for the
// next flush.
func (d *Directory) Flush(ctx context.Context) error {
	d.usedMu.Lock()
	batch := d.used
	d.used = map[string]time.Time{}
	d.usedMu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	if err := d.src.TouchServiceAccountTokens(ctx, batch); err != nil {
		d.usedMu.Lock()
		for id, at := range batch {
			d.touchLocked(id, at)
		}
		d.usedMu.Unlock()
		return err
	}
	return nil
}

func (d *Directory) touchLocked(id string, at time.Time) {
	if at.After(d.used[id]) {
		d.used[id] = at
	}
}

// Run writes last-use times every interval until ctx is done, and once
// more when it is.
func (d *Directory) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if err := d.Flush(fctx); err != nil {
				d.log.Warn("identity: writing token last-use times at shutdown failed", "err", err)
			}
			cancel()
			return
		case <-t.C:
			if err := d.Flush(ctx); err != nil && ctx.Err() == nil {
				d.log.Warn("identity: writing token last-use times failed; retrying later", "err", err)
			}
		}
	}
}
