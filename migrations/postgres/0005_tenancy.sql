-- Tenants as first-class units: a disabled tenant's campaigns are never
-- claimed and its tokens stop working. API tokens: only a hash of the
-- secret is stored.
ALTER TABLE tenants ADD COLUMN disabled_at BIGINT;

CREATE TABLE api_tokens (
    -- The public part of the token (`cam_<id>_<secret>`).
    id             TEXT PRIMARY KEY NOT NULL,
    -- NULL for a hosting-operator token, which belongs to no tenant.
    tenant_id      TEXT REFERENCES tenants(id),
    role           TEXT NOT NULL,
    name           TEXT NOT NULL,
    -- Hex SHA-256 of the secret part.
    secret_sha256  TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT,
    revoked_at     BIGINT,
    last_used_at   BIGINT
);
CREATE INDEX api_tokens_tenant ON api_tokens (tenant_id, created_at);
-- Claims order tenants by when each was last served.
CREATE INDEX leases_tenant_acquired ON leases (tenant_id, acquired_at);
