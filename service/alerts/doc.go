// Package alerts watches spend and tells people about it.
//
// A Monitor raises two kinds of alert:
//
//   - budget thresholds: a budget's reported spend in its current period
//     reached one of its alert thresholds (store.Budget.AlertThresholds,
//     50, 80 and 100 percent by default). The Monitor reads governance's
//     counters every interval (Manager.Status), so no work is added to the
//     request path.
//   - spend velocity: a key spent, in the last five minutes, more than
//     max(factor × its average five-minute spend over the hour before,
//     floor) — the runaway-job pattern. Spend is fed from the request path
//     by Tee, which wraps the engine's recorder: Observe adds a record's
//     cost to the key's one-minute bucket in memory and never blocks.
//
// Each alert is posted to every matching webhook (store.AlertWebhook) as a
// Slack-compatible JSON body, with retries and exponential backoff, signed
// per the Standard Webhooks specification with the webhook's secret
// (package webhooks: webhook-id, the same on every retry, webhook-timestamp
// and webhook-signature; receivers refuse stale and replayed calls). The
// admin API generates the secret (or takes the admin's "whsec_..."),
// returns it once and stores it sealed (SecretContext). An
// alert fires at most once per (subject, period, threshold): the replica
// whose store.Alerts.ClaimAlert succeeds (an INSERT ... ON CONFLICT DO
// NOTHING) sends it, so neither other replicas nor restarts repeat it. If
// no webhook accepted it, the claim is released and the next check tries
// again.
//
// With WithSuspendOnVelocity, a velocity alert also suspends the key: it is
// revoked through the store (every replica refuses it from its change
// notification) and the suspension and its reason are written to the admin
// audit log with the actor "alerts".
package alerts
