-- 0011: alert webhook URLs sealed at rest.
--
-- A webhook URL embeds the receiver's secret (Slack-style URLs carry a
-- token), so it is stored sealed with the master key (AES-256-GCM, bound
-- to "alert-webhook:<id>") in sealed_url; url_hint keeps only the
-- "scheme://host" shown by the admin API. url is '' for sealed rows; rows
-- written before this migration keep their plain url (and an empty hint)
-- until re-created.

ALTER TABLE alert_webhooks ADD COLUMN sealed_url bytea;
ALTER TABLE alert_webhooks ADD COLUMN url_hint text NOT NULL DEFAULT '';
ALTER TABLE alert_webhooks ALTER COLUMN url SET DEFAULT '';
COMMENT ON COLUMN alert_webhooks.sealed_url IS 'webhook URL sealed with the master key (secrets.Sealer, context alert-webhook:<id>)';
COMMENT ON COLUMN alert_webhooks.url IS 'plain webhook URL of rows written before 0011; empty when sealed_url is set';
