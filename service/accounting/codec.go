package accounting

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/tollgate-dev/tollgate/internal/jsonstr"
	"github.com/tollgate-dev/tollgate/service/store"
)

// logVersion is the format of the segments this code writes: a header line
// {"tollgate_records":2,"segment":"<uuid>"} and then one record per line.
// Version 1 segments (segment-*.jsonl, written before the record log became
// the normal path) have no header.
const logVersion = 2

// segmentHeader is the first line of a version 2 segment.
type segmentHeader struct {
	Version int    `json:"tollgate_records"`
	Segment string `json:"segment"`
}

func appendHeader(b []byte, id store.SegmentID) []byte {
	b = append(b, `{"tollgate_records":`...)
	b = strconv.AppendInt(b, logVersion, 10)
	b = append(b, `,"segment":"`...)
	b = append(b, id.String()...)
	return append(b, "\"}\n"...)
}

// parseSegmentID parses the 8-4-4-4-12 hex form of store.SegmentID.String.
func parseSegmentID(s string) (store.SegmentID, error) {
	var id store.SegmentID
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return id, fmt.Errorf("malformed segment id %q", s)
	}
	hexDigits := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:]
	for i := range id {
		v, err := strconv.ParseUint(hexDigits[2*i:2*i+2], 16, 8)
		if err != nil {
			return id, fmt.Errorf("malformed segment id %q", s)
		}
		id[i] = byte(v)
	}
	return id, nil
}

// logRecord is the on-disk form of a store.Record, one JSON object per
// line. Its field names are part of the format: segments written by one
// version are replayed by the next, so rename nothing, only add. Durations
// are nanoseconds; empty Tags read back as nil. appendRecord writes the
// same names, by hand, because it runs once per request.
type logRecord struct {
	RequestID         string                   `json:"id"`
	Time              time.Time                `json:"time"`
	KeyID             string                   `json:"key,omitempty"`
	TeamID            string                   `json:"team,omitempty"`
	ServiceID         string                   `json:"service,omitempty"`
	EndUser           string                   `json:"end_user,omitempty"`
	Tags              []string                 `json:"tags,omitempty"`
	Surface           string                   `json:"surface,omitempty"`
	Operation         string                   `json:"op,omitempty"`
	Stream            bool                     `json:"stream,omitempty"`
	RequestedModel    string                   `json:"requested_model,omitempty"`
	Provider          string                   `json:"provider,omitempty"`
	Model             string                   `json:"model,omitempty"`
	Status            int16                    `json:"status,omitempty"`
	ErrorCode         string                   `json:"error_code,omitempty"`
	InputTokens       int64                    `json:"in,omitempty"`
	OutputTokens      int64                    `json:"out,omitempty"`
	CachedInputTokens int64                    `json:"cached_in,omitempty"`
	CacheWriteTokens  int64                    `json:"cache_write,omitempty"`
	ReasoningTokens   int64                    `json:"reasoning,omitempty"`
	UsageEstimated    bool                     `json:"estimated,omitempty"`
	CostNanos         int64                    `json:"cost_nanos,omitempty"`
	LatencyNanos      int64                    `json:"latency_ns,omitempty"`
	TTFTNanos         int64                    `json:"ttft_ns,omitempty"`
	Attempts          int                      `json:"attempts,omitempty"`
	Partial           bool                     `json:"partial,omitempty"`
	CacheStatus       string                   `json:"cache,omitempty"`
	SavedNanos        int64                    `json:"saved_nanos,omitempty"`
	Guardrails        []store.GuardrailVerdict `json:"guardrails,omitempty"`
	Truncated         bool                     `json:"truncated,omitempty"`
	DroppedParams     []string                 `json:"dropped_params,omitempty"`
}

// decodeRecord decodes one line of a segment.
func decodeRecord(line []byte) (store.Record, error) {
	var lr logRecord
	if err := json.Unmarshal(line, &lr); err != nil {
		return store.Record{}, err
	}
	return store.Record{
		RequestID:         lr.RequestID,
		Time:              lr.Time,
		KeyID:             lr.KeyID,
		TeamID:            lr.TeamID,
		ServiceID:         lr.ServiceID,
		EndUser:           lr.EndUser,
		Tags:              lr.Tags,
		Surface:           lr.Surface,
		Operation:         lr.Operation,
		Stream:            lr.Stream,
		RequestedModel:    lr.RequestedModel,
		Provider:          lr.Provider,
		Model:             lr.Model,
		Status:            store.Status(lr.Status),
		ErrorCode:         lr.ErrorCode,
		InputTokens:       lr.InputTokens,
		OutputTokens:      lr.OutputTokens,
		CachedInputTokens: lr.CachedInputTokens,
		CacheWriteTokens:  lr.CacheWriteTokens,
		ReasoningTokens:   lr.ReasoningTokens,
		UsageEstimated:    lr.UsageEstimated,
		CostNanos:         lr.CostNanos,
		Latency:           time.Duration(lr.LatencyNanos),
		TTFT:              time.Duration(lr.TTFTNanos),
		Attempts:          lr.Attempts,
		Partial:           lr.Partial,
		CacheStatus:       lr.CacheStatus,
		SavedNanos:        lr.SavedNanos,
		Guardrails:        lr.Guardrails,
		Truncated:         lr.Truncated,
		DroppedParams:     lr.DroppedParams,
	}, nil
}

