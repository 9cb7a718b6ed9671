// Package storecopy copies everything a gateway keeps from one store to
// another: from the embedded store of a single process to PostgreSQL, when
// a gateway outgrows one machine (`tollgate store copy`).
//
// It copies through the stores' own interfaces, in dependency order:
// providers (credentials stay sealed: the target gateway needs the same
// master key), models, routes, teams, virtual keys (as hashes, with their
// rotation grace and revocation), budgets, rate limits, guardrail
// policies, alert webhooks and the alerts that fired, each budget's spend
// in every period, service accounts with their tokens (as hashes) and role
// bindings, the master key chosen by the last rotation, request records,
// the admin audit log (actors included) and, optionally, the response
// cache's live entries. Dead letters stay in the source. Then it counts both sides and checks
// that usage totals per team and every budget's spend are equal.
//
// Records, audit events, spend and cache entries keep their times;
// configuration entities get new creation times and versions (etags) in
// the target, and keys keep their order (they are created oldest first).
// The target must be empty: a copy that failed halfway is started again
// on an emptied database.
package storecopy

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tollgate-dev/tollgate/semcache"
	"github.com/tollgate-dev/tollgate/service/store"
	"github.com/tollgate-dev/tollgate/service/store/sqlitestore"
)

// Target is a store to copy into.
type Target interface {
	store.Store
	store.Alerts
	store.AlertWebhooks
	store.AuditLog
	store.Principals
	store.Keyring
	store.ManagedResources
}

// Source is a store to copy from: the embedded store, which can also list
// its counters and fired alerts.
type Source interface {
	Target
	ListCounters(ctx context.Context, prefix string) ([]sqlitestore.Counter, error)
	ListAlertClaims(ctx context.Context) ([]sqlitestore.AlertClaim, error)
}

var _ Source = (*sqlitestore.Store)(nil)

// ErrNotEmpty means the target already holds data.
var ErrNotEmpty = errors.New("the target is not empty")

// ErrMismatch means the target does not hold what the source does after
// the copy.
var ErrMismatch = errors.New("the copy does not match the source")

// Options adjust Copy.
type Options struct {
	// Cache copies the response cache's live entries from CacheFrom to
	// CacheTo.
	CacheFrom, CacheTo semcache.Store
	// BatchSize is the number of records per insert (default 1000).
	BatchSize int
	// Progress, if set, is told of each step as it starts.
	Progress func(step string)
	// Now is the time that decides which cache entries are live (default
	// time.Now).
	Now func() time.Time
}

// Count is what one kind of data numbers in each store after the copy.
type Count struct {
	Kind           string
	Source, Target int64
}

// Report says what was copied and what was checked.
type Report struct {
	Counts []Count
	// Teams is the number of teams whose usage totals were compared;
	// Budgets the number of budget periods whose spend was compared.
	Teams, Budgets int
	// CacheVectors is how many copied cache entries kept their embedding.
	CacheVectors int64
}

