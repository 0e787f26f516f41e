-- Hosted tenants' own settings (mailboxes, alert channels, sender identity,
-- unsubscribe key), sealed whole under the server key: the database never
-- holds them in the clear (see host/src/tenancy). `revision` grows with every
-- write, so a re-seal never overwrites a newer edit and workers notice changes.
CREATE TABLE tenant_settings (
    tenant_id   TEXT PRIMARY KEY NOT NULL REFERENCES tenants(id),
    sealed      TEXT NOT NULL,
    key_id      TEXT NOT NULL,
    revision    INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- Ceilings the hosting operator sets per tenant; NULL keeps the process's own.
ALTER TABLE tenants ADD COLUMN max_memory_mib INTEGER;
ALTER TABLE tenants ADD COLUMN max_timeout_ms INTEGER;
ALTER TABLE tenants ADD COLUMN max_kv_bytes INTEGER;
ALTER TABLE tenants ADD COLUMN max_concurrent_calls INTEGER;