// appendRecord appends r as one line of a segment: the JSON object that
// decodeRecord reads, and a newline.
func appendRecord(b []byte, r *store.Record) []byte {
	e := lineEncoder{b: append(b, '{')}
	e.str("id", r.RequestID, true)
	e.key("time")
	e.b = append(e.b, '"')
	e.b = r.Time.AppendFormat(e.b, time.RFC3339Nano)
	e.b = append(e.b, '"')
	e.str("key", r.KeyID, false)
	e.str("team", r.TeamID, false)
	e.str("service", r.ServiceID, false)
	e.str("end_user", r.EndUser, false)
	if len(r.Tags) > 0 {
		e.key("tags")
		e.strs(r.Tags)
	}
	e.str("surface", r.Surface, false)
	e.str("op", r.Operation, false)
	e.bool("stream", r.Stream)
	e.str("requested_model", r.RequestedModel, false)
	e.str("provider", r.Provider, false)
	e.str("model", r.Model, false)
	e.int("status", int64(r.Status))
	e.str("error_code", r.ErrorCode, false)
	e.int("in", r.InputTokens)
	e.int("out", r.OutputTokens)
	e.int("cached_in", r.CachedInputTokens)
	e.int("cache_write", r.CacheWriteTokens)
	e.int("reasoning", r.ReasoningTokens)
	e.bool("estimated", r.UsageEstimated)
	e.int("cost_nanos", r.CostNanos)
	e.int("latency_ns", int64(r.Latency))
	e.int("ttft_ns", int64(r.TTFT))
	e.int("attempts", int64(r.Attempts))
	e.bool("partial", r.Partial)
	e.str("cache", r.CacheStatus, false)
	e.int("saved_nanos", r.SavedNanos)
	if len(r.Guardrails) > 0 {
		e.key("guardrails")
		e.b = append(e.b, '[')
		for i := range r.Guardrails {
			v := &r.Guardrails[i]
			if i > 0 {
				e.b = append(e.b, ',')
			}
			ve := lineEncoder{b: append(e.b, '{')}
			ve.str("policy", v.Policy, true)
			ve.str("guardrail", v.Guardrail, true)
			ve.str("kind", v.Kind, true)
			ve.str("stage", v.Stage, true)
			ve.str("action", v.Action, true)
			if len(v.Categories) > 0 {
				ve.key("categories")
				ve.strs(v.Categories)
			}
			ve.int("count", int64(v.Count))
			e.b = append(ve.b, '}')
		}
		e.b = append(e.b, ']')
	}
	e.bool("truncated", r.Truncated)
	if len(r.DroppedParams) > 0 {
		e.key("dropped_params")
		e.strs(r.DroppedParams)
	}
	return append(e.b, '}', '\n')
}

// lineEncoder appends the members of a JSON object.
type lineEncoder struct {
	b    []byte
	more bool
}

func (e *lineEncoder) key(k string) {
	if e.more {
		e.b = append(e.b, ',')
	}
	e.more = true
	e.b = append(e.b, '"')
	e.b = append(e.b, k...)
	e.b = append(e.b, '"', ':')
}

func (e *lineEncoder) str(k, v string, always bool) {
	if v == "" && !always {
		return
	}
	e.key(k)
	e.b = jsonstr.AppendString(e.b, v)
}

func (e *lineEncoder) strs(vs []string) {
	e.b = append(e.b, '[')
	for i, v := range vs {
		if i > 0 {
			e.b = append(e.b, ',')
		}
		e.b = jsonstr.AppendString(e.b, v)
	}
	e.b = append(e.b, ']')
}

func (e *lineEncoder) int(k string, v int64) {
	if v == 0 {
		return
	}
	e.key(k)
	e.b = strconv.AppendInt(e.b, v, 10)
}

func (e *lineEncoder) bool(k string, v bool) {
	if v {
		e.key(k)
		e.b = append(e.b, "true"...)
	}
}
