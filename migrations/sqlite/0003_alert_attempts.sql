-- The alert log: every try at delivering an alert, per channel.
CREATE TABLE alert_attempts (
    id            INTEGER PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    alert_id      INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    channel       TEXT NOT NULL,
    ok            INTEGER NOT NULL,
    detail        TEXT NOT NULL,
    attempted_at  INTEGER NOT NULL
);
CREATE INDEX alert_attempts_alert ON alert_attempts (tenant_id, alert_id, id);
CREATE INDEX alerts_undelivered ON alerts (tenant_id, id) WHERE delivered_at IS NULL;
