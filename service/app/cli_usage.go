package app

import (
	"context"
	"flag"
	"strings"
	"text/tabwriter"
	"time"

	"connectrpc.com/connect"
	gmoney "google.golang.org/genproto/googleapis/type/money"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	tollgate "github.com/tollgate-dev/tollgate/clients/go"
	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/internal/money"
)

// usageReportCmd is `usage report`: the GetUsageSummary request (embedded,
// so it is the proto.Message sent) and what the table needs beyond it.
type usageReportCmd struct {
	*tollgatev1.GetUsageSummaryRequest
	// headers name the grouped dimensions, in --by order.
	headers []string
	// tagKey is KEY of --by tag:KEY ("" for none); tagAt is the position
	// of the tag dimension in GroupBy.
	tagKey string
	tagAt  int
}

// dimensionHeaders are the column names of the dimensions.
var dimensionHeaders = map[tollgatev1.UsageDimension]string{
	tollgatev1.UsageDimension_USAGE_DIMENSION_TEAM:        "TEAM",
	tollgatev1.UsageDimension_USAGE_DIMENSION_SERVICE:     "SERVICE",
	tollgatev1.UsageDimension_USAGE_DIMENSION_KEY:         "KEY",
	tollgatev1.UsageDimension_USAGE_DIMENSION_MODEL:       "MODEL",
	tollgatev1.UsageDimension_USAGE_DIMENSION_PROVIDER:    "PROVIDER",
	tollgatev1.UsageDimension_USAGE_DIMENSION_END_USER:    "END USER",
	tollgatev1.UsageDimension_USAGE_DIMENSION_TAG:         "TAG",
	tollgatev1.UsageDimension_USAGE_DIMENSION_GUARDRAIL:   "GUARDRAIL",
	tollgatev1.UsageDimension_USAGE_DIMENSION_KEY_CREATOR: "KEY CREATOR",
}

// noTag is the group of records without the --by tag:KEY tag.
const noTag = "(none)"

func usageReport(fs *flag.FlagSet, now time.Time) func([]string) (proto.Message, error) {
	var by listFlag
	var since, until, team string
	fs.Var(&by, "by", "dimensions to group by, comma-separated: team, service, key, model, provider, end_user, key_creator, tag, tag:KEY, guardrail (default: one total)")
	fs.StringVar(&since, "since", "24h", "start of the range, as a duration before now (e.g. 30d)")
	fs.StringVar(&until, "until", "", "end of the range, as a duration before now (default now)")
	fs.StringVar(&team, "team", "", "only this team's usage")
	return func(ops []string) (proto.Message, error) {
		if len(ops) != 0 {
			return nil, usageErrorf("unexpected arguments %q", ops)
		}
		cmd := &usageReportCmd{GetUsageSummaryRequest: &tollgatev1.GetUsageSummaryRequest{TeamId: team}, tagAt: -1}
		req := cmd.GetUsageSummaryRequest
		for _, b := range by {
			name, tagKey, isTagKey := strings.Cut(b, ":")
			if isTagKey && (strings.ToLower(name) != "tag" || tagKey == "" || strings.Contains(tagKey, "=")) {
				return nil, usageErrorf("--by %q: want tag:KEY, e.g. tag:project", b)
			}
			d, ok := dimensions[strings.ToLower(name)]
			if !ok {
				return nil, usageErrorf("--by %q: want team, service, key, model, provider, end_user, key_creator, tag, tag:KEY or guardrail", b)
			}
			header := dimensionHeaders[d]
			if d == tollgatev1.UsageDimension_USAGE_DIMENSION_TAG {
				if cmd.tagAt >= 0 {
					return nil, usageErrorf("--by %q: group by one tag dimension at most", b)
				}
				cmd.tagAt, cmd.tagKey = len(req.GroupBy), tagKey
				if isTagKey {
					header = "TAG " + tagKey
				}
			}
			req.GroupBy = append(req.GroupBy, d)
			cmd.headers = append(cmd.headers, header)
		}
		s, err := parseDays(since)
		if err != nil || s <= 0 {
			return nil, usageErrorf("--since %q: want a positive duration such as 30d or 12h", since)
		}
		req.StartTime = timestamppb.New(now.Add(-s))
		if until != "" {
			u, err := parseDays(until)
			if err != nil || u < 0 || u >= s {
				return nil, usageErrorf("--until %q: want a duration shorter than --since", until)
			}
			req.EndTime = timestamppb.New(now.Add(-u))
		}
		return cmd, nil
	}
}

// runUsageReport asks for the summary (twice for --by tag:KEY, see
// byTagKey) and prints it.
func (c *cli) runUsageReport(ctx context.Context, client *tollgate.Client, cmd *usageReportCmd, output string) error {
	resp, err := client.Usage.GetUsageSummary(ctx, connect.NewRequest(cmd.GetUsageSummaryRequest))
	if err != nil {
		return describeRPCError(err)
	}
	sum := resp.Msg
	if cmd.tagKey != "" {
		rest := proto.Clone(cmd.GetUsageSummaryRequest).(*tollgatev1.GetUsageSummaryRequest)
		rest.GroupBy = append(rest.GroupBy[:cmd.tagAt:cmd.tagAt], rest.GroupBy[cmd.tagAt+1:]...)
		others, err := client.Usage.GetUsageSummary(ctx, connect.NewRequest(rest))
		if err != nil {
			return describeRPCError(err)
		}
		sum = byTagKey(sum, others.Msg, cmd.tagAt, cmd.tagKey)
	}
	if output != "table" && output != "wide" {
		return writeOutput(c.stdout, sum, output)
	}
	return writeUsageTable(c, sum, cmd.headers)
}

