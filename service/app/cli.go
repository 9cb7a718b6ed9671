package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/type/money"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	tollgate "github.com/tollgate-dev/tollgate/clients/go"
	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
)

// cliTimeout bounds each RPC of a client command.
const cliTimeout = 30 * time.Second

// runClient sends a parsed client command's request to the gateway and
// prints the answer on stdout in the chosen format.
func (c *cli) runClient(ctx context.Context, cmd *cliCommand) error {
	if err := c.resolveToken(ctx, cmd); err != nil {
		return err
	}
	client := tollgate.NewClient(cmd.addr, cmd.token, tollgate.WithTimeout(cliTimeout))
	if exp, ok := cmd.req.(*tollgatev1.ExportRequestRecordsRequest); ok {
		return runExport(ctx, client, exp, c.stdout)
	}
	if rep, ok := cmd.req.(*usageReportCmd); ok {
		return c.runUsageReport(ctx, client, rep, cmd.output)
	}
	var resp proto.Message
	var err error
	if cmd.pages != nil && isListRequest(cmd.req) {
		resp, err = followPages(ctx, client, cmd.req, *cmd.pages)
	} else {
		resp, err = execute(ctx, client, cmd.req)
	}
	if err != nil {
		return describeRPCError(err)
	}
	if err := writeOutput(c.stdout, resp, cmd.output); err != nil {
		return fmt.Errorf("writing output: %w", err)
	}
	if tok := nextPageToken(resp); tok != "" {
		fmt.Fprintf(c.stderr, "tollgate %s: more results; continue with --page-token %s\n", cmd.name, tok)
	}
	return nil
}

// describeRPCError makes sure the message names a Connect code, also for
// failures that happen before the gateway answers.
func describeRPCError(err error) error {
	var ce *connect.Error
	if errors.As(err, &ce) {
		return err
	}
	return fmt.Errorf("%s: %w", connect.CodeOf(err), err)
}

// execute sends req to the RPC its type names and returns the response
// (one page of a List call; see followPages).
func execute(ctx context.Context, c *tollgate.Client, req proto.Message) (proto.Message, error) {
	switch r := req.(type) {
	case *tollgatev1.CreateKeyRequest:
		return msg(c.Admin.CreateKey(ctx, connect.NewRequest(r)))
	case *tollgatev1.ListKeysRequest:
		return msg(c.Admin.ListKeys(ctx, connect.NewRequest(r)))
	case *tollgatev1.RevokeKeyRequest:
		return msg(c.Admin.RevokeKey(ctx, connect.NewRequest(r)))
	case *tollgatev1.RotateKeyRequest:
		return msg(c.Admin.RotateKey(ctx, connect.NewRequest(r)))
	case *tollgatev1.CreateTeamRequest:
		return msg(c.Admin.CreateTeam(ctx, connect.NewRequest(r)))
	case *tollgatev1.ListTeamsRequest:
		return msg(c.Admin.ListTeams(ctx, connect.NewRequest(r)))
	case *tollgatev1.DeleteTeamRequest:
		return msg(c.Admin.DeleteTeam(ctx, connect.NewRequest(r)))
	case *tollgatev1.CreateProviderRequest:
		return msg(c.Admin.CreateProvider(ctx, connect.NewRequest(r)))
	case *tollgatev1.ListProvidersRequest:
		return msg(c.Admin.ListProviders(ctx, connect.NewRequest(r)))
	case *tollgatev1.GetKeyRequest:
		return msg(c.Admin.GetKey(ctx, connect.NewRequest(r)))
	case *tollgatev1.CreateModelRequest:
		return msg(c.Admin.CreateModel(ctx, connect.NewRequest(r)))
	case *tollgatev1.ListAllModelsRequest:
		return msg(c.Admin.ListAllModels(ctx, connect.NewRequest(r)))
	case *tollgatev1.GetUsageSummaryRequest:
		return msg(c.Usage.GetUsageSummary(ctx, connect.NewRequest(r)))
	}
	return executeAdmin(ctx, c, req)
}

