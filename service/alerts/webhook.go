package alerts

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"time"

	"github.com/tollgate-dev/tollgate/service/webhooks"
)

// Message is an alert as posted to a webhook: Slack's incoming-webhook
// format, which Slack, Mattermost, Rocket.Chat and most chat tools accept.
type Message struct {
	Text   string  `json:"text"`
	Blocks []Block `json:"blocks"`
}

// Block is a Slack layout block.
type Block struct {
	Type string     `json:"type"`
	Text *BlockText `json:"text,omitempty"`
}

// BlockText is the text of a block.
type BlockText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// newMessage returns a message with a one-line text and a markdown body.
func newMessage(text, body string) Message {
	return Message{Text: text, Blocks: []Block{
		{Type: "section", Text: &BlockText{Type: "mrkdwn", Text: "*" + text + "*\n" + body}},
	}}
}

// post sends m to url, retrying failures (network errors, 429 and 5xx)
// up to attempts times with exponential backoff from backoff. With a
// signer, every attempt is signed per Standard Webhooks: one message id
// for all attempts, each attempt's own timestamp (from now).
func post(ctx context.Context, client *http.Client, url string, signer *webhooks.Signer, now func() time.Time,
	m Message, attempts int, backoff time.Duration) error {
	body, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("alerts: encode message: %w", err)
	}
	id := webhooks.NewMessageID()
	var last error
	for try := range max(attempts, 1) {
		if try > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(backoff << (try - 1)):
			}
		}
		sign := func(h http.Header) error {
			if signer == nil {
				return nil
			}
			return signer.Sign(h, id, now(), body)
		}
		retry, err := postOnce(ctx, client, url, body, sign)
		if err == nil {
			return nil
		}
		last = err
		if !retry {
			break
		}
	}
	return last
}

func postOnce(ctx context.Context, client *http.Client, url string, body []byte, sign func(http.Header) error) (retry bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("alerts: webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if err := sign(req.Header); err != nil {
		return false, fmt.Errorf("alerts: %w", err)
	}
	res, err := client.Do(req)
	if err != nil {
		// The URL is the receiver's secret: keep it out of the error.
		var ue *neturl.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return true, fmt.Errorf("alerts: webhook: %w", err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode/100 == 2 {
		return false, nil
	}
	return res.StatusCode == http.StatusTooManyRequests || res.StatusCode >= 500,
		fmt.Errorf("alerts: webhook answered %s", res.Status)
}
