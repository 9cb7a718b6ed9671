package app

import (
	"context"
	"flag"
	"strconv"
	"strings"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"
	"sigs.k8s.io/yaml"

	tollgate "github.com/tollgate-dev/tollgate/clients/go"
	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/internal/money"
)

// This file holds the guardrail, cache and request-record commands.

// policyCommands are the guardrail, cache and request-record commands.
var policyCommands = []command{
	{path: "guardrails create", args: "--file POLICY.yaml", short: "Create a guardrail policy from a file (the GuardrailPolicy message as YAML or JSON)",
		example: "tollgate guardrails create --file pii.yaml", build: func(_ *cli, fs *flag.FlagSet) builder { return guardrailFile(fs, false) }},
	{path: "guardrails list", short: "List guardrail policies", example: "tollgate guardrails list",
		build: func(*cli, *flag.FlagSet) builder { return noOperands(&tollgatev1.ListGuardrailPoliciesRequest{}) }},
	{path: "guardrails get", args: "POLICY_ID", short: "Show a guardrail policy", example: "tollgate guardrails get pii -o yaml",
		build: func(_ *cli, fs *flag.FlagSet) builder {
			return idOperand(fs, "POLICY_ID", func(id string) proto.Message { return &tollgatev1.GetGuardrailPolicyRequest{Id: id} })
		}},
	{path: "guardrails update", args: "--file POLICY.yaml", short: "Replace a guardrail policy with the file's",
		example: "tollgate guardrails update --file pii.yaml --etag 7", build: func(_ *cli, fs *flag.FlagSet) builder { return guardrailFile(fs, true) }},
	{path: "guardrails delete", args: "POLICY_ID", short: "Delete a guardrail policy", destructive: true,
		example: "tollgate guardrails delete pii --yes", build: func(_ *cli, fs *flag.FlagSet) builder {
			return deleteCommand(fs, "POLICY_ID", func(id, etag string) proto.Message {
				return &tollgatev1.DeleteGuardrailPolicyRequest{Id: id, Etag: etag}
			})
		}},
	{path: "cache stats", short: "Show the cache's entries, hits and savings", example: "tollgate cache stats --team search",
		build: func(_ *cli, fs *flag.FlagSet) builder {
			var sf cacheScopeFlags
			sf.register(fs)
			return func(ops []string) (proto.Message, error) {
				if len(ops) != 0 {
					return nil, usageErrorf("unexpected arguments %q", ops)
				}
				return &tollgatev1.GetCacheStatsRequest{Scope: sf.scope()}, nil
			}
		}},
	{path: "cache purge", short: "Delete cache entries (of a scope, a model, or older than a duration)", destructive: true,
		example: "tollgate cache purge --team search --model gpt-4o-mini --yes\ntollgate cache purge --older-than 7d --yes",
		build: func(c *cli, fs *flag.FlagSet) builder {
			var sf cacheScopeFlags
			sf.register(fs)
			var model, older string
			fs.StringVar(&model, "model", "", "only this model's entries")
			fs.StringVar(&older, "older-than", "", "only entries older than this, e.g. 7d")
			return func(ops []string) (proto.Message, error) {
				if len(ops) != 0 {
					return nil, usageErrorf("unexpected arguments %q", ops)
				}
				req := &tollgatev1.PurgeCacheRequest{Scope: sf.scope(), Model: model}
				if older != "" {
					d, err := parseDays(older)
					if err != nil || d <= 0 {
						return nil, usageErrorf("--older-than %q: want a positive duration such as 7d or 12h", older)
					}
					req.OlderThan = timestamppb.New(c.now.Add(-d))
				}
				return req, nil
			}
		}},
	{path: "usage records", short: "List request records (newest first; 100 by default)",
		example: "tollgate usage records --team search --since 1h\ntollgate usage records --request-id req_0123 -o yaml",
		build:   func(c *cli, fs *flag.FlagSet) builder { return usageRecords(fs, c) }},
}

// cacheScopeFlags select a cache scope.
type cacheScopeFlags struct{ team, key, shared string }

