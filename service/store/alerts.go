package store

import (
	"context"
	"time"
)

// AlertWebhook is an endpoint alerts are posted to.
type AlertWebhook struct {
	ID string
	// URL is the endpoint in plain text; it is a secret of the receiver.
	// The admin API leaves it empty and sets SealedURL; only webhooks
	// stored before URLs were sealed have it.
	URL string
	// SealedURL is the endpoint sealed with the master key
	// (secrets.Sealer, context alerts.SealContext(ID)).
	SealedURL []byte
	// URLHint is the endpoint's "scheme://host", safe to show.
	URLHint string
	// SealedSecret is the Standard Webhooks signing secret ("whsec_...")
	// sealed with the master key (secrets.Sealer, context
	// alerts.SecretContext(ID)); nil for a webhook created before alerts
	// were signed, which is sent unsigned.
	SealedSecret []byte
	// Kinds are the alert kinds sent ("budget_threshold",
	// "spend_velocity"); empty for every kind.
	Kinds []string
	// TeamID restricts the webhook to alerts about one team, when set.
	TeamID    string
	CreatedAt time.Time
	// Version changes on every write (see Versions).
	Version int64
}

// Alerts stores alert webhooks and which alerts have fired.
type Alerts interface {
	// CreateAlertWebhook stores w; ErrConflict if the id exists.
	CreateAlertWebhook(ctx context.Context, w *AlertWebhook) error
	// ListAlertWebhooks returns every webhook ordered by id.
	ListAlertWebhooks(ctx context.Context) ([]AlertWebhook, error)
	// ClaimAlert records that the alert (subject, periodStart, threshold)
	// fires and reports whether this call recorded it: exactly one caller,
	// across replicas and restarts, gets true.
	ClaimAlert(ctx context.Context, subject string, periodStart time.Time, threshold int) (bool, error)
	// ReleaseAlert forgets a claim, so that an alert that could not be
	// delivered may be claimed again.
	ReleaseAlert(ctx context.Context, subject string, periodStart time.Time, threshold int) error
}

// FiredAlert is a threshold alert that fired (see Alerts.ClaimAlert).
type FiredAlert struct {
	// Threshold is the percentage of the limit.
	Threshold int
	// At is when it fired.
	At time.Time
}

// AlertWebhooks is how the admin API manages alert webhooks.
type AlertWebhooks interface {
	// CreateAlertWebhook stores w and sets its creation time and Version;
	// ErrConflict if the id exists.
	CreateAlertWebhook(ctx context.Context, w *AlertWebhook) error
	// PageAlertWebhooks returns a page of webhooks ordered by id and the
	// cursor of the next page ("" at the end).
	PageAlertWebhooks(ctx context.Context, p Page) ([]AlertWebhook, string, error)
	// DeleteAlertWebhook deletes it if ifVersion matches (see Versions);
	// ErrNotFound if missing.
	DeleteAlertWebhook(ctx context.Context, id string, ifVersion int64) error
}
