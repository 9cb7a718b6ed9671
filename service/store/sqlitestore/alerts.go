package sqlitestore

import (
	"context"
	"fmt"
	"time"

	"github.com/tollgate-dev/tollgate/service/store"
)

const webhookColumns = "id, url, sealed_url, url_hint, sealed_secret, kinds, team_id, created_at, version"

func scanWebhook(r scanner) (store.AlertWebhook, error) {
	var w store.AlertWebhook
	var kinds string
	var created int64
	if err := r.Scan(&w.ID, &w.URL, &w.SealedURL, &w.URLHint, &w.SealedSecret, &kinds, &w.TeamID, &created, &w.Version); err != nil {
		return w, err
	}
	var err error
	w.Kinds, err = parseList(kinds)
	w.CreatedAt = fromMicros(created)
	return w, err
}

// CreateAlertWebhook stores w and sets its creation time and Version;
// ErrConflict if the id exists.
func (s *Store) CreateAlertWebhook(ctx context.Context, w *store.AlertWebhook) error {
	now := s.clock()
	return s.write(ctx, func(t *tx) error {
		v, err := t.nextVersion(ctx)
		if err != nil {
			return err
		}
		if _, err := t.ExecContext(ctx, `INSERT INTO alert_webhooks (id, url, sealed_url, url_hint, kinds, team_id, sealed_secret, created_at, version)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			w.ID, w.URL, w.SealedURL, w.URLHint, listJSON(w.Kinds), w.TeamID, w.SealedSecret, micros(now), v); err != nil {
			return mapErr(fmt.Sprintf("alert webhook %q", w.ID), err, nil)
		}
		w.CreatedAt, w.Version = now, v
		return nil
	})
}

// ListAlertWebhooks returns every webhook ordered by id.
func (s *Store) ListAlertWebhooks(ctx context.Context) ([]store.AlertWebhook, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT "+webhookColumns+" FROM alert_webhooks ORDER BY id")
	ws, err := collect(rows, err, scanWebhook)
	if err != nil {
		return nil, fmt.Errorf("list alert webhooks: %w", err)
	}
	return ws, nil
}

// SealAlertWebhookURL replaces the plain URL of a webhook stored before
// URLs were sealed with its sealed form and hint. It changes nothing when
// the webhook is gone or already sealed, and reports whether it changed
// the row.
func (s *Store) SealAlertWebhookURL(ctx context.Context, id string, sealed []byte, hint string) (bool, error) {
	var changed bool
	err := s.write(ctx, func(t *tx) error {
		res, err := t.ExecContext(ctx,
			"UPDATE alert_webhooks SET url = '', sealed_url = ?, url_hint = ? WHERE id = ? AND url <> '' AND sealed_url IS NULL",
			sealed, hint, id)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		changed = n == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("seal alert webhook %q: %w", id, err)
	}
	return changed, nil
}

// PageAlertWebhooks returns a page of webhooks ordered by id.
func (s *Store) PageAlertWebhooks(ctx context.Context, p store.Page) ([]store.AlertWebhook, string, error) {
	return pageRows(ctx, s, keyPage{columns: webhookColumns, table: "alert_webhooks", key: "id"}, p, scanWebhook,
		func(w store.AlertWebhook) string { return w.ID })
}

// DeleteAlertWebhook deletes a webhook if ifVersion is 0 or its version;
// ErrNotFound if missing, ErrVersionMismatch if changed.
func (s *Store) DeleteAlertWebhook(ctx context.Context, id string, ifVersion int64) error {
	return s.deleteIf(ctx, "alert_webhooks", "id", id, ifVersion, fmt.Sprintf("delete alert webhook %q", id), nil, "")
}

// ClaimAlert inserts the fired-alert row and reports whether this call
// inserted it.
func (s *Store) ClaimAlert(ctx context.Context, subject string, periodStart time.Time, threshold int) (bool, error) {
	var claimed bool
	err := s.write(ctx, func(t *tx) error {
		res, err := t.ExecContext(ctx, "INSERT OR IGNORE INTO alert_fired (subject, period_start, threshold, fired_at) VALUES (?, ?, ?, ?)",
			subject, micros(periodStart.UTC()), threshold, micros(s.clock()))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		claimed = n == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("claim alert %s: %w", subject, err)
	}
	return claimed, nil
}

// FiredAlerts returns the alerts claimed for subject in the period that
// starts at periodStart, lowest threshold first.
func (s *Store) FiredAlerts(ctx context.Context, subject string, periodStart time.Time) ([]store.FiredAlert, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT threshold, fired_at FROM alert_fired WHERE subject = ? AND period_start = ? ORDER BY threshold",
		subject, micros(periodStart.UTC()))
	fs, err := collect(rows, err, func(r scanner) (store.FiredAlert, error) {
		var f store.FiredAlert
		var at int64
		err := r.Scan(&f.Threshold, &at)
		f.At = fromMicros(at)
		return f, err
	})
	if err != nil {
		return nil, fmt.Errorf("fired alerts %s: %w", subject, err)
	}
	return fs, nil
}

// ReleaseAlert deletes a fired-alert row so that it may be claimed again.
func (s *Store) ReleaseAlert(ctx context.Context, subject string, periodStart time.Time, threshold int) error {
	err := s.write(ctx, func(t *tx) error {
		_, err := t.ExecContext(ctx, "DELETE FROM alert_fired WHERE subject = ? AND period_start = ? AND threshold = ?",
			subject, micros(periodStart.UTC()), threshold)
		return err
	})
	if err != nil {
		return fmt.Errorf("release alert %s: %w", subject, err)
	}
	return nil
}

// AlertClaim is an alert that fired (see ClaimAlert), for copying the store.
type AlertClaim struct {
	Subject     string
	PeriodStart time.Time
	Threshold   int
}

// ListAlertClaims returns every claimed alert.
func (s *Store) ListAlertClaims(ctx context.Context) ([]AlertClaim, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT subject, period_start, threshold FROM alert_fired ORDER BY subject, period_start, threshold")
	cs, err := collect(rows, err, func(r scanner) (AlertClaim, error) {
		var c AlertClaim
		var at int64
		err := r.Scan(&c.Subject, &at, &c.Threshold)
		c.PeriodStart = fromMicros(at)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("list alert claims: %w", err)
	}
	return cs, nil
}