func (s *cacheScopeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.team, "team", "", "a team's cache")
	fs.StringVar(&s.key, "key", "", "a key's cache")
	fs.StringVar(&s.shared, "shared", "", "a named shared cache")
}

func (s *cacheScopeFlags) scope() *tollgatev1.CacheScope {
	if s.team == "" && s.key == "" && s.shared == "" {
		return nil
	}
	return &tollgatev1.CacheScope{TeamId: s.team, KeyId: s.key, Shared: s.shared}
}

// guardrailFile reads a GuardrailPolicy from --file (YAML or JSON).
func guardrailFile(fs *flag.FlagSet, update bool) func([]string) (proto.Message, error) {
	var file, etag string
	fs.StringVar(&file, "file", "", "the policy: the GuardrailPolicy message as YAML or JSON (required)")
	if update {
		fs.StringVar(&etag, "etag", "", "update only if the policy still has this etag")
	}
	return func(ops []string) (proto.Message, error) {
		if len(ops) != 0 {
			return nil, usageErrorf("unexpected arguments %q (the policy's id is in --file)", ops)
		}
		if file == "" {
			return nil, usageErrorf("--file is required")
		}
		b, err := readCredential(file)
		if err != nil {
			return nil, usageErrorf("--file: %v", err)
		}
		j, err := yaml.YAMLToJSON(b)
		if err != nil {
			return nil, usageErrorf("--file %s: %v", file, err)
		}
		p := &tollgatev1.GuardrailPolicy{}
		if err := protojson.Unmarshal(j, p); err != nil {
			return nil, usageErrorf("--file %s: not a guardrail policy: %v", file, err)
		}
		if p.GetId() == "" {
			return nil, usageErrorf("--file %s: the policy has no id", file)
		}
		if !update {
			return &tollgatev1.CreateGuardrailPolicyRequest{Policy: p}, nil
		}
		if etag != "" {
			p.Etag = etag
		}
		return &tollgatev1.UpdateGuardrailPolicyRequest{Policy: p, UpdateMask: &fieldmaskpb.FieldMask{
			Paths: []string{"description", "attach_kind", "attach_to", "guardrails"},
		}}, nil
	}
}

func usageRecords(fs *flag.FlagSet, c *cli) func([]string) (proto.Message, error) {
	var rng sinceFlag
	rng.register(fs, "24h")
	req := &tollgatev1.ListRequestRecordsRequest{}
	fs.StringVar(&req.TeamId, "team", "", "only this team's requests")
	fs.StringVar(&req.ServiceId, "service", "", "only this service's requests")
	fs.StringVar(&req.KeyId, "key", "", "only this key's requests")
	fs.StringVar(&req.Model, "model", "", "only requests for this model")
	fs.StringVar(&req.EndUser, "end-user", "", "only this end user's requests")
	fs.StringVar(&req.Tag, "tag", "", "only requests with this tag (k=v)")
	fs.StringVar(&req.RequestId, "request-id", "", "only this request")
	return func(ops []string) (proto.Message, error) {
		if len(ops) != 0 {
			return nil, usageErrorf("unexpected arguments %q", ops)
		}
		var err error
		if req.StartTime, req.EndTime, err = rng.times(c.now); err != nil {
			return nil, err
		}
		return req, nil
	}
}

