package storecopy

import (
	"context"
	"fmt"
	"strings"

	"github.com/tollgate-dev/tollgate/service/store"
)

// kinds are the kinds of data inventory counts, in report order.
var kinds = []string{"providers", "models", "routes", "teams", "keys", "budgets", "rate limits",
	"guardrail policies", "alert webhooks", "service accounts", "service account tokens", "role bindings", "records", "audit events"}

// inventory counts what st holds of each kind.
func inventory(ctx context.Context, st Target) (map[string]int64, error) {
	n := map[string]int64{}
	count := func(kind string, l int, err error) error {
		n[kind] = int64(l)
		return err
	}
	ps, err := st.ListProviders(ctx)
	if err := count("providers", len(ps), err); err != nil {
		return nil, err
	}
	ms, err := st.ListModels(ctx)
	if err := count("models", len(ms), err); err != nil {
		return nil, err
	}
	rs, err := st.ListRoutes(ctx)
	if err := count("routes", len(rs), err); err != nil {
		return nil, err
	}
	ts, err := st.ListTeams(ctx)
	if err := count("teams", len(ts), err); err != nil {
		return nil, err
	}
	ks, err := allKeys(ctx, st)
	if err := count("keys", len(ks), err); err != nil {
		return nil, err
	}
	bs, err := st.ListBudgets(ctx, "")
	if err := count("budgets", len(bs), err); err != nil {
		return nil, err
	}
	ls, err := st.ListRateLimits(ctx, "")
	if err := count("rate limits", len(ls), err); err != nil {
		return nil, err
	}
	gs, err := st.ListGuardrailPolicies(ctx)
	if err := count("guardrail policies", len(gs), err); err != nil {
		return nil, err
	}
	ws, err := st.ListAlertWebhooks(ctx)
	if err := count("alert webhooks", len(ws), err); err != nil {
		return nil, err
	}
	as, err := st.AllServiceAccounts(ctx)
	if err := count("service accounts", len(as), err); err != nil {
		return nil, err
	}
	for _, a := range as {
		ts, err := st.ListServiceAccountTokens(ctx, a.ID)
		if err != nil {
			return nil, err
		}
		n["service account tokens"] += int64(len(ts))
	}
	rbs, err := st.AllRoleBindings(ctx)
	if err := count("role bindings", len(rbs), err); err != nil {
		return nil, err
	}
	totals, err := st.SummarizeUsage(ctx, store.SummaryQuery{})
	if err != nil {
		return nil, err
	}
	for _, g := range totals {
		n["records"] += g.Requests
	}
	es, err := allAuditEvents(ctx, st)
	if err := count("audit events", len(es), err); err != nil {
		return nil, err
	}
	return n, nil
}

func total(n map[string]int64) int64 {
	var t int64
	for _, v := range n {
		t += v
	}
	return t
}

// describe lists the non-zero counts of n.
func describe(n map[string]int64) string {
	var parts []string
	for _, k := range kinds {
		if n[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[k], k))
		}
	}
	return strings.Join(parts, ", ")
}

// verify compares the two stores: every count, usage totals per team, and
// every budget period's spend.
func (c *copier) verify(ctx context.Context) error {
	src, err := inventory(ctx, c.src)
	if err != nil {
		return fmt.Errorf("count the source: %w", err)
	}
	dst, err := inventory(ctx, c.dst)
	if err != nil {
		return fmt.Errorf("count the target: %w", err)
	}
	var bad []string
	for _, k := range kinds {
		c.rep.Counts = append(c.rep.Counts, Count{Kind: k, Source: src[k], Target: dst[k]})
		if src[k] != dst[k] {
			bad = append(bad, fmt.Sprintf("%s: %d in the source, %d in the target", k, src[k], dst[k]))
		}
	}
	if c.o.CacheFrom != nil && c.o.CacheTo != nil {
		c.rep.Counts = append(c.rep.Counts, Count{Kind: "cache entries", Source: c.entries.src, Target: c.entries.dst})
		if c.entries.src != c.entries.dst {
			bad = append(bad, fmt.Sprintf("cache entries: %d in the source, %d in the target", c.entries.src, c.entries.dst))
		}
	}

	byTeam := store.SummaryQuery{GroupBy: []store.Dimension{store.DimTeam}}
	want, err := c.src.SummarizeUsage(ctx, byTeam)
	if err != nil {
		return err
	}
	got, err := c.dst.SummarizeUsage(ctx, byTeam)
	if err != nil {
		return err
	}
	type totals struct{ requests, errors, in, out, cached, cost, hits, saved int64 }
	sum := func(gs []store.UsageGroup) map[string]totals {
		m := map[string]totals{}
		for _, g := range gs {
			m[g.Keys[0]] = totals{g.Requests, g.Errors, g.InputTokens, g.OutputTokens, g.CachedInputTokens, g.CostNanos, g.CacheHits, g.SavedNanos}
		}
		return m
	}
	w, g := sum(want), sum(got)
	for team, t := range w {
		if g[team] != t {
			bad = append(bad, fmt.Sprintf("usage of team %q: %+v in the source, %+v in the target", team, t, g[team]))
		}
	}
	if len(g) != len(w) {
		bad = append(bad, fmt.Sprintf("usage of %d teams in the source, %d in the target", len(w), len(g)))
	}
	c.rep.Teams = len(w)

	counters, err := c.src.ListCounters(ctx, "budget:")
	if err != nil {
		return err
	}
	for _, ctr := range counters {
		st, err := c.dst.ReadCounter(ctx, ctr.Counter, ctr.Window)
		if err != nil {
			return err
		}
		if st.Used != ctr.Used {
			bad = append(bad, fmt.Sprintf("spend of %s in the period from %s: %+v in the source, %+v in the target",
				ctr.Counter, ctr.Window.Format("2006-01-02T15:04Z07:00"), ctr.Used, st.Used))
		}
	}
	c.rep.Budgets = len(counters)
	if len(bad) > 0 {
		return fmt.Errorf("%w:\n  %s", ErrMismatch, strings.Join(bad, "\n  "))
	}
	return nil
}
