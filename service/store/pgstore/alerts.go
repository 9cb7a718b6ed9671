package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-dev/tollgate/service/store"
)

var (
	_ store.Alerts        = (*Store)(nil)
	_ store.AlertWebhooks = (*Store)(nil)
)

// webhookRow is a row of alert_webhooks.
type webhookRow struct {
	ID        string    `db:"id"`
	URL       string    `db:"url"`
	SealedURL []byte    `db:"sealed_url"`
	URLHint   string    `db:"url_hint"`
	Secret    []byte    `db:"sealed_secret"`
	Kinds     []string  `db:"kinds"`
	TeamID    string    `db:"team_id"`
	CreatedAt time.Time `db:"created_at"`
	Version   int64     `db:"version"`
}

const webhookColumns = "id, url, sealed_url, url_hint, sealed_secret, kinds, team_id, created_at, version"

func (r webhookRow) webhook() store.AlertWebhook {
	return store.AlertWebhook{ID: r.ID, URL: r.URL, SealedURL: r.SealedURL, URLHint: r.URLHint, SealedSecret: r.Secret,
		Kinds: r.Kinds, TeamID: r.TeamID, CreatedAt: r.CreatedAt.UTC(), Version: r.Version}
}

// CreateAlertWebhook stores w and sets its creation time and Version;
// ErrConflict if the id exists.
func (s *Store) CreateAlertWebhook(ctx context.Context, w *store.AlertWebhook) error {
	kinds := w.Kinds
	if kinds == nil {
		kinds = []string{}
	}
	err := s.pool.QueryRow(ctx,
		"INSERT INTO alert_webhooks (id, url, sealed_url, url_hint, kinds, team_id, sealed_secret) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING created_at, version",
		w.ID, w.URL, w.SealedURL, w.URLHint, kinds, w.TeamID, w.SealedSecret).Scan(&w.CreatedAt, &w.Version)
	if err != nil {
		return mapErr(fmt.Sprintf("alert webhook %q", w.ID), err, nil)
	}
	w.CreatedAt = w.CreatedAt.UTC()
	return nil
}

// ListAlertWebhooks returns every webhook ordered by id.
func (s *Store) ListAlertWebhooks(ctx context.Context) ([]store.AlertWebhook, error) {
	rows, _ := s.pool.Query(ctx, "SELECT "+webhookColumns+" FROM alert_webhooks ORDER BY id")
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByName[webhookRow])
	if err != nil {
		return nil, fmt.Errorf("list alert webhooks: %w", err)
	}
	out := make([]store.AlertWebhook, len(rs))
	for i, r := range rs {
		out[i] = r.webhook()
	}
	return out, nil
}

// SealAlertWebhookURL replaces the plain URL of a webhook stored before
// URLs were sealed with its sealed form and hint. It changes nothing when
// the webhook is gone or already sealed, and reports whether it changed
// the row.
func (s *Store) SealAlertWebhookURL(ctx context.Context, id string, sealed []byte, hint string) (bool, error) {
	tag, err := s.pool.Exec(ctx,
		"UPDATE alert_webhooks SET url = '', sealed_url = $2, url_hint = $3 WHERE id = $1 AND url <> '' AND sealed_url IS NULL",
		id, sealed, hint)
	if err != nil {
		return false, fmt.Errorf("seal alert webhook %q: %w", id, err)
	}
	return tag.RowsAffected() == 1, nil
}

// PageAlertWebhooks returns a page of webhooks ordered by id.
func (s *Store) PageAlertWebhooks(ctx context.Context, p store.Page) ([]store.AlertWebhook, string, error) {
	rs, next, err := pageRows(ctx, s, keyPage{columns: webhookColumns, table: "alert_webhooks", key: "id"}, p,
		func(r webhookRow) string { return r.ID })
	if err != nil {
		return nil, "", err
	}
	out := make([]store.AlertWebhook, len(rs))
	for i, r := range rs {
		out[i] = r.webhook()
	}
	return out, next, nil
}

// DeleteAlertWebhook deletes a webhook if ifVersion is 0 or its version;
// ErrNotFound if missing, ErrVersionMismatch if changed.
func (s *Store) DeleteAlertWebhook(ctx context.Context, id string, ifVersion int64) error {
	return s.deleteIf(ctx, "alert_webhooks", "id", id, ifVersion, fmt.Sprintf("delete alert webhook %q", id), nil)
}

// ClaimAlert inserts the fired-alert row and reports whether this call
// inserted it (INSERT ... ON CONFLICT DO NOTHING decides between replicas).
func (s *Store) ClaimAlert(ctx context.Context, subject string, periodStart time.Time, threshold int) (bool, error) {
	tag, err := s.pool.Exec(ctx,
		"INSERT INTO alert_fired (subject, period_start, threshold) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
		subject, periodStart.UTC(), threshold)
	if err != nil {
		return false, fmt.Errorf("claim alert %s: %w", subject, err)
	}
	return tag.RowsAffected() == 1, nil
}

// FiredAlerts returns the alerts claimed for subject in the period that
// starts at periodStart, lowest threshold first.
func (s *Store) FiredAlerts(ctx context.Context, subject string, periodStart time.Time) ([]store.FiredAlert, error) {
	rows, _ := s.pool.Query(ctx,
		"SELECT threshold, fired_at FROM alert_fired WHERE subject = $1 AND period_start = $2 ORDER BY threshold",
		subject, periodStart.UTC())
	var out []store.FiredAlert
	var f store.FiredAlert
	_, err := pgx.ForEachRow(rows, []any{&f.Threshold, &f.At}, func() error {
		out = append(out, f)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("fired alerts %s: %w", subject, err)
	}
	return out, nil
}

// ReleaseAlert deletes a fired-alert row so that it may be claimed again.
func (s *Store) ReleaseAlert(ctx context.Context, subject string, periodStart time.Time, threshold int) error {
	_, err := s.pool.Exec(ctx,
		"DELETE FROM alert_fired WHERE subject = $1 AND period_start = $2 AND threshold = $3",
		subject, periodStart.UTC(), threshold)
	if err != nil {
		return fmt.Errorf("release alert %s: %w", subject, err)
	}
	return nil
}
