-- What people do through the API, recorded: who moved a lead (the token,
-- `api:<id>`), every relabelled reply with the label it had before, and
-- every suppression taken off the list with what it was.
ALTER TABLE lead_transitions ADD COLUMN actor TEXT;

CREATE TABLE reply_relabels (
    id                   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id            TEXT NOT NULL REFERENCES tenants(id),
    inbound_id           BIGINT NOT NULL REFERENCES inbound_messages(id) ON DELETE CASCADE,
    previous_label       TEXT,
    previous_confidence  DOUBLE PRECISION,
    previous_classifier  TEXT,
    label                TEXT NOT NULL,
    reason               TEXT NOT NULL,
    actor                TEXT NOT NULL,
    at                   BIGINT NOT NULL
);
CREATE INDEX reply_relabels_inbound ON reply_relabels (tenant_id, inbound_id, id);

CREATE TABLE suppression_removals (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    kind        TEXT NOT NULL,
    value       TEXT NOT NULL,
    reason      TEXT NOT NULL,
    note        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    why         TEXT NOT NULL,
    actor       TEXT NOT NULL,
    removed_at  BIGINT NOT NULL
);
CREATE INDEX suppression_removals_tenant ON suppression_removals (tenant_id, id);

-- The daily metric series groups by day.
CREATE INDEX outbound_emails_campaign_sent ON outbound_emails (campaign_id, sent_at);
CREATE INDEX inbound_messages_lead ON inbound_messages (tenant_id, matched_lead_id);
