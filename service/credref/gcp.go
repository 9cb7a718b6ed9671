package credref

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
)

// GCPConfig configures Google Secret Manager. Credentials are Application
// Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, workload identity,
// the metadata server) unless TokenSource is set.
type GCPConfig struct {
	// Endpoint overrides https://secretmanager.googleapis.com.
	Endpoint string
	// TokenSource overrides Application Default Credentials.
	TokenSource oauth2.TokenSource
}

// gcpBackend reads secret versions over the REST API:
//
//	GET {endpoint}/v1/projects/P/secrets/S/versions/V:access
//	→ {"name": ..., "payload": {"data": base64, "dataCrc32c": "decimal"}}
type gcpBackend struct {
	cfg    GCPConfig
	client *http.Client

	once sync.Once
	ts   oauth2.TokenSource
	err  error
}

func (b *gcpBackend) tokens(ctx context.Context) (oauth2.TokenSource, error) {
	b.once.Do(func() {
		if b.cfg.TokenSource != nil {
			b.ts = b.cfg.TokenSource
			return
		}
		ctx = context.WithValue(context.WithoutCancel(ctx), oauth2.HTTPClient, b.client)
		creds, err := google.FindDefaultCredentials(ctx, "https://www.googleapis.com/auth/cloud-platform")
		if err != nil {
			b.err = fmt.Errorf("google credentials: %w", err)
			return
		}
		b.ts = oauth2.ReuseTokenSource(nil, creds.TokenSource)
	})
	return b.ts, b.err
}

// castagnoli is the CRC32C table Secret Manager checksums payloads with.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func (b *gcpBackend) resolve(ctx context.Context, r Ref) (string, error) {
	ts, err := b.tokens(ctx)
	if err != nil {
		return "", fmt.Errorf("%s: %w", r, err)
	}
	tok, err := ts.Token()
	if err != nil {
		return "", fmt.Errorf("%s: google token: %w", r, err)
	}
	endpoint := b.cfg.Endpoint
	if endpoint == "" {
		endpoint = "https://secretmanager.googleapis.com"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(endpoint, "/")+"/v1/"+escapePath(r.Name)+":access", nil)
	if err != nil {
		return "", fmt.Errorf("%s: %w", r, err)
	}
	tok.SetAuthHeader(req)
	resp, err := b.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("%s: %w", r, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("%s: %w", r, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct {
				Message string `json:"message"`
				Status  string `json:"status"`
			} `json:"error"`
		}
		_ = json.Unmarshal(body, &e)
		return "", fmt.Errorf("%s: secret manager answered %d %s: %s", r, resp.StatusCode, e.Error.Status, e.Error.Message)
	}
	var out struct {
		Payload struct {
			Data       string `json:"data"`
			DataCrc32c string `json:"dataCrc32c"`
		} `json:"payload"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return "", fmt.Errorf("%s: %w", r, err)
	}
	data, err := base64.StdEncoding.DecodeString(out.Payload.Data)
	if err != nil {
		return "", fmt.Errorf("%s: payload is not base64", r)
	}
	if out.Payload.DataCrc32c != "" {
		want, err := strconv.ParseUint(out.Payload.DataCrc32c, 10, 32)
		if err != nil || crc32.Checksum(data, castagnoli) != uint32(want) {
			return "", fmt.Errorf("%s: payload checksum mismatch", r)
		}
	}
	v := strings.TrimRight(string(data), "\r\n")
	if v == "" {
		return "", fmt.Errorf("%s: the secret is empty", r)
	}
	if r.Field != "" {
		return jsonField(r, v, r.Field)
	}
	return v, nil
}
