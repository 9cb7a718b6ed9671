package rpc

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"connectrpc.com/connect"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/service/alerts"
	"github.com/tollgate-dev/tollgate/service/pricing"
	"github.com/tollgate-dev/tollgate/service/store"
	"github.com/tollgate-dev/tollgate/service/webhooks"
)

// maxAlertThresholds bounds the thresholds of one budget.
const maxAlertThresholds = 10

// alertThresholds validates a budget's alert thresholds: 1 to 1000
// percent, at most 10; returned sorted without duplicates (nil for none).
func alertThresholds(in []int32) ([]int, error) {
	if len(in) > maxAlertThresholds {
		return nil, badParam("budget.alert_thresholds", "at most 10 thresholds")
	}
	var out []int
	for _, t := range in {
		if t < 1 || t > 1000 {
			return nil, badParam("budget.alert_thresholds", "each must be a percentage between 1 and 1000")
		}
		out = append(out, int(t))
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// defaultPricing returns the list price of the first known of names (see
// pricing.Lookup), or no price.
func defaultPricing(names ...string) store.Pricing {
	for _, n := range names {
		if p, ok := pricing.Lookup(n); ok {
			return p
		}
	}
	return store.Pricing{}
}

var alertKindToStore = map[tollgatev1.AlertKind]alerts.Kind{
	tollgatev1.AlertKind_ALERT_KIND_BUDGET_THRESHOLD:   alerts.KindBudgetThreshold,
	tollgatev1.AlertKind_ALERT_KIND_SPEND_VELOCITY:     alerts.KindSpendVelocity,
	tollgatev1.AlertKind_ALERT_KIND_CREDENTIAL_REFRESH: alerts.KindCredentialRefresh,
}

func webhookToProto(w *store.AlertWebhook) *tollgatev1.AlertWebhook {
	out := &tollgatev1.AlertWebhook{Id: w.ID, TeamId: w.TeamID, CreateTime: timeToProto(w.CreatedAt), UrlHint: w.URLHint, Etag: etag(w.Version)}
	if out.UrlHint == "" && w.URL != "" {
		out.UrlHint = urlHint(w.URL)
	}
	for _, k := range w.Kinds {
		for pk, sk := range alertKindToStore {
			if string(sk) == k {
				out.Kinds = append(out.Kinds, pk)
			}
		}
	}
	return out
}

// urlHint returns the "scheme://host" of a webhook URL, safe to show.
func urlHint(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

var errNoAlerts = errors.New("alert webhooks are not available on this server")

// CreateAlertWebhook implements PolicyService.CreateAlertWebhook.
func (a *Admin) CreateAlertWebhook(ctx context.Context, req *connect.Request[tollgatev1.CreateAlertWebhookRequest]) (*connect.Response[tollgatev1.CreateAlertWebhookResponse], error) {
	if a.alerts == nil {
		return nil, connect.NewError(connect.CodeUnimplemented, errNoAlerts)
	}
	in := req.Msg.GetWebhook()
	if in == nil {
		return nil, a.fail(ctx, badParam("webhook", "is required"))
	}
	if err := checkSlug("webhook.id", in.GetId()); err != nil {
		return nil, a.fail(ctx, err)
	}
	u, err := url.Parse(in.GetUrl())
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, a.fail(ctx, badParam("webhook.url", "must be an absolute http or https URL"))
	}
	// The URL embeds the receiver's secret: only its sealed form is stored.
	if a.sealer == nil {
		return nil, connect.NewError(connect.CodeUnimplemented, errNoAlerts)
	}
	sealed, err := a.sealer.Seal([]byte(in.GetUrl()), alerts.SealContext(in.GetId()))
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	// Alerts are signed with a secret the receiver gets once, here.
	secret := req.Msg.GetSecret()
	switch {
	case secret == "":
		if secret, err = webhooks.GenerateSecret(); err != nil {
			return nil, a.fail(ctx, err)
		}
	case !strings.HasPrefix(secret, webhooks.SecretPrefix) || webhooks.CheckSecret(secret) != nil:
		return nil, a.fail(ctx, badParam("secret", "must be \"whsec_\" followed by the base64 of the key"))
	}
	sealedSecret, err := a.sealer.Seal([]byte(secret), alerts.SecretContext(in.GetId()))
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	w := &store.AlertWebhook{ID: in.GetId(), SealedURL: sealed, URLHint: urlHint(in.GetUrl()), TeamID: in.GetTeamId(), Kinds: []string{},
		SealedSecret: sealedSecret}
	for i, k := range in.GetKinds() {
		sk, ok := alertKindToStore[k]
		if !ok {
			return nil, a.fail(ctx, badParam("webhook.kinds", "unknown kind at index "+strconv.Itoa(i)))
		}
		if !slices.Contains(w.Kinds, string(sk)) {
			w.Kinds = append(w.Kinds, string(sk))
		}
	}
	if err := a.alerts.CreateAlertWebhook(ctx, w); err != nil {
		return nil, a.fail(ctx, err)
	}
	return connect.NewResponse(&tollgatev1.CreateAlertWebhookResponse{Webhook: webhookToProto(w), Secret: secret}), nil
}

// ListAlertWebhooks implements PolicyService.ListAlertWebhooks.
func (a *Admin) ListAlertWebhooks(ctx context.Context, req *connect.Request[tollgatev1.ListAlertWebhooksRequest]) (*connect.Response[tollgatev1.ListAlertWebhooksResponse], error) {
	if a.alerts == nil {
		return nil, connect.NewError(connect.CodeUnimplemented, errNoAlerts)
	}
	page, err := readPage(req.Msg)
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	ws, next, err := a.alerts.PageAlertWebhooks(ctx, page)
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	out := &tollgatev1.ListAlertWebhooksResponse{Webhooks: make([]*tollgatev1.AlertWebhook, len(ws)), NextPageToken: nextPageToken(req.Msg, next)}
	for i := range ws {
		out.Webhooks[i] = webhookToProto(&ws[i])
	}
	return connect.NewResponse(out), nil
}

// DeleteAlertWebhook implements PolicyService.DeleteAlertWebhook.
func (a *Admin) DeleteAlertWebhook(ctx context.Context, req *connect.Request[tollgatev1.DeleteAlertWebhookRequest]) (*connect.Response[tollgatev1.DeleteAlertWebhookResponse], error) {
	if a.alerts == nil {
		return nil, connect.NewError(connect.CodeUnimplemented, errNoAlerts)
	}
	v, err := ifVersion("etag", req.Msg.GetEtag())
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	if err := a.alerts.DeleteAlertWebhook(ctx, req.Msg.GetId(), v); err != nil {
		return nil, a.fail(ctx, err)
	}
	return connect.NewResponse(&tollgatev1.DeleteAlertWebhookResponse{}), nil
}
