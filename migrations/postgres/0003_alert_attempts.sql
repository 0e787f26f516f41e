-- The alert log: every try at delivering an alert, per channel.
CREATE TABLE alert_attempts (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    alert_id      BIGINT NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    channel       TEXT NOT NULL,
    ok            BOOLEAN NOT NULL,
    detail        TEXT NOT NULL,
    attempted_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX alert_attempts_alert ON alert_attempts (tenant_id, alert_id, id);
CREATE INDEX alerts_undelivered ON alerts (tenant_id, id) WHERE delivered_at IS NULL;