// executePolicy sends the requests of this file's commands.
func executePolicy(ctx context.Context, c *tollgate.Client, req proto.Message) (proto.Message, bool, error) {
	var m proto.Message
	var err error
	switch r := req.(type) {
	case *tollgatev1.CreateGuardrailPolicyRequest:
		m, err = msg(c.Admin.CreateGuardrailPolicy(ctx, connect.NewRequest(r)))
	case *tollgatev1.ListGuardrailPoliciesRequest:
		m, err = msg(c.Admin.ListGuardrailPolicies(ctx, connect.NewRequest(r)))
	case *tollgatev1.GetGuardrailPolicyRequest:
		m, err = msg(c.Admin.GetGuardrailPolicy(ctx, connect.NewRequest(r)))
	case *tollgatev1.UpdateGuardrailPolicyRequest:
		m, err = msg(c.Admin.UpdateGuardrailPolicy(ctx, connect.NewRequest(r)))
	case *tollgatev1.DeleteGuardrailPolicyRequest:
		m, err = msg(c.Admin.DeleteGuardrailPolicy(ctx, connect.NewRequest(r)))
	case *tollgatev1.GetCacheStatsRequest:
		m, err = msg(c.Admin.GetCacheStats(ctx, connect.NewRequest(r)))
	case *tollgatev1.PurgeCacheRequest:
		m, err = msg(c.Admin.PurgeCache(ctx, connect.NewRequest(r)))
	case *tollgatev1.ListRequestRecordsRequest:
		m, err = msg(c.Usage.ListRequestRecords(ctx, connect.NewRequest(r)))
	default:
		return nil, false, nil
	}
	return m, true, err
}

// policyTable prints the responses of this file's commands.
func policyTable(row func(...string), resp proto.Message) bool {
	switch r := resp.(type) {
	case *tollgatev1.CreateGuardrailPolicyResponse:
		guardrailRows(row, r.GetPolicy())
	case *tollgatev1.GetGuardrailPolicyResponse:
		guardrailRows(row, r.GetPolicy())
	case *tollgatev1.UpdateGuardrailPolicyResponse:
		guardrailRows(row, r.GetPolicy())
	case *tollgatev1.ListGuardrailPoliciesResponse:
		guardrailRows(row, r.GetPolicies()...)
	case *tollgatev1.DeleteGuardrailPolicyResponse:
		row("deleted")
	case *tollgatev1.GetCacheStatsResponse:
		row("ENTRIES", strconv.FormatInt(r.GetEntries(), 10))
		row("BYTES", strconv.FormatInt(r.GetBytes(), 10))
		row("HITS (EXACT)", strconv.FormatInt(r.GetHitsExact(), 10))
		row("HITS (SEMANTIC)", strconv.FormatInt(r.GetHitsSemantic(), 10))
		row("MISSES", strconv.FormatInt(r.GetMisses(), 10))
		row("SAVED", money.Format(orZero(r.GetSaved())))
		row("DEFAULT MODE", lowerEnum(r.GetDefaultMode(), "CACHE_MODE_"))
		row("EMBEDDING MODEL", dash(r.GetEmbeddingModel()))
	case *tollgatev1.PurgeCacheResponse:
		row("DELETED", strconv.FormatInt(r.GetDeleted(), 10))
	case *tollgatev1.ListRequestRecordsResponse:
		row("TIME", "REQUEST ID", "TEAM", "KEY", "MODEL", "PROVIDER", "STATUS", "TOKENS IN", "TOKENS OUT", "COST", "CACHE")
		for _, rec := range r.GetRecords() {
			u := rec.GetUsage()
			row(formatTime(rec.GetTime()), rec.GetRequestId(), rec.GetTeamId(), dash(rec.GetKeyId()), dash(rec.GetRequestedModel()),
				dash(rec.GetProvider()), lowerEnum(rec.GetStatus(), "REQUEST_STATUS_"), strconv.FormatInt(u.GetInputTokens(), 10),
				strconv.FormatInt(u.GetOutputTokens(), 10), money.Format(rec.GetCost()), dash(rec.GetCacheStatus()))
		}
	default:
		return false
	}
	return true
}

func guardrailRows(row func(...string), ps ...*tollgatev1.GuardrailPolicy) {
	row("ID", "ATTACHED TO", "GUARDRAILS", "ETAG")
	for _, p := range ps {
		var gs []string
		for _, g := range p.GetGuardrails() {
			gs = append(gs, g.GetName()+"("+g.GetKind()+")")
		}
		at := lowerEnum(p.GetAttachKind(), "GUARDRAIL_ATTACH_KIND_")
		if p.GetAttachTo() != "" {
			at += " " + p.GetAttachTo()
		}
		row(p.GetId(), at, dash(strings.Join(gs, ", ")), p.GetEtag())
	}
}
