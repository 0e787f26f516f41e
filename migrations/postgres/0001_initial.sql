-- cam initial schema (PostgreSQL). Forward-only: never edit a released migration,
-- add a new file instead.
--
-- Conventions: every timestamp is TIMESTAMPTZ; every row
-- carries tenant_id; JSON columns are JSONB.

CREATE TABLE tenants (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE campaigns (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id          TEXT NOT NULL REFERENCES tenants(id),
    name               TEXT NOT NULL,
    goal_qualified     BIGINT NOT NULL,
    daily_cap          BIGINT NOT NULL,
    score_threshold    DOUBLE PRECISION NOT NULL,
    live               BOOLEAN NOT NULL DEFAULT FALSE,
    -- mailboxes, send window, steps and plugin bindings as one JSON document
    config             JSONB NOT NULL,
    status             TEXT NOT NULL,
    status_reason      TEXT NOT NULL,
    status_actor       TEXT NOT NULL,
    status_changed_at  TIMESTAMPTZ NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, name)
);
CREATE INDEX campaigns_status ON campaigns (status);

CREATE TABLE source_cursors (
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    campaign_id  BIGINT NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    plugin       TEXT NOT NULL,
    cursor       TEXT NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (campaign_id, plugin)
);

CREATE TABLE leads (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    campaign_id     BIGINT NOT NULL REFERENCES campaigns(id),
    email           TEXT NOT NULL,
    first_name      TEXT NOT NULL,
    last_name       TEXT NOT NULL,
    company         TEXT NOT NULL,
    domain          TEXT NOT NULL,
    title           TEXT NOT NULL,
    country         TEXT NOT NULL,
    time_zone       TEXT NOT NULL,
    employees       BIGINT,
    attributes      JSONB NOT NULL,
    score           DOUBLE PRECISION,
    score_reasons   JSONB NOT NULL DEFAULT '[]',
    scorer_version  TEXT,
    state           TEXT NOT NULL,
    current_step    BIGINT NOT NULL DEFAULT 0,
    next_action_at  TIMESTAMPTZ,
    source_plugin   TEXT NOT NULL,
    source_version  TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, email)
);
CREATE INDEX leads_campaign_state_score ON leads (campaign_id, state, score DESC NULLS LAST);
CREATE INDEX leads_campaign_next_action ON leads (campaign_id, next_action_at)
    WHERE next_action_at IS NOT NULL;

CREATE TABLE lead_transitions (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    lead_id         BIGINT NOT NULL REFERENCES leads(id) ON DELETE CASCADE,
    from_state      TEXT NOT NULL,
    to_state        TEXT NOT NULL,
    reason          TEXT NOT NULL,
    plugin_version  TEXT,
    at              TIMESTAMPTZ NOT NULL
);
CREATE INDEX lead_transitions_lead ON lead_transitions (lead_id, id);

-- Deliberately no foreign key to leads: a suppression outlives the lead.
CREATE TABLE suppressions (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    kind        TEXT NOT NULL,  -- ADDRESS | DOMAIN
    value       TEXT NOT NULL,
    reason      TEXT NOT NULL,  -- UNSUBSCRIBE | HARD_BOUNCE | COMPLAINT | MANUAL
    note        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, kind, value)
);

CREATE TABLE outbound_emails (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    campaign_id  BIGINT NOT NULL REFERENCES campaigns(id),
    lead_id      BIGINT NOT NULL REFERENCES leads(id) ON DELETE CASCADE,
    step         BIGINT NOT NULL,
    mailbox      TEXT NOT NULL,
    to_address   TEXT NOT NULL,
    subject      TEXT NOT NULL,
    body         TEXT NOT NULL,
    message_id   TEXT NOT NULL,
    state        TEXT NOT NULL,
    error        TEXT,
    queued_at    TIMESTAMPTZ NOT NULL,
    attempted_at TIMESTAMPTZ,
    sent_at      TIMESTAMPTZ,
    UNIQUE (lead_id, step),
    UNIQUE (tenant_id, message_id)
);
CREATE INDEX outbound_emails_state ON outbound_emails (tenant_id, state, id);
CREATE INDEX outbound_emails_campaign_attempted ON outbound_emails (campaign_id, attempted_at);
CREATE INDEX outbound_emails_mailbox_attempted ON outbound_emails (tenant_id, mailbox, attempted_at);

CREATE TABLE inbound_messages (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id           TEXT NOT NULL REFERENCES tenants(id),
    mailbox             TEXT NOT NULL,
    message_id          TEXT NOT NULL,
    in_reply_to         TEXT,
    refs                JSONB NOT NULL,  -- JSON array of Message-IDs
    from_address        TEXT NOT NULL,
    subject             TEXT NOT NULL,
    body_text           TEXT NOT NULL,
    raw                 BYTEA NOT NULL,
    received_at         TIMESTAMPTZ NOT NULL,
    matched_lead_id     BIGINT REFERENCES leads(id) ON DELETE SET NULL,
    label               TEXT,
    label_confidence    DOUBLE PRECISION,
    classifier_version  TEXT,
    alert_sent          BOOLEAN NOT NULL DEFAULT FALSE,
    created_at          TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, message_id)
);
CREATE INDEX inbound_messages_unmatched ON inbound_messages (tenant_id, id)
    WHERE matched_lead_id IS NULL;
CREATE INDEX inbound_messages_unlabeled ON inbound_messages (tenant_id, id)
    WHERE label IS NULL;

CREATE TABLE inbox_cursors (
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    mailbox      TEXT NOT NULL,
    uid_validity BIGINT NOT NULL,
    last_uid     BIGINT NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, mailbox)
);

CREATE TABLE alerts (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants(id),
    idempotency_key  TEXT NOT NULL,
    kind             TEXT NOT NULL,
    lead_id          BIGINT REFERENCES leads(id) ON DELETE SET NULL,
    payload          JSONB NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    delivered_at     TIMESTAMPTZ,
    UNIQUE (tenant_id, idempotency_key)
);

CREATE TABLE plugin_kv (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    plugin      TEXT NOT NULL,
    key         TEXT NOT NULL,
    value       BYTEA NOT NULL,
    -- bytes charged against the quota: length of key plus value
    size        BIGINT NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, plugin, key)
);

CREATE TABLE plugin_versions (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL,
    version      TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    source       TEXT NOT NULL,
    recorded_at  TIMESTAMPTZ NOT NULL,
    active       BOOLEAN NOT NULL DEFAULT FALSE,
    UNIQUE (tenant_id, name, sha256)
);
CREATE UNIQUE INDEX plugin_versions_one_active ON plugin_versions (tenant_id, name) WHERE active;

CREATE TABLE cycle_reports (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    campaign_id  BIGINT REFERENCES campaigns(id) ON DELETE SET NULL,
    started_at   TIMESTAMPTZ NOT NULL,
    finished_at  TIMESTAMPTZ NOT NULL,
    summary      TEXT NOT NULL,
    report       JSONB NOT NULL
);
CREATE INDEX cycle_reports_recent ON cycle_reports (tenant_id, started_at DESC);

CREATE TABLE leases (
    campaign_id  BIGINT PRIMARY KEY REFERENCES campaigns(id) ON DELETE CASCADE,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    worker_id    TEXT NOT NULL,
    acquired_at  TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL
);
