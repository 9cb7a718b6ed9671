package guardrails

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/webhooks"
)

// defaultExternalTimeout bounds an external check without a timeout.
const defaultExternalTimeout = 2 * time.Second

// maxWebhookResponse bounds the webhook response body read.
const maxWebhookResponse = 1 << 20

// WebhookRequest is the JSON body POSTed to a webhook guardrail.
type WebhookRequest struct {
	// Policy and Guardrail name the guardrail being run.
	Policy    string `json:"policy"`
	Guardrail string `json:"guardrail"`
	// Stage is input or output.
	Stage Stage `json:"stage"`
	// Time is the Unix time of the call. The signed webhook-timestamp
	// header is what receivers check (see package webhooks).
	Time int64 `json:"time"`
	// Texts are the checked texts, in order.
	Texts []WebhookText `json:"texts"`
}

// WebhookText is one checked text.
type WebhookText struct {
	// Role is the role of the message the text belongs to ("assistant" for output).
	Role providers.Role `json:"role"`
	Text string         `json:"text"`
}

// WebhookResponse is the JSON a webhook answers with (status 2xx).
type WebhookResponse struct {
	// Action is allow, flag, block or mutate.
	Action string `json:"action"`
	// Categories say why; they are recorded in the verdict.
	Categories []string `json:"categories,omitempty"`
	// Replacement, with action mutate, holds one replacement per text of
	// the request, in order.
	Replacement []string `json:"replacement,omitempty"`
}

// WebhookConfig is the config of KindWebhook. URL and Secret are stored
// sealed and read back as "********".
type WebhookConfig struct {
	// URL is the http or https endpoint the texts are posted to.
	URL string `json:"url,omitempty"`
	// Secret signs the calls (Standard Webhooks, "whsec_...").
	Secret string `json:"secret,omitempty"`
	// Timeout bounds one call, e.g. "2s".
	Timeout Duration `json:"timeout,omitempty"`
}

type webhook struct {
	url     string
	signer  *webhooks.Signer
	timeout time.Duration
	client  *http.Client
	now     func() time.Time
}

func newWebhook(raw json.RawMessage, client *http.Client, now func() time.Time) (*webhook, error) {
	var c WebhookConfig
	if err := strictUnmarshal(raw, &c); err != nil {
		return nil, err
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("url must be an absolute http or https URL")
	}
	if c.Secret == "" {
		return nil, fmt.Errorf("secret is required")
	}
	signer, err := webhooks.NewSigner(c.Secret)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	return &webhook{url: c.URL, signer: signer, timeout: c.Timeout.or(defaultExternalTimeout), client: client, now: now}, nil
}

// errExternal classifies failures of external guardrails without their
// details, which may quote the checked text.
var (
	errTimeout     = errors.New("timeout")
	errUnavailable = errors.New("unavailable")
	errBadResponse = errors.New("bad response")
)

func (w *webhook) check(ctx context.Context, call extCall) (extResult, error) {
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	now := w.now()
	body, err := json.Marshal(WebhookRequest{Policy: call.policy, Guardrail: call.guardrail, Stage: call.stage, Time: now.Unix(), Texts: call.texts})
	if err != nil {
		return extResult{}, fmt.Errorf("encode: %w", errBadResponse)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return extResult{}, fmt.Errorf("request: %w", errUnavailable)
	}
	req.Header.Set("Content-Type", "application/json")
	if err := w.signer.Sign(req.Header, webhooks.NewMessageID(), now, body); err != nil {
		return extResult{}, fmt.Errorf("sign: %w", errUnavailable)
	}
	resp, err := w.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return extResult{}, errTimeout
		}
		return extResult{}, errUnavailable
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxWebhookResponse))
	if err != nil {
		if ctx.Err() != nil {
			return extResult{}, errTimeout
		}
		return extResult{}, errUnavailable
	}
	if resp.StatusCode/100 != 2 {
		return extResult{}, fmt.Errorf("status %d: %w", resp.StatusCode, errUnavailable)
	}
	var wr WebhookResponse
	if err := json.Unmarshal(b, &wr); err != nil {
		return extResult{}, errBadResponse
	}
	r := extResult{categories: wr.Categories}
	switch wr.Action {
	case "allow":
	case "flag":
		r.action = ActionFlag
	case "block":
		r.action = ActionBlock
	case "mutate":
		if len(wr.Replacement) != len(call.texts) {
			return extResult{}, fmt.Errorf("replacement count: %w", errBadResponse)
		}
		r.action, r.replacement = ActionMutate, wr.Replacement
	default:
		return extResult{}, fmt.Errorf("action: %w", errBadResponse)
	}
	return r, nil
}