// byTagKey turns a summary grouped by tag (at position at) into one
// grouped by the value of the tag key: groups of other tags are left out,
// and the records without the key form the group "(none)", computed from
// others (the same summary without the tag dimension). A record has at
// most one value per tag key, so the groups do not overlap and add up to
// the total.
func byTagKey(tagged, others *tollgatev1.GetUsageSummaryResponse, at int, key string) *tollgatev1.GetUsageSummaryResponse {
	out := &tollgatev1.GetUsageSummaryResponse{Total: others.GetTotal()}
	rest := map[string]*tollgatev1.UsageGroup{} // other dimensions' keys → what no value of key took
	var order []string
	for _, g := range others.GetGroups() {
		id := strings.Join(g.GetKeys(), "\x00")
		rest[id] = proto.Clone(g).(*tollgatev1.UsageGroup)
		order = append(order, id)
	}
	for _, g := range tagged.GetGroups() {
		keys := g.GetKeys()
		if at >= len(keys) {
			continue
		}
		v, ok := strings.CutPrefix(keys[at], key+"=")
		if !ok {
			continue
		}
		ng := proto.Clone(g).(*tollgatev1.UsageGroup)
		ng.Keys = append(append(append([]string(nil), keys[:at]...), v), keys[at+1:]...)
		out.Groups = append(out.Groups, ng)
		otherKeys := append(append([]string(nil), keys[:at]...), keys[at+1:]...)
		if r := rest[strings.Join(otherKeys, "\x00")]; r != nil {
			subtract(r, g)
		}
	}
	for _, id := range order {
		r := rest[id]
		if r.GetRequests() <= 0 && money.Nanos(r.GetCost()) <= 0 {
			continue
		}
		keys := r.GetKeys()
		r.Keys = append(append(append([]string(nil), keys[:min(at, len(keys))]...), noTag), keys[min(at, len(keys)):]...)
		out.Groups = append(out.Groups, r)
	}
	return out
}

// subtract takes g's counts off r.
func subtract(r, g *tollgatev1.UsageGroup) {
	r.Requests -= g.GetRequests()
	r.Errors -= g.GetErrors()
	r.CacheHits -= g.GetCacheHits()
	if r.Usage == nil {
		r.Usage = &tollgatev1.Usage{}
	}
	u := g.GetUsage()
	r.Usage.InputTokens -= u.GetInputTokens()
	r.Usage.OutputTokens -= u.GetOutputTokens()
	r.Usage.CachedInputTokens -= u.GetCachedInputTokens()
	r.Usage.CacheWriteTokens -= u.GetCacheWriteTokens()
	r.Usage.ReasoningTokens -= u.GetReasoningTokens()
	r.Usage.TotalTokens -= u.GetTotalTokens()
	r.Cost = usd(money.Nanos(r.GetCost()) - money.Nanos(g.GetCost()))
	if r.Saved != nil || g.Saved != nil {
		r.Saved = usd(money.Nanos(r.GetSaved()) - money.Nanos(g.GetSaved()))
	}
}

// usd is an amount of nano-USD as google.type.Money (units and nanos of
// one sign).
func usd(n int64) *gmoney.Money {
	return &gmoney.Money{CurrencyCode: "USD", Units: n / money.NanosPerUSD, Nanos: int32(n % money.NanosPerUSD)}
}

// writeUsageTable prints a summary: one column per grouped dimension,
// named for it, the counts, the cost and its share of the total, and a
// total row.
func writeUsageTable(c *cli, r *tollgatev1.GetUsageSummaryResponse, headers []string) error {
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	row := func(cols ...string) { _, _ = tw.Write([]byte(strings.Join(cols, "\t") + "\n")) }
	dims := len(headers)
	head := append([]string(nil), headers...)
	if dims == 0 {
		head = []string{"GROUP"}
	}
	row(append(head, "REQUESTS", "ERRORS", "INPUT TOKENS", "OUTPUT TOKENS", "COST", "% OF COST")...)
	total := money.Nanos(r.GetTotal().GetCost())
	line := func(keys []string, g *tollgatev1.UsageGroup) {
		cols := make([]string, max(dims, 1))
		for i := range cols {
			cols[i] = "-"
			if i < len(keys) && keys[i] != "" {
				cols[i] = keys[i]
			}
		}
		u := g.GetUsage()
		row(append(cols, money.Count(g.GetRequests()), money.Count(g.GetErrors()), money.Count(u.GetInputTokens()),
			money.Count(u.GetOutputTokens()), money.Format(orZero(g.GetCost())), money.Percent(money.Nanos(g.GetCost()), total))...)
	}
	for _, g := range r.GetGroups() {
		line(g.GetKeys(), g)
	}
	line([]string{"TOTAL"}, r.GetTotal())
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, h := range headers {
		if strings.HasPrefix(h, "TAG") && !strings.HasPrefix(h, "TAG ") {
			// A record counts once in each of its tags' groups.
			_, err := c.stderr.Write([]byte("tollgate usage report: a request with several tags counts in each tag's group, so the groups add up to more than the total; --by tag:KEY splits by one key without overlap\n"))
			return err
		}
	}
	return nil
}

func orZero(m *gmoney.Money) *gmoney.Money {
	if m == nil {
		return &gmoney.Money{CurrencyCode: "USD"}
	}
	return m
}
