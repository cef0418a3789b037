-- Lookout's store, SQLite dialect. Never edit this file once released: add 0002_….sql instead.
-- Timestamps are epoch milliseconds (UTC) in INTEGER columns; enums are their snake_case names.

-- One row per deployment a provider reported, keyed by (provider, provider_id).
CREATE TABLE deployments (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    provider         TEXT    NOT NULL,
    provider_id      TEXT    NOT NULL,
    service          TEXT    NOT NULL,
    environment      TEXT    NOT NULL,
    environment_kind TEXT    NOT NULL,
    state            TEXT    NOT NULL,
    provider_state   TEXT    NOT NULL,
    commit_sha       TEXT,
    commit_message   TEXT,
    author           TEXT,
    branch           TEXT,
    pr_number        INTEGER,
    creator          TEXT,
    created_at       INTEGER NOT NULL,
    finished_at      INTEGER,
    url              TEXT,
    dashboard_url    TEXT,
    observed_at      INTEGER NOT NULL,
    first_seen_at    INTEGER NOT NULL,
    state_changed_at INTEGER NOT NULL,
    CONSTRAINT deployments_provider_id UNIQUE (provider, provider_id)
);

-- The history page: newest first, keyset-paginated on (created_at, id), optionally filtered.
CREATE INDEX deployments_history ON deployments (created_at DESC, id DESC);
CREATE INDEX deployments_service_history ON deployments (service, created_at DESC, id DESC);
CREATE INDEX deployments_environment_history ON deployments (environment, created_at DESC, id DESC);
CREATE INDEX deployments_state_history ON deployments (state, created_at DESC, id DESC);
-- The monitor's "backfill or only new pages?" question.
CREATE INDEX deployments_provider_service ON deployments (provider, service, created_at);

-- Every state a deployment was seen in, with when Lookout saw it (from_state NULL = first seen).
CREATE TABLE deployment_state_changes (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    deployment_id INTEGER NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
    from_state    TEXT,
    to_state      TEXT    NOT NULL,
    at            INTEGER NOT NULL
);
CREATE INDEX deployment_state_changes_deployment ON deployment_state_changes (deployment_id, id);

-- Raw health-check results, kept for the raw retention window (48 h by default).
CREATE TABLE health_samples (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    service     TEXT    NOT NULL,
    environment TEXT    NOT NULL,
    at          INTEGER NOT NULL,
    state       TEXT    NOT NULL,
    latency_ms  INTEGER
);
CREATE INDEX health_samples_series ON health_samples (service, environment, at);
-- Retention walks the oldest samples first.
CREATE INDEX health_samples_at ON health_samples (at, id);

-- Hourly roll-ups of raw samples older than the raw window, kept 90 days by default.
-- samples/failures count only up, degraded and down samples (what uptime counts);
-- latency_samples is how many latencies p50/p95 summarise (the weight when merging).
CREATE TABLE health_rollups (
    service         TEXT    NOT NULL,
    environment     TEXT    NOT NULL,
    hour_start      INTEGER NOT NULL,
    samples         INTEGER NOT NULL,
    failures        INTEGER NOT NULL,
    latency_samples INTEGER NOT NULL,
    p50_ms          INTEGER,
    p95_ms          INTEGER,
    PRIMARY KEY (service, environment, hour_start)
);
CREATE INDEX health_rollups_hour ON health_rollups (hour_start);

-- Who did what, when, from where, with what outcome. Append-only: the triggers refuse
-- UPDATE and DELETE, so the invariant holds even against hand-written SQL.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL,
    actor       TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    target      TEXT    NOT NULL,
    outcome     TEXT    NOT NULL,
    detail      TEXT,
    remote_addr TEXT
);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
