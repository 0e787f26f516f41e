-- One column encoding for both backends: every timestamp becomes BIGINT
-- unix milliseconds (UTC), as in the SQLite schema, so a plain query's SQL
-- and its Rust bindings are written once for both. Forward-only: the
-- indexes on these columns are rebuilt by ALTER TYPE and keep their names.

ALTER TABLE tenants
    ALTER COLUMN created_at TYPE BIGINT USING floor(extract(epoch FROM created_at) * 1000)::bigint;

ALTER TABLE campaigns
    ALTER COLUMN status_changed_at TYPE BIGINT USING floor(extract(epoch FROM status_changed_at) * 1000)::bigint,
    ALTER COLUMN created_at TYPE BIGINT USING floor(extract(epoch FROM created_at) * 1000)::bigint;

ALTER TABLE source_cursors
    ALTER COLUMN updated_at TYPE BIGINT USING floor(extract(epoch FROM updated_at) * 1000)::bigint;

ALTER TABLE leads
    ALTER COLUMN next_action_at TYPE BIGINT USING floor(extract(epoch FROM next_action_at) * 1000)::bigint,
    ALTER COLUMN created_at TYPE BIGINT USING floor(extract(epoch FROM created_at) * 1000)::bigint,
    ALTER COLUMN updated_at TYPE BIGINT USING floor(extract(epoch FROM updated_at) * 1000)::bigint;

ALTER TABLE lead_transitions
    ALTER COLUMN at TYPE BIGINT USING floor(extract(epoch FROM at) * 1000)::bigint;

ALTER TABLE suppressions
    ALTER COLUMN created_at TYPE BIGINT USING floor(extract(epoch FROM created_at) * 1000)::bigint;

ALTER TABLE outbound_emails
    ALTER COLUMN queued_at TYPE BIGINT USING floor(extract(epoch FROM queued_at) * 1000)::bigint,
    ALTER COLUMN attempted_at TYPE BIGINT USING floor(extract(epoch FROM attempted_at) * 1000)::bigint,
    ALTER COLUMN sent_at TYPE BIGINT USING floor(extract(epoch FROM sent_at) * 1000)::bigint;

ALTER TABLE inbound_messages
    ALTER COLUMN received_at TYPE BIGINT USING floor(extract(epoch FROM received_at) * 1000)::bigint,
    ALTER COLUMN created_at TYPE BIGINT USING floor(extract(epoch FROM created_at) * 1000)::bigint;

ALTER TABLE inbox_cursors
    ALTER COLUMN updated_at TYPE BIGINT USING floor(extract(epoch FROM updated_at) * 1000)::bigint;

ALTER TABLE alerts
    ALTER COLUMN created_at TYPE BIGINT USING floor(extract(epoch FROM created_at) * 1000)::bigint,
    ALTER COLUMN delivered_at TYPE BIGINT USING floor(extract(epoch FROM delivered_at) * 1000)::bigint;

ALTER TABLE plugin_kv
    ALTER COLUMN updated_at TYPE BIGINT USING floor(extract(epoch FROM updated_at) * 1000)::bigint;

ALTER TABLE plugin_versions
    ALTER COLUMN recorded_at TYPE BIGINT USING floor(extract(epoch FROM recorded_at) * 1000)::bigint;

ALTER TABLE cycle_reports
    ALTER COLUMN started_at TYPE BIGINT USING floor(extract(epoch FROM started_at) * 1000)::bigint,
    ALTER COLUMN finished_at TYPE BIGINT USING floor(extract(epoch FROM finished_at) * 1000)::bigint;

ALTER TABLE leases
    ALTER COLUMN acquired_at TYPE BIGINT USING floor(extract(epoch FROM acquired_at) * 1000)::bigint,
    ALTER COLUMN expires_at TYPE BIGINT USING floor(extract(epoch FROM expires_at) * 1000)::bigint;

ALTER TABLE plugin_blobs
    ALTER COLUMN stored_at TYPE BIGINT USING floor(extract(epoch FROM stored_at) * 1000)::bigint;

ALTER TABLE alert_attempts
    ALTER COLUMN attempted_at TYPE BIGINT USING floor(extract(epoch FROM attempted_at) * 1000)::bigint;
