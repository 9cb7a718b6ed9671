package rpc

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/gen/tollgate/v1/tollgatev1connect"
	"github.com/tollgate-dev/tollgate/service/access"
	"github.com/tollgate-dev/tollgate/service/gateway"
	"github.com/tollgate-dev/tollgate/service/store"
)

// Usage serves tollgate.v1.UsageService. Admins see every team; a
// team-admin its teams; a virtual key only its own team.
type Usage struct {
	records store.Records
	engine  *gateway.Engine
	log     *slog.Logger
	audit   store.AuditLog    // nil: ListAdminAuditEvents is unavailable
	keys    store.KeyCreators // nil: usage by key creator is unavailable
}

var _ tollgatev1connect.UsageServiceHandler = (*Usage)(nil)

// UsageOption configures a Usage.
type UsageOption func(*Usage)

// WithAuditLog enables ListAdminAuditEvents over audit.
func WithAuditLog(audit store.AuditLog) UsageOption { return func(u *Usage) { u.audit = audit } }

// WithKeyCreators enables usage by key creator (the admin principal that
// created the key) over ks.
func WithKeyCreators(ks store.KeyCreators) UsageOption { return func(u *Usage) { u.keys = ks } }

// NewUsage returns the usage handler. It must be mounted behind the access
// guard, which authenticates callers and confines them to their teams.
func NewUsage(records store.Records, engine *gateway.Engine, log *slog.Logger, opts ...UsageOption) *Usage {
	u := &Usage{records: records, engine: engine, log: log}
	for _, o := range opts {
		o(u)
	}
	return u
}

// scope returns the teams a usage read covers: nil for every team, else
// the requested team or, without one, the teams the caller's role covers
// (the access guard has checked a requested team is one of them).
func (u *Usage) scope(ctx context.Context, requested string) ([]string, error) {
	if _, ok := access.FromContext(ctx); !ok {
		return nil, access.ErrUnauthenticated // not behind the guard: nothing
	}
	teams, all := access.TeamScope(ctx)
	switch {
	case requested != "":
		return []string{requested}, nil
	case all:
		return nil, nil
	case len(teams) == 0:
		return nil, fmt.Errorf("%w: no team to read", access.ErrPermissionDenied)
	}
	return teams, nil
}

// one returns the single team filter of a scope ("" for every team) and
// whether the scope is a single filter.
func one(teams []string) (string, bool) {
	switch len(teams) {
	case 0:
		return "", true
	case 1:
		return teams[0], true
	}
	return "", false
}

func timeRange(start, end *timestamppb.Timestamp) (time.Time, time.Time, error) {
	e := time.Now()
	if end != nil {
		if err := end.CheckValid(); err != nil {
			return time.Time{}, time.Time{}, badParam("end_time", err.Error())
		}
		e = end.AsTime()
	}
	s := e.Add(-24 * time.Hour)
	if start != nil {
		if err := start.CheckValid(); err != nil {
			return time.Time{}, time.Time{}, badParam("start_time", err.Error())
		}
		s = start.AsTime()
	}
	if !s.Before(e) {
		return time.Time{}, time.Time{}, badParam("start_time", "must be before end_time")
	}
	return s, e, nil
}

var statusToProto = map[store.Status]tollgatev1.RequestStatus{
	store.StatusOK:              tollgatev1.RequestStatus_REQUEST_STATUS_OK,
	store.StatusUpstreamError:   tollgatev1.RequestStatus_REQUEST_STATUS_UPSTREAM_ERROR,
	store.StatusUnauthenticated: tollgatev1.RequestStatus_REQUEST_STATUS_UNAUTHENTICATED,
	store.StatusForbidden:       tollgatev1.RequestStatus_REQUEST_STATUS_FORBIDDEN,
	store.StatusInvalid:         tollgatev1.RequestStatus_REQUEST_STATUS_INVALID,
	store.StatusLimited:         tollgatev1.RequestStatus_REQUEST_STATUS_LIMITED,
	store.StatusCanceled:        tollgatev1.RequestStatus_REQUEST_STATUS_CANCELED,
	store.StatusInternalError:   tollgatev1.RequestStatus_REQUEST_STATUS_INTERNAL_ERROR,
}