func msg[T any](resp *connect.Response[T], err error) (proto.Message, error) {
	if err != nil {
		return nil, err
	}
	m, ok := any(resp.Msg).(proto.Message)
	if !ok {
		return nil, fmt.Errorf("response %T is not a protobuf message", resp.Msg)
	}
	return m, nil
}

// writeJSON prints m as protobuf JSON with a stable layout (protojson's
// own whitespace is deliberately unstable).
func writeJSON(w io.Writer, m proto.Message) error {
	b, err := protojson.Marshal(m)
	if err != nil {
		return fmt.Errorf("encoding JSON: %w", err)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return fmt.Errorf("encoding JSON: %w", err)
	}
	out.WriteByte('\n')
	_, err = w.Write(out.Bytes())
	return err
}

// writeTable prints resp for people: lists as aligned tables, single
// objects as "FIELD value" lines. wide adds the columns that make a line
// long (tags, labels, settings, further prices).
func writeTable(w io.Writer, resp proto.Message, wide bool) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(cols ...string) { fmt.Fprintln(tw, strings.Join(cols, "\t")) }
	switch r := resp.(type) {
	case *tollgatev1.CreateKeyResponse:
		keyFields(row, r.GetKey())
		row("SECRET", r.GetSecret()+"  (shown only once: store it now)")
	case *tollgatev1.RotateKeyResponse:
		keyFields(row, r.GetKey())
		row("SECRET", r.GetSecret()+"  (shown only once: store it now)")
	case *tollgatev1.RevokeKeyResponse:
		keyFields(row, r.GetKey())
	case *tollgatev1.ListKeysResponse:
		head := []string{"ID", "NAME", "TEAM", "SERVICE", "STATE", "PREFIX", "MODELS", "CREATED"}
		if wide {
			head = append(head, "EXPIRES", "TAGS", "CREATED BY")
		}
		row(head...)
		for _, k := range r.GetKeys() {
			cols := []string{k.GetId(), dash(k.GetName()), k.GetTeamId(), dash(k.GetServiceId()), keyState(k.GetState()),
				k.GetSecretPrefix(), dash(strings.Join(k.GetAllowedModels(), ",")), formatTime(k.GetCreateTime())}
			if wide {
				cols = append(cols, formatTime(k.GetExpireTime()), formatMap(k.GetTags()), dash(k.GetCreatedBy()))
			}
			row(cols...)
		}
	case *tollgatev1.GetKeyResponse:
		keyFields(row, r.GetKey())
	case *tollgatev1.CreateTeamResponse:
		teamRows(row, wide, r.GetTeam())
	case *tollgatev1.ListTeamsResponse:
		teamRows(row, wide, r.GetTeams()...)
	case *tollgatev1.DeleteTeamResponse:
		row("deleted")
	case *tollgatev1.CreateProviderResponse:
		providerRows(row, wide, r.GetProvider())
	case *tollgatev1.ListProvidersResponse:
		providerRows(row, wide, r.GetProviders()...)
	case *tollgatev1.CreateModelResponse:
		modelRows(row, wide, r.GetModel())
	case *tollgatev1.ListAllModelsResponse:
		modelRows(row, wide, r.GetModels()...)
	case *tollgatev1.GetUsageSummaryResponse:
		return writeUsageTable(&cli{stdout: w, stderr: io.Discard}, r, nil)
	default:
		if !adminTable(row, resp, wide) {
			return fmt.Errorf("no table layout for %T", resp)
		}
	}
	return tw.Flush()
}

func keyFields(row func(...string), k *tollgatev1.VirtualKey) {
	row("ID", k.GetId())
	row("NAME", dash(k.GetName()))
	row("TEAM", k.GetTeamId())
	row("SERVICE", dash(k.GetServiceId()))
	row("STATE", keyState(k.GetState()))
	row("PREFIX", k.GetSecretPrefix())
	if k.GetExpireTime() != nil {
		row("EXPIRES", formatTime(k.GetExpireTime()))
	}
}