// Copy copies everything from src into dst, which must be empty, and
// verifies the result (see the package documentation). It returns
// ErrNotEmpty before writing anything when dst holds data, and ErrMismatch
// when a count or total differs after the copy.
func Copy(ctx context.Context, src Source, dst Target, o Options) (*Report, error) {
	if o.BatchSize <= 0 {
		o.BatchSize = 1000
	}
	if o.Progress == nil {
		o.Progress = func(string) {}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if n, err := inventory(ctx, dst); err != nil {
		return nil, fmt.Errorf("storecopy: read the target: %w", err)
	} else if total(n) > 0 {
		return nil, fmt.Errorf("storecopy: %w: %s", ErrNotEmpty, describe(n))
	}
	c := &copier{src: src, dst: dst, o: o, rep: &Report{}}
	steps := []struct {
		name string
		run  func(ctx context.Context) error
	}{
		{"providers", c.providers},
		{"models", c.models},
		{"routes", c.routes},
		{"teams", c.teams},
		{"keys", c.keys},
		{"budgets", c.budgets},
		{"rate limits", c.rateLimits},
		{"guardrail policies", c.guardrails},
		{"alert webhooks", c.webhooks},
		{"managed-by marks", c.managed},
		{"fired alerts", c.alertClaims},
		{"budget spend", c.spend},
		{"service accounts", c.serviceAccounts},
		{"role bindings", c.roleBindings},
		{"master key", c.masterKey},
		{"records", c.records},
		{"audit events", c.audit},
	}
	if o.CacheFrom != nil && o.CacheTo != nil {
		steps = append(steps, struct {
			name string
			run  func(ctx context.Context) error
		}{"cache entries", c.cacheEntries})
	}
	for _, st := range steps {
		o.Progress(st.name)
		if err := st.run(ctx); err != nil {
			return c.rep, fmt.Errorf("storecopy: %s: %w", st.name, err)
		}
	}
	o.Progress("verify")
	if err := c.verify(ctx); err != nil {
		return c.rep, fmt.Errorf("storecopy: %w", err)
	}
	return c.rep, nil
}

// copier holds one copy's state.
type copier struct {
	src     Source
	dst     Target
	o       Options
	rep     *Report
	entries struct{ src, dst int64 } // live cache entries
}

func (c *copier) providers(ctx context.Context) error {
	ps, err := c.src.ListProviders(ctx)
	if err != nil {
		return err
	}
	for _, p := range ps {
		p := store.Provider{ID: p.ID, Type: p.Type, BaseURL: p.BaseURL, Settings: p.Settings, SealedCredential: p.SealedCredential,
			CredentialRef: p.CredentialRef}
		if err := c.dst.CreateProvider(ctx, &p); err != nil {
			return err
		}
	}
	return nil
}

func (c *copier) models(ctx context.Context) error {
	ms, err := c.src.ListModels(ctx)
	if err != nil {
		return err
	}
	for _, m := range ms {
		m.CreatedAt, m.UpdatedAt, m.Version = time.Time{}, time.Time{}, 0
		if err := c.dst.CreateModel(ctx, &m); err != nil {
			return err
		}
	}
	return nil
}

func (c *copier) routes(ctx context.Context) error {
	rs, err := c.src.ListRoutes(ctx)
	if err != nil {
		return err
	}
	for _, r := range rs {
		r := store.Route{Name: r.Name, Strategy: r.Strategy, Spec: r.Spec}
		if err := c.dst.CreateRoute(ctx, &r); err != nil {
			return err
		}
	}
	return nil
}

func (c *copier) teams(ctx context.Context) error {
	ts, err := c.src.ListTeams(ctx)
	if err != nil {
		return err
	}
	for _, t := range ts {
		t := store.Team{ID: t.ID, DisplayName: t.DisplayName, Labels: t.Labels}
		if err := c.dst.CreateTeam(ctx, &t); err != nil {
			return err
		}
	}
	return nil
}

// allKeys returns every key of s, revoked ones included, oldest first.
func allKeys(ctx context.Context, s store.Keys) ([]store.Key, error) {
	var out []store.Key
	f := store.KeyFilter{IncludeRevoked: true, Limit: 1000}
	for {
		ks, next, err := s.ListKeys(ctx, f)
		if err != nil {
			return nil, err
		}
		out = append(out, ks...)
		if next == "" {
			break
		}
		f.After = next
	}
	slices.Reverse(out)
	return out, nil
}

// keys recreates every key with its current secret hash: a key rotated
// with a grace period is created with its previous hash and rotated to
// its current one, so both stay valid until the same time; revoked keys
// are revoked at their time.
func (c *copier) keys(ctx context.Context) error {
	ks, err := allKeys(ctx, c.src)
	if err != nil {
		return err
	}
	for _, k := range ks {
		nk := store.Key{
			ID: k.ID, Name: k.Name, TeamID: k.TeamID, ServiceID: k.ServiceID, AllowedModels: k.AllowedModels,
			Tags: k.Tags, ExpiresAt: k.ExpiresAt, SecretHash: k.SecretHash, SecretPrefix: k.SecretPrefix,
			CachePolicy: k.CachePolicy, DropParams: k.DropParams, CreatedBy: k.CreatedBy,
		}
		grace := len(k.PrevSecretHash) > 0
		if grace {
			nk.SecretHash = k.PrevSecretHash
		}
		if err := c.dst.CreateKey(ctx, &nk); err != nil {
			return err
		}
		if !k.RotatedAt.IsZero() {
			until := time.Time{}
			if grace {
				until = k.PrevSecretExpiresAt
			}
			if _, err := c.dst.RotateKey(ctx, k.ID, k.SecretHash, k.SecretPrefix, k.RotatedAt, until); err != nil {
				return err
			}
		}
		if !k.RevokedAt.IsZero() {
			if _, err := c.dst.RevokeKey(ctx, k.ID, k.RevokedAt); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *copier) budgets(ctx context.Context) error {
	bs, err := c.src.ListBudgets(ctx, "")
	if err != nil {
		return err
	}
	for _, b := range bs {
		b.CreatedAt, b.UpdatedAt, b.Version = time.Time{}, time.Time{}, 0
		if err := c.dst.PutBudget(ctx, &b); err != nil {
			return err
		}
	}
	return nil
}

func (c *copier) rateLimits(ctx context.Context) error {
	ls, err := c.src.ListRateLimits(ctx, "")
	if err != nil {
		return err
	}
	for _, l := range ls {
		l.CreatedAt, l.UpdatedAt, l.Version = time.Time{}, time.Time{}, 0
		if err := c.dst.PutRateLimit(ctx, &l); err != nil {
			return err
		}
	}
	return nil
}

func (c *copier) guardrails(ctx context.Context) error {
	ps, err := c.src.ListGuardrailPolicies(ctx)
	if err != nil {
		return err
	}
	for _, p := range ps {
		p := store.GuardrailPolicy{ID: p.ID, Description: p.Description, AttachKind: p.AttachKind, AttachTo: p.AttachTo, Spec: p.Spec}
		if err := c.dst.CreateGuardrailPolicy(ctx, &p); err != nil {
			return err
		}
	}
	return nil
}

func (c *copier) webhooks(ctx context.Context) error {
	ws, err := c.src.ListAlertWebhooks(ctx)
	if err != nil {
		return err
	}
	for _, w := range ws {
		w.CreatedAt, w.Version = time.Time{}, 0
		if err := c.dst.CreateAlertWebhook(ctx, &w); err != nil {
			return err
		}
	}
	return nil
}

func (c *copier) managed(ctx context.Context) error {
	ms, err := c.src.ListManaged(ctx)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if err := c.dst.MarkManaged(ctx, m.Kind, m.Name, m.Manager); err != nil {
			return err
		}
	}
	return nil
}

func (c *copier) alertClaims(ctx context.Context) error {
	cs, err := c.src.ListAlertClaims(ctx)
	if err != nil {
		return err
	}
	for _, a := range cs {
		if _, err := c.dst.ClaimAlert(ctx, a.Subject, a.PeriodStart, a.Threshold); err != nil {
			return err
		}
	}
	return nil
}

// copyHolder is the lease holder the copy reports spend as.
const copyHolder = "tollgate-store-copy"

// spend reports each budget period's spend to the target's counter, as a
// gateway reports what it spent from a lease. Rate windows and
// concurrency slots are not copied: they last a minute at most.
func (c *copier) spend(ctx context.Context) error {
	cs, err := c.src.ListCounters(ctx, "budget:")
	if err != nil {
		return err
	}
	for _, ctr := range cs {
		if ctr.Used == (store.Amount{}) {
			continue
		}
		if _, err := c.dst.LeaseCounter(ctx, store.LeaseRequest{
			Counter: ctr.Counter, Window: ctr.Window, Holder: copyHolder, Used: ctr.Used, TTL: time.Second,
		}); err != nil {
			return err
		}
	}
	return nil
}

// serviceAccounts recreates every service account and its tokens (their
// hashes, expiry, revocation and last use).
func (c *copier) serviceAccounts(ctx context.Context) error {
	as, err := c.src.AllServiceAccounts(ctx)
	if err != nil {
		return err
	}
	for _, a := range as {
		na := store.ServiceAccount{ID: a.ID, Description: a.Description, Owner: a.Owner, Roles: a.Roles,
			Disabled: a.Disabled, CreatedBy: a.CreatedBy}
		if err := c.dst.CreateServiceAccount(ctx, &na); err != nil {
			return err
		}
		ts, err := c.src.ListServiceAccountTokens(ctx, a.ID)
		if err != nil {
			return err
		}
		slices.Reverse(ts) // oldest first
		used := map[string]time.Time{}
		for _, t := range ts {
			nt := store.ServiceAccountToken{ID: t.ID, ServiceAccountID: t.ServiceAccountID, Name: t.Name,
				SecretHash: t.SecretHash, SecretPrefix: t.SecretPrefix, ExpiresAt: t.ExpiresAt,
				RotatedFrom: t.RotatedFrom, CreatedBy: t.CreatedBy}
			if err := c.dst.CreateServiceAccountToken(ctx, &nt); err != nil {
				return err
			}
			if !t.RevokedAt.IsZero() {
				if _, err := c.dst.RevokeServiceAccountToken(ctx, t.ID, t.RevokedAt); err != nil {
					return err
				}
			}
			if !t.LastUsedAt.IsZero() {
				used[t.ID] = t.LastUsedAt
			}
		}
		if err := c.dst.TouchServiceAccountTokens(ctx, used); err != nil {
			return err
		}
	}
	return nil
}

func (c *copier) roleBindings(ctx context.Context) error {
	bs, err := c.src.AllRoleBindings(ctx)
	if err != nil {
		return err
	}
	for _, b := range bs {
		nb := store.RoleBinding{ID: b.ID, SubjectKind: b.SubjectKind, Subject: b.Subject, Role: b.Role, CreatedBy: b.CreatedBy}
		if err := c.dst.CreateRoleBinding(ctx, &nb); err != nil {
			return err
		}
	}
	return nil
}

// masterKey records the sealing key chosen by the last master-key
// rotation, if any, so that the target's replicas seal with it too.
func (c *copier) masterKey(ctx context.Context) error {
	id, err := c.src.PrimaryKeyID(ctx)
	if err != nil || id == "" {
		return err
	}
	return c.dst.SetPrimaryKeyID(ctx, id)
}

// records copies the records as the lines of one new log segment, in
// batches.
func (c *copier) records(ctx context.Context) error {
	var seg store.SegmentID
	if _, err := rand.Read(seg[:]); err != nil {
		return err
	}
	batch := make([]store.Record, 0, c.o.BatchSize)
	line := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := c.dst.InsertRecords(ctx, store.RecordBatch{Segment: seg, First: line, Records: batch})
		line += len(batch)
		batch = batch[:0]
		return err
	}
	err := c.src.ExportRecords(ctx, store.RecordFilter{}, func(r *store.Record) error {
		batch = append(batch, *r)
		if len(batch) == c.o.BatchSize {
			return flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}

// allAuditEvents returns every audit event of s, oldest first.
func allAuditEvents(ctx context.Context, s store.AuditLog) ([]store.AuditEvent, error) {
	var out []store.AuditEvent
	f := store.AuditFilter{Limit: 1000}
	for {
		es, next, err := s.ListAuditEvents(ctx, f)
		if err != nil {
			return nil, err
		}
		out = append(out, es...)
		if next == "" {
			break
		}
		f.After = next
	}
	slices.Reverse(out)
	return out, nil
}

func (c *copier) audit(ctx context.Context) error {
	es, err := allAuditEvents(ctx, c.src)
	if err != nil {
		return err
	}
	for _, e := range es {
		e.ID = 0
		if err := c.dst.AppendAuditEvent(ctx, &e); err != nil {
			return err
		}
	}
	return nil
}

// liveEntries counts the cache entries of st live at now.
func liveEntries(ctx context.Context, st semcache.Store, now time.Time) (int64, error) {
	c, err := semcache.Open(st, semcache.WithClock(func() time.Time { return now }))
	if err != nil {
		return 0, err
	}
	s, err := c.Stats(ctx, "")
	return s.Entries, err
}

func (c *copier) cacheEntries(ctx context.Context) error {
	now := c.o.Now()
	copied, vectors, err := semcache.CopyEntries(ctx, c.o.CacheFrom, c.o.CacheTo, now)
	if err != nil {
		return err
	}
	c.rep.CacheVectors = vectors
	if c.entries.src, err = liveEntries(ctx, c.o.CacheFrom, now); err != nil {
		return err
	}
	if c.entries.dst, err = liveEntries(ctx, c.o.CacheTo, now); err != nil {
		return err
	}
	if copied != c.entries.src {
		return fmt.Errorf("%w: %d cache entries copied of %d", ErrMismatch, copied, c.entries.src)
	}
	return nil
}