// statusFilter returns the store status a request filters on
// (StatusUnspecified for no filter).
func statusFilter(s tollgatev1.RequestStatus) (store.Status, error) {
	if s == tollgatev1.RequestStatus_REQUEST_STATUS_UNSPECIFIED {
		return store.StatusUnspecified, nil
	}
	for st, p := range statusToProto {
		if p == s {
			return st, nil
		}
	}
	return 0, badParam("status", "unknown request status")
}

func recordToProto(r *store.Record) *tollgatev1.RequestRecord {
	return &tollgatev1.RequestRecord{
		RequestId: r.RequestID, Time: timestamppb.New(r.Time), KeyId: r.KeyID, TeamId: r.TeamID, ServiceId: r.ServiceID,
		EndUser: r.EndUser, Tags: r.Tags, Surface: r.Surface, Operation: r.Operation, Stream: r.Stream,
		RequestedModel: r.RequestedModel, Provider: r.Provider, Model: r.Model, Status: statusToProto[r.Status],
		ErrorCode: r.ErrorCode,
		Usage: &tollgatev1.Usage{
			InputTokens: r.InputTokens, OutputTokens: r.OutputTokens, CachedInputTokens: r.CachedInputTokens,
			CacheWriteTokens: r.CacheWriteTokens, ReasoningTokens: r.ReasoningTokens,
			TotalTokens: r.InputTokens + r.OutputTokens, Estimated: r.UsageEstimated,
		},
		Cost: moneyToProto(r.CostNanos), Latency: durationToProto(r.Latency), TimeToFirstToken: durationToProto(r.TTFT),
		Attempts: int32(r.Attempts), CacheStatus: r.CacheStatus, Saved: moneyToProto(r.SavedNanos), Partial: r.Partial,
		GuardrailVerdicts: recordVerdictsToProto(r.Guardrails), DroppedParams: r.DroppedParams,
	}
}

// ListRequestRecords implements UsageService.ListRequestRecords.
func (u *Usage) ListRequestRecords(ctx context.Context, req *connect.Request[tollgatev1.ListRequestRecordsRequest]) (*connect.Response[tollgatev1.ListRequestRecordsResponse], error) {
	m := req.Msg
	teams, err := u.scope(ctx, m.GetTeamId())
	if err != nil {
		return nil, toConnectError(ctx, u.log, err)
	}
	start, end, err := timeRange(m.GetStartTime(), m.GetEndTime())
	if err != nil {
		return nil, toConnectError(ctx, u.log, err)
	}
	// Tokens are bound to the request's filters and to the teams the
	// caller is confined to.
	page, err := readPage(m, strings.Join(teams, ","))
	if err != nil {
		return nil, toConnectError(ctx, u.log, err)
	}
	status, err := statusFilter(m.GetStatus())
	if err != nil {
		return nil, toConnectError(ctx, u.log, err)
	}
	team, _ := one(teams)
	rs, next, err := u.records.ListRecords(ctx, store.RecordFilter{
		Start: start, End: end, TeamID: team, KeyID: m.GetKeyId(), Model: m.GetModel(), EndUser: m.GetEndUser(),
		ServiceID: m.GetServiceId(), Status: status, Tag: m.GetTag(), RequestID: m.GetRequestId(),
		Limit: page.Size, After: page.After,
	})
	if err != nil {
		return nil, toConnectError(ctx, u.log, err)
	}
	creators, err := u.creators(ctx, rs)
	if err != nil {
		return nil, toConnectError(ctx, u.log, err)
	}
	// A page narrowed to the caller's teams or to one key creator may be
	// short, or empty with a next page (AIP-158 allows both).
	out := &tollgatev1.ListRequestRecordsResponse{NextPageToken: nextPageToken(m, next, strings.Join(teams, ","))}
	for i := range rs {
		if len(teams) > 1 && !slices.Contains(teams, rs[i].TeamID) {
			continue
		}
		if c := m.GetKeyCreator(); c != "" && creators[rs[i].KeyID] != c {
			continue
		}
		r := recordToProto(&rs[i])
		r.KeyCreator = creators[rs[i].KeyID]
		out.Records = append(out.Records, r)
	}
	return connect.NewResponse(out), nil
}

