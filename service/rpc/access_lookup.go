package rpc

import (
	"context"
	"errors"
	"slices"

	"github.com/tollgate-dev/tollgate/service/access"
	"github.com/tollgate-dev/tollgate/service/store"
)

// StoreLookup finds resources' teams in the store for the access guard.
// The guard asks only about calls of team-limited principals
// (team-admins), so ordinary admin calls never pay for it.
type StoreLookup struct{ Store store.Store }

var _ access.Lookup = StoreLookup{}

func found(err error) (bool, error) {
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// KeyTeam implements access.Lookup.
func (l StoreLookup) KeyTeam(ctx context.Context, id string) (string, bool, error) {
	k, err := l.Store.GetKey(ctx, id)
	ok, err := found(err)
	if !ok {
		return "", false, err
	}
	return k.TeamID, true, nil
}

// BudgetTeam implements access.Lookup: a key budget belongs to its key's team.
func (l StoreLookup) BudgetTeam(ctx context.Context, id string) (string, bool, error) {
	b, err := l.Store.GetBudget(ctx, id)
	ok, err := found(err)
	if !ok {
		return "", false, err
	}
	if b.TeamID == "" && b.KeyID != "" {
		return l.KeyTeam(ctx, b.KeyID)
	}
	return b.TeamID, true, nil
}

// RateLimitTeam implements access.Lookup: a key limit belongs to its key's team.
func (l StoreLookup) RateLimitTeam(ctx context.Context, id string) (string, bool, error) {
	r, err := l.Store.GetRateLimit(ctx, id)
	ok, err := found(err)
	if !ok {
		return "", false, err
	}
	if r.TeamID == "" && r.KeyID != "" {
		return l.KeyTeam(ctx, r.KeyID)
	}
	return r.TeamID, true, nil
}

// narrow keeps the items of the caller's teams when its role covers some
// teams only (a team-admin's list call without a team filter); team
// returns an item's team. A page narrowed this way may be short, or empty
// with a next page, as AIP-158 allows.
func narrow[T any](ctx context.Context, items []T, team func(T) string) []T {
	teams, all := access.TeamScope(ctx)
	if all {
		return items
	}
	return slices.DeleteFunc(items, func(it T) bool { return !slices.Contains(teams, team(it)) })
}

// keyTeamOf returns a function giving the team of a budget or limit that
// names a team or a key (looked up once per key).
func (a *Admin) keyTeamOf(ctx context.Context) func(team, key string) string {
	seen := map[string]string{}
	return func(team, key string) string {
		if team != "" || key == "" {
			return team
		}
		if t, ok := seen[key]; ok {
			return t
		}
		t, _, _ := StoreLookup{a.store}.KeyTeam(ctx, key)
		seen[key] = t
		return t
	}
}
