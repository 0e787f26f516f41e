-- A hosted tenant's plugin controls, for every worker of the fleet at once:
-- the shadow candidate of each plugin and when an operator last asked to
-- release it from quarantine (workers compare it with what they saw).
CREATE TABLE plugin_controls (
    tenant_id             TEXT NOT NULL REFERENCES tenants(id),
    name                  TEXT NOT NULL,
    shadow_sha256         TEXT,
    release_requested_at  INTEGER,
    PRIMARY KEY (tenant_id, name)
);

-- What each worker last saw of each version it serves.
CREATE TABLE plugin_health (
    tenant_id             TEXT NOT NULL REFERENCES tenants(id),
    name                  TEXT NOT NULL,
    sha256                TEXT NOT NULL,
    worker_id             TEXT NOT NULL,
    calls                 INTEGER NOT NULL,
    failures              INTEGER NOT NULL,
    consecutive_failures  INTEGER NOT NULL,
    quarantined           INTEGER NOT NULL,
    last_failure          TEXT,
    updated_at            INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, name, sha256, worker_id)
);

-- Shadow comparisons recorded by the fleet (hosted tenants; the config
-- file's tenant keeps them in <plugins_dir>/.shadow).
CREATE TABLE shadow_records (
    id                 INTEGER PRIMARY KEY,
    tenant_id          TEXT NOT NULL REFERENCES tenants(id),
    name               TEXT NOT NULL,
    at                 INTEGER NOT NULL,
    input              TEXT NOT NULL,
    active_version     TEXT NOT NULL,
    active_output      TEXT NOT NULL,
    candidate_version  TEXT NOT NULL,
    candidate_output   TEXT NOT NULL,
    agree              INTEGER NOT NULL
);
CREATE INDEX shadow_records_plugin ON shadow_records (tenant_id, name, id);