var dimensions = map[tollgatev1.UsageDimension]store.Dimension{
	tollgatev1.UsageDimension_USAGE_DIMENSION_TEAM:      store.DimTeam,
	tollgatev1.UsageDimension_USAGE_DIMENSION_SERVICE:   store.DimService,
	tollgatev1.UsageDimension_USAGE_DIMENSION_KEY:       store.DimKey,
	tollgatev1.UsageDimension_USAGE_DIMENSION_MODEL:     store.DimModel,
	tollgatev1.UsageDimension_USAGE_DIMENSION_PROVIDER:  store.DimProvider,
	tollgatev1.UsageDimension_USAGE_DIMENSION_END_USER:  store.DimEndUser,
	tollgatev1.UsageDimension_USAGE_DIMENSION_TAG:       store.DimTag,
	tollgatev1.UsageDimension_USAGE_DIMENSION_GUARDRAIL: store.DimGuardrail,
}

var buckets = map[tollgatev1.UsageBucket]store.Bucket{
	tollgatev1.UsageBucket_USAGE_BUCKET_UNSPECIFIED: store.BucketNone,
	tollgatev1.UsageBucket_USAGE_BUCKET_HOUR:        store.BucketHour,
	tollgatev1.UsageBucket_USAGE_BUCKET_DAY:         store.BucketDay,
}

func groupToProto(g *store.UsageGroup) *tollgatev1.UsageGroup {
	return &tollgatev1.UsageGroup{
		Keys: g.Keys, Requests: g.Requests, Errors: g.Errors,
		Usage: &tollgatev1.Usage{InputTokens: g.InputTokens, OutputTokens: g.OutputTokens, CachedInputTokens: g.CachedInputTokens,
			TotalTokens: g.InputTokens + g.OutputTokens},
		Cost: moneyToProto(g.CostNanos), BucketStartTime: timeToProto(g.BucketStart),
		CacheHits: g.CacheHits, Saved: moneyToProto(g.SavedNanos),
	}
}

// GetUsageSummary implements UsageService.GetUsageSummary. Usage by key
// creator is usage by key, folded by each key's creator (which never
// changes); a caller confined to several teams gets their usage summed.
func (u *Usage) GetUsageSummary(ctx context.Context, req *connect.Request[tollgatev1.GetUsageSummaryRequest]) (*connect.Response[tollgatev1.GetUsageSummaryResponse], error) {
	m := req.Msg
	teams, err := u.scope(ctx, m.GetTeamId())
	if err != nil {
		return nil, toConnectError(ctx, u.log, err)
	}
	start, end, err := timeRange(m.GetStartTime(), m.GetEndTime())
	if err != nil {
		return nil, toConnectError(ctx, u.log, err)
	}
	q := store.SummaryQuery{Start: start, End: end}
	fold, err := u.groupBy(&q, m.GetGroupBy())
	if err != nil {
		return nil, toConnectError(ctx, u.log, err)
	}
	bucket, ok := buckets[m.GetBucket()]
	if !ok {
		return nil, toConnectError(ctx, u.log, badParam("bucket", "unknown bucket"))
	}
	q.Bucket = bucket
	var groups []store.UsageGroup
	queries := teams
	if len(queries) == 0 {
		queries = []string{""} // every team
	}
	for _, team := range queries {
		q.TeamID = team
		gs, err := u.records.SummarizeUsage(ctx, q)
		if err != nil {
			return nil, toConnectError(ctx, u.log, err)
		}
		groups = append(groups, gs...)
	}
	if groups, err = fold(ctx, groups, len(teams) > 1); err != nil {
		return nil, toConnectError(ctx, u.log, err)
	}
	out := &tollgatev1.GetUsageSummaryResponse{Groups: make([]*tollgatev1.UsageGroup, len(groups))}
	var total store.UsageGroup
	for i := range groups {
		g := &groups[i]
		out.Groups[i] = groupToProto(g)
		total.Requests += g.Requests
		total.Errors += g.Errors
		total.InputTokens += g.InputTokens
		total.OutputTokens += g.OutputTokens
		total.CachedInputTokens += g.CachedInputTokens
		total.CostNanos += g.CostNanos
		total.CacheHits += g.CacheHits
		total.SavedNanos += g.SavedNanos
	}
	out.Total = groupToProto(&total)
	return connect.NewResponse(out), nil
}