func teamRows(row func(...string), wide bool, ts ...*tollgatev1.Team) {
	if !wide {
		row("ID", "NAME", "CREATED", "ETAG")
		for _, t := range ts {
			row(t.GetId(), dash(t.GetDisplayName()), formatTime(t.GetCreateTime()), t.GetEtag())
		}
		return
	}
	row("ID", "NAME", "CREATED", "ETAG", "LABELS")
	for _, t := range ts {
		row(t.GetId(), dash(t.GetDisplayName()), formatTime(t.GetCreateTime()), t.GetEtag(), formatMap(t.GetLabels()))
	}
}

// formatMap prints a map as sorted k=v pairs, "-" when empty.
func formatMap(m map[string]string) string {
	if len(m) == 0 {
		return "-"
	}
	pairs := make([]string, 0, len(m))
	for k, v := range m {
		pairs = append(pairs, k+"="+v)
	}
	slices.Sort(pairs)
	return strings.Join(pairs, ",")
}

func providerRows(row func(...string), wide bool, ps ...*tollgatev1.Provider) {
	head := []string{"ID", "TYPE", "BASE URL", "CREDENTIAL", "CREATED", "ETAG"}
	if wide {
		head = append(head, "SETTINGS")
	}
	row(head...)
	for _, p := range ps {
		cred := "none"
		if p.GetHasCredential() {
			cred = "stored"
		}
		typ := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(p.GetType().String(), "PROVIDER_TYPE_"), "_", "-"))
		cols := []string{p.GetId(), typ, dash(p.GetBaseUrl()), cred, formatTime(p.GetCreateTime()), p.GetEtag()}
		if wide {
			cols = append(cols, formatMap(p.GetSettings()))
		}
		row(cols...)
	}
}

func modelRows(row func(...string), wide bool, ms ...*tollgatev1.Model) {
	head := []string{"NAME", "PROVIDER", "UPSTREAM", "KIND", "CONTEXT", "INPUT $/M", "OUTPUT $/M", "ETAG"}
	if wide {
		head = append(head, "CACHED INPUT $/M", "MAX OUTPUT")
	}
	row(head...)
	for _, m := range ms {
		kind := "chat"
		if m.GetEmbedding() {
			kind = "embedding"
		}
		ctxWin := "-"
		if m.GetContextWindow() > 0 {
			ctxWin = strconv.Itoa(int(m.GetContextWindow()))
		}
		cols := []string{m.GetName(), m.GetProviderId(), dash(m.GetUpstreamModel()), kind, ctxWin,
			formatMoney(m.GetPricing().GetInputPerMillion()), formatMoney(m.GetPricing().GetOutputPerMillion()), m.GetEtag()}
		if wide {
			maxOut := "-"
			if m.GetMaxOutputTokens() > 0 {
				maxOut = strconv.Itoa(int(m.GetMaxOutputTokens()))
			}
			cols = append(cols, formatMoney(m.GetPricing().GetCachedInputPerMillion()), maxOut)
		}
		row(cols...)
	}
}

// keyState is s in lower case without its prefix, e.g. "active".
func keyState(s tollgatev1.KeyState) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "KEY_STATE_"))
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func formatTime(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return "-"
	}
	return ts.AsTime().UTC().Format(time.RFC3339)
}

// formatMoney prints an exact decimal amount with at least two decimals,
// e.g. "0.15" or "0.000123", and "-" for no amount.
func formatMoney(m *money.Money) string {
	if m == nil {
		return "-"
	}
	units, nanos := m.GetUnits(), int64(m.GetNanos())
	sign := ""
	if units < 0 || nanos < 0 {
		sign = "-"
		units, nanos = -units, -nanos
	}
	frac := strings.TrimRight(fmt.Sprintf("%09d", nanos), "0")
	for len(frac) < 2 {
		frac += "0"
	}
	return sign + strconv.FormatInt(units, 10) + "." + frac
}
