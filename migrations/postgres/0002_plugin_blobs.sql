-- Plugin versions' bytes and manifests, for rollback and fleet reload.
CREATE TABLE plugin_blobs (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    sha256     TEXT NOT NULL,
    wasm       BYTEA NOT NULL,
    manifest   TEXT NOT NULL,
    stored_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, sha256)
);
