package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	tollgate "github.com/tollgate-dev/tollgate/clients/go"
	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
)

// auditCommand registers the flags of the audit and export commands on fs
// and returns the request builder, or nil for an unknown command.
func auditCommand(name string, fs *flag.FlagSet, now time.Time) func([]string) (proto.Message, error) {
	switch name {
	case "audit list":
		return auditList(fs, now)
	case "usage export":
		return usageExport(fs, now)
	}
	return nil
}

// sinceFlag parses --since (and --until) into a time range before now.
type sinceFlag struct{ since, until string }

func (s *sinceFlag) register(fs *flag.FlagSet, def string) {
	fs.StringVar(&s.since, "since", def, "start of the range, as a duration before now (e.g. 7d, 12h)")
	fs.StringVar(&s.until, "until", "", "end of the range, as a duration before now (default now)")
}

func (s *sinceFlag) times(now time.Time) (start, end *timestamppb.Timestamp, err error) {
	d, err := parseDays(s.since)
	if err != nil || d <= 0 {
		return nil, nil, usageErrorf("--since %q: want a positive duration such as 30d or 12h", s.since)
	}
	start = timestamppb.New(now.Add(-d))
	if s.until != "" {
		u, err := parseDays(s.until)
		if err != nil || u < 0 || u >= d {
			return nil, nil, usageErrorf("--until %q: want a duration shorter than --since", s.until)
		}
		end = timestamppb.New(now.Add(-u))
	}
	return start, end, nil
}

func auditList(fs *flag.FlagSet, now time.Time) func([]string) (proto.Message, error) {
	var rng sinceFlag
	req := &tollgatev1.ListAdminAuditEventsRequest{}
	rng.register(fs, "7d")
	fs.StringVar(&req.Action, "action", "", "only this RPC, e.g. SetBudget")
	fs.StringVar(&req.ResourceKind, "kind", "", "only this kind of resource, e.g. budget, route, key")
	fs.StringVar(&req.ResourceId, "resource", "", "only this resource id or name")
	fs.StringVar(&req.Actor, "actor", "", "only this actor: its id (user:SUB, service-account:ID) or subject")
	fs.StringVar(&req.Outcome, "outcome", "", "only this outcome, e.g. permission_denied")
	return func(ops []string) (proto.Message, error) {
		if len(ops) != 0 {
			return nil, usageErrorf("unexpected arguments %q", ops)
		}
		var err error
		if req.StartTime, req.EndTime, err = rng.times(now); err != nil {
			return nil, err
		}
		return req, nil
	}
}

// exportFormats maps --format values to export formats.
var exportFormats = map[string]tollgatev1.ExportFormat{
	"csv":   tollgatev1.ExportFormat_EXPORT_FORMAT_CSV,
	"jsonl": tollgatev1.ExportFormat_EXPORT_FORMAT_JSON_LINES,
}

func usageExport(fs *flag.FlagSet, now time.Time) func([]string) (proto.Message, error) {
	var rng sinceFlag
	var format string
	req := &tollgatev1.ExportRequestRecordsRequest{}
	rng.register(fs, "24h")
	fs.StringVar(&format, "format", "csv", "csv or jsonl")
	fs.StringVar(&req.TeamId, "team", "", "only this team's records")
	fs.StringVar(&req.KeyId, "key", "", "only this key's records")
	fs.StringVar(&req.Model, "model", "", "only records for this requested model")
	fs.StringVar(&req.EndUser, "end-user", "", "only this end user's records")
	return func(ops []string) (proto.Message, error) {
		if len(ops) != 0 {
			return nil, usageErrorf("unexpected arguments %q", ops)
		}
		f, ok := exportFormats[format]
		if !ok {
			return nil, usageErrorf("--format %q: want csv or jsonl", format)
		}
		req.Format = f
		var err error
		if req.StartTime, req.EndTime, err = rng.times(now); err != nil {
			return nil, err
		}
		return req, nil
	}
}

// runExport streams an export to stdout as the chunks arrive.
func runExport(ctx context.Context, c *tollgate.Client, req *tollgatev1.ExportRequestRecordsRequest, stdout io.Writer) error {
	stream, err := c.Usage.ExportRequestRecords(ctx, connect.NewRequest(req))
	if err != nil {
		return describeRPCError(err)
	}
	defer stream.Close()
	for stream.Receive() {
		if _, err := stdout.Write(stream.Msg().GetData()); err != nil {
			return fmt.Errorf("writing output: %w", err)
		}
	}
	if err := stream.Err(); err != nil && !errors.Is(err, io.EOF) {
		return describeRPCError(err)
	}
	return nil
}

func auditRows(row func(...string), r *tollgatev1.ListAdminAuditEventsResponse) {
	row("ID", "TIME", "ACTOR", "NAME", "ROLE", "ACTION", "KIND", "RESOURCE", "OUTCOME", "SOURCE", "REQUEST ID")
	for _, e := range r.GetEvents() {
		d := e.GetActorDetail()
		row(strconv.FormatInt(e.GetId(), 10), formatTime(e.GetTime()), e.GetActor(), dash(d.GetName()), dash(d.GetRole()), e.GetAction(),
			dash(e.GetResourceKind()), dash(e.GetResourceId()), e.GetOutcome(), dash(e.GetSourceIp()), dash(e.GetRequestId()))
	}
}
