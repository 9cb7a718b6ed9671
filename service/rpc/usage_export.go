package rpc

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/service/store"
)

// exportChunkBytes is the size at which an export chunk is sent.
const exportChunkBytes = 64 << 10

// exportHeader is the CSV header of ExportRequestRecords.
var exportHeader = []string{
	"time", "request_id", "key_id", "team_id", "service_id", "end_user", "tags", "surface", "operation", "stream",
	"requested_model", "provider", "model", "status", "error_code", "input_tokens", "output_tokens",
	"cached_input_tokens", "reasoning_tokens", "cost_nanos", "latency_ms", "ttft_ms", "attempts",
}

// csvRow returns r as a CSV row in exportHeader's order.
func csvRow(r *store.Record) []string {
	i64 := func(v int64) string { return strconv.FormatInt(v, 10) }
	return []string{
		r.Time.UTC().Format(time.RFC3339Nano), r.RequestID, r.KeyID, r.TeamID, r.ServiceID, r.EndUser,
		strings.Join(r.Tags, ";"), r.Surface, r.Operation, strconv.FormatBool(r.Stream), r.RequestedModel,
		r.Provider, r.Model, statusToProto[r.Status].String(), r.ErrorCode, i64(r.InputTokens), i64(r.OutputTokens),
		i64(r.CachedInputTokens), i64(r.ReasoningTokens), i64(r.CostNanos), i64(r.Latency.Milliseconds()),
		i64(r.TTFT.Milliseconds()), strconv.Itoa(r.Attempts),
	}
}

// ExportRequestRecords streams the matching records, oldest first, as CSV
// (with a header) or JSON lines, in chunks of about 64 KiB that end at line
// ends. A virtual key sees only its own team's records, a team-admin its
// teams'.
func (u *Usage) ExportRequestRecords(ctx context.Context, req *connect.Request[tollgatev1.ExportRequestRecordsRequest], out *connect.ServerStream[tollgatev1.ExportRequestRecordsResponse]) error {
	m := req.Msg
	teams, err := u.scope(ctx, m.GetTeamId())
	if err != nil {
		return toConnectError(ctx, u.log, err)
	}
	start, end, err := timeRange(m.GetStartTime(), m.GetEndTime())
	if err != nil {
		return toConnectError(ctx, u.log, err)
	}
	jsonLines := false
	switch m.GetFormat() {
	case tollgatev1.ExportFormat_EXPORT_FORMAT_UNSPECIFIED, tollgatev1.ExportFormat_EXPORT_FORMAT_CSV:
	case tollgatev1.ExportFormat_EXPORT_FORMAT_JSON_LINES:
		jsonLines = true
	default:
		return toConnectError(ctx, u.log, badParam("format", "unknown format"))
	}
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	n := int32(0)
	flush := func() error {
		cw.Flush()
		if buf.Len() == 0 {
			return nil
		}
		err := out.Send(&tollgatev1.ExportRequestRecordsResponse{Data: bytes.Clone(buf.Bytes()), Records: n})
		buf.Reset()
		n = 0
		return err
	}
	if !jsonLines {
		_ = cw.Write(exportHeader)
	}
	status, err := statusFilter(m.GetStatus())
	if err != nil {
		return toConnectError(ctx, u.log, err)
	}
	var sendErr error
	team, _ := one(teams)
	err = u.records.ExportRecords(ctx, store.RecordFilter{
		Start: start, End: end, TeamID: team, KeyID: m.GetKeyId(), Model: m.GetModel(), EndUser: m.GetEndUser(),
		ServiceID: m.GetServiceId(), Status: status, Tag: m.GetTag(),
	}, func(r *store.Record) error {
		if len(teams) > 1 && !slices.Contains(teams, r.TeamID) {
			return nil // a caller confined to several teams sees theirs only
		}
		if jsonLines {
			b, err := protojson.Marshal(recordToProto(r))
			if err != nil {
				return err
			}
			buf.Write(b)
			buf.WriteByte('\n')
		} else if err := cw.Write(csvRow(r)); err != nil {
			return err
		}
		n++
		if buf.Len() >= exportChunkBytes {
			if sendErr = flush(); sendErr != nil {
				return sendErr
			}
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		if sendErr != nil && errors.Is(err, sendErr) {
			return err // the client went away
		}
		return toConnectError(ctx, u.log, err)
	}
	return nil
}
